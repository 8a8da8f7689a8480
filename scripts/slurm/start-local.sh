#!/usr/bin/env bash
# start-local.sh - bring up a real single-node Slurm cluster on this machine for pipe's Slurm executor tests
# (munged + slurmctld + slurmd from Debian 12's slurm-wlm 22.05), without systemd. By default
# without cgroups and without an accounting database (both opt-in below). Idempotent: run it
# again and it only checks that the cluster is up; it restarts everything if a daemon has
# died or if the knobs below now give a different slurm.conf.
#
# Usage: start-local.sh [DIR]          DIR defaults to $PIPE_SLURM_DIR, else /tmp/pipe-slurm
#   Everything (config, munge key + socket, state, logs, pid files) lives in DIR.
#   Must run as root (slurmd has to be root to launch jobs as the submitting user).
#
# Environment knobs (all optional):
#   SLURM_LOCAL_CTLD_PORT=6817    slurmctld port       SLURM_LOCAL_SLURMD_PORT=6818  slurmd port
#   SLURM_LOCAL_LINK_ETC=1        also make /etc/slurm/slurm.conf a symlink to DIR/slurm.conf, so
#                                 sbatch/srun/squeue work without SLURM_CONF (0: don't touch /etc)
#   SLURM_LOCAL_FRESH=0           1: wipe saved controller state first (job ids restart at 1)
#   SLURM_LOCAL_TIMEOUT=60        seconds to wait for the node to come up idle
#   SLURM_LOCAL_NO_INSTALL=0      1: fail instead of apt-get installing missing packages
#   SLURM_LOCAL_ACCOUNTING=0      1: also run slurmdbd + a private MariaDB (data in DIR/mysql, TCP
#                                 127.0.0.1:SLURM_LOCAL_DB_PORT=3307) so that sacct works. Adds the
#                                 slurmdbd + mariadb-server packages (~190 MB) and a few s to a start.
#   SLURM_LOCAL_DBD_PORT=6819     slurmdbd port (accounting mode)
#   SLURM_LOCAL_CGROUP=0          1: proctrack/cgroup + task/cgroup (cgroup v1 here) with memory
#                                 as a consumable (CR_Core_Memory, DefMemPerCPU=1024): --mem is
#                                 enforced and an over-limit job ends OUT_OF_MEMORY
#   SLURM_LOCAL_SMOKE=1           run 'srun hostname' once the node is idle (0 to skip)
#
# After it succeeds:   export SLURM_CONF=DIR/slurm.conf   (or: source DIR/env.sh)
# In CI (.ci/run), where a failure must only make the Slurm tests skip (they say why):
#   if slurm_env=$(scripts/slurm/start-local.sh); then eval "$slurm_env"; fi
# Stop with:           stop-local.sh DIR          (add --purge to delete DIR too)
set -euo pipefail

log() { printf '[slurm start] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root (slurmd needs root)"

DIR=${1:-${PIPE_SLURM_DIR:-/tmp/pipe-slurm}}
DIR=$(realpath -m "$DIR")
CTLD_PORT=${SLURM_LOCAL_CTLD_PORT:-6817}
SLURMD_PORT=${SLURM_LOCAL_SLURMD_PORT:-6818}
LINK_ETC=${SLURM_LOCAL_LINK_ETC:-1}
FRESH=${SLURM_LOCAL_FRESH:-0}
TIMEOUT=${SLURM_LOCAL_TIMEOUT:-60}
ACCT=${SLURM_LOCAL_ACCOUNTING:-0}
CGROUP=${SLURM_LOCAL_CGROUP:-0}
DBD_PORT=${SLURM_LOCAL_DBD_PORT:-6819}
DB_PORT=${SLURM_LOCAL_DB_PORT:-3307}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CONF=$DIR/slurm.conf
SOCK=$DIR/munge/munge.socket
T0=$(date +%s.%N)

# ---------------------------------------------------------------- helpers
# alive PIDFILE NAME: the pid in PIDFILE is a running (non-zombie) process called NAME.
# (Zombies matter here: PID 1 in some sandboxes reaps orphans late, and kill -0 succeeds on a zombie.)
alive() {
  local f=$1 name=$2 pid st
  [ -s "$f" ] || return 1
  pid=$(tr -dc 0-9 < "$f"); [ -n "$pid" ] || return 1
  [ -r "/proc/$pid/stat" ] || return 1
  st=$(sed 's/^.*) //' "/proc/$pid/stat" | cut -d' ' -f1)
  [ "$st" != Z ] || return 1
  [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$name" ]
}
pid_of() { tr -dc 0-9 < "$1"; }
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_for() { # wait_for SECONDS DESCRIPTION COMMAND...
  local secs=$1; shift 2   # $2: description, for the reader
  local end=$(( $(date +%s) + secs ))
  until "$@" >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$end" ] || return 1
    sleep 0.2
  done
}
node_state() { sinfo -h -N -n "$NODE" -o %T 2>/dev/null | head -n1; }
node_is_idle() { [ "$(node_state)" = idle ]; }

# ---------------------------------------------------------------- 1. packages
PKGS="slurmctld slurmd slurm-client munge"
BINS="munged mungekey munge unmunge slurmctld slurmd sbatch srun squeue sinfo scontrol scancel sacct"
if [ "$ACCT" = 1 ]; then PKGS+=" slurmdbd mariadb-server"; BINS+=" slurmdbd mariadbd mariadb-install-db mariadb"; fi
need_install=0
for b in $BINS; do
  command -v "$b" >/dev/null 2>&1 || need_install=1
done
if [ "$need_install" = 1 ]; then
  [ "${SLURM_LOCAL_NO_INSTALL:-0}" = 1 ] && die "slurm/munge not installed and SLURM_LOCAL_NO_INSTALL=1"
  log "installing $PKGS (apt-get) ..."
  ti=$(date +%s)
  # Keep Debian's maintainer scripts from starting munge/slurm services with the stock
  # /etc config (we run our own daemons). Only add a policy-rc.d if there is none.
  tmp_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod 755 /usr/sbin/policy-rc.d; tmp_policy=1
  fi
  export DEBIAN_FRONTEND=noninteractive
  rc=0
  { apt-get update -q && apt-get install -y -q --no-install-recommends $PKGS; } \
    > "/tmp/pipe-slurm-apt.log" 2>&1 || rc=$?
  [ "$tmp_policy" = 1 ] && rm -f /usr/sbin/policy-rc.d
  [ "$rc" = 0 ] || { tail -n 20 /tmp/pipe-slurm-apt.log >&2; die "apt-get failed (rc=$rc), log: /tmp/pipe-slurm-apt.log"; }
  log "installed in $(( $(date +%s) - ti ))s"
fi

NODE=$(hostname -s)
[ -n "$NODE" ] || die "empty hostname"

# ---------------------------------------------------------------- 2. the config we want
NEWCONF=$(mktemp /tmp/slurm.conf.XXXXXX)
trap 'rm -f "$NEWCONF"' EXIT
# Node shape from slurmd -C (what slurmd will report); declare 90% of RAM so the node is
# never drained for "Low RealMemory".
HW=$(slurmd -C | head -n1)
get() { sed -n "s/.*\b$1=\([0-9]*\).*/\1/p" <<<"$HW"; }
CPUS=$(get CPUs); BOARDS=$(get Boards); SPB=$(get SocketsPerBoard); CPS=$(get CoresPerSocket); TPC=$(get ThreadsPerCore); MEM=$(get RealMemory)
[ -n "$CPUS" ] && [ -n "$MEM" ] || die "could not parse 'slurmd -C': $HW"
MEM=$(( MEM * 9 / 10 ))

cat > "$NEWCONF" <<EOF
# Single-node local Slurm cluster written by start-local.sh
ClusterName=local
SlurmctldHost=$NODE(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
AuthType=auth/munge
CredType=cred/munge
# Private munged: its socket lives in DIR, so the system /run/munge is never needed.
AuthInfo=socket=$SOCK
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$DIR/state/ctld
SlurmdSpoolDir=$DIR/state/slurmd
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
MpiDefault=none
MailProg=/bin/true
# Scheduling: schedule batch jobs on the next 1 s tick instead of up to 3 s later.
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0
SelectType=select/cons_tres
# A job whose afterok dependency failed is cancelled instead of pending forever.
DependencyParameters=kill_invalid_depend
# Finished jobs stay visible to squeue --states=all / scontrol show job for this long (s).
MinJobAge=3600
ReturnToService=2
# Job completion records: one line per finished job in a text file (with or without slurmdbd).
JobCompType=jobcomp/filetxt
JobCompLoc=$DIR/log/jobcomp.txt
EOF
if [ "$ACCT" = 1 ]; then cat >> "$NEWCONF" <<EOF
# Accounting through our slurmdbd (sacct works). AccountingStoragePass = munge socket to use for it.
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=127.0.0.1
AccountingStoragePort=$DBD_PORT
AccountingStoragePass=$SOCK
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=task=1
EOF
else cat >> "$NEWCONF" <<EOF
# No slurmdbd: sacct does not work ("Slurm accounting storage is disabled").
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
EOF
fi
if [ "$CGROUP" = 1 ]; then cat >> "$NEWCONF" <<EOF
# cgroup v1 process tracking and limits (cgroup.conf beside this file); memory is consumable.
ProctrackType=proctrack/cgroup
TaskPlugin=task/cgroup
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=1024
EOF
else cat >> "$NEWCONF" <<EOF
# No cgroups: plain /proc process tracking, no task binding, memory not a consumable.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectTypeParameters=CR_Core
EOF
fi
cat >> "$NEWCONF" <<EOF
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=$CPUS Boards=${BOARDS:-1} SocketsPerBoard=${SPB:-1} CoresPerSocket=${CPS:-$CPUS} ThreadsPerCore=${TPC:-1} RealMemory=$MEM State=UNKNOWN
PartitionName=debug Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
EOF

# ---------------------------------------------------------------- 3. already up with that config?
acct_ok() { # the accounting daemons are up iff accounting was asked for
  if [ "$ACCT" = 1 ]; then alive "$DIR/mariadb.pid" mariadbd && alive "$DIR/slurmdbd.pid" slurmdbd
  else ! alive "$DIR/slurmdbd.pid" slurmdbd; fi
}
if alive "$DIR/munge/munged.pid" munged && alive "$DIR/slurmctld.pid" slurmctld && alive "$DIR/slurmd.pid" slurmd && acct_ok \
   && cmp -s "$NEWCONF" "$CONF"; then
  export SLURM_CONF=$CONF
  if wait_for "$TIMEOUT" "node idle" node_is_idle; then
    log "already running in $DIR (munged $(pid_of "$DIR/munge/munged.pid"), slurmctld $(pid_of "$DIR/slurmctld.pid"), slurmd $(pid_of "$DIR/slurmd.pid")$([ "$ACCT" = 1 ] && echo ", slurmdbd $(pid_of "$DIR/slurmdbd.pid"), mariadbd $(pid_of "$DIR/mariadb.pid")")); node $NODE idle"
    echo "export SLURM_CONF=$CONF"
    exit 0
  fi
  log "daemons alive but node $NODE is '$(node_state)', restarting"
fi
# partly up, wedged, or up with another config: stop what is ours, then start clean
if [ -e "$DIR/munge/munged.pid" ] || [ -e "$DIR/slurmctld.pid" ] || [ -e "$DIR/slurmd.pid" ] \
   || [ -e "$DIR/slurmdbd.pid" ] || [ -e "$DIR/mariadb.pid" ]; then
  log "restarting: a daemon is down, the node is wedged, or the config changed (pid files in $DIR)"
  "$HERE/stop-local.sh" "$DIR" >&2 || true
fi

port_busy "$CTLD_PORT" && die "port $CTLD_PORT already in use (another slurmctld?). Set SLURM_LOCAL_CTLD_PORT."
port_busy "$SLURMD_PORT" && die "port $SLURMD_PORT already in use (another slurmd?). Set SLURM_LOCAL_SLURMD_PORT."
if [ "$ACCT" = 1 ]; then
  port_busy "$DBD_PORT" && die "port $DBD_PORT already in use (another slurmdbd?). Set SLURM_LOCAL_DBD_PORT."
  port_busy "$DB_PORT" && die "port $DB_PORT already in use. Set SLURM_LOCAL_DB_PORT."
fi

# ---------------------------------------------------------------- 4. files
[ "$FRESH" = 1 ] && rm -rf "$DIR/state"
mkdir -p "$DIR/munge" "$DIR/log" "$DIR/state/ctld" "$DIR/state/slurmd"
# munged refuses a socket dir that is not world-executable, and a key that others can read.
chmod 755 "$DIR" "$DIR/munge"
if [ ! -s "$DIR/munge/munge.key" ]; then
  mungekey -c -k "$DIR/munge/munge.key" 2>/dev/null || dd if=/dev/urandom of="$DIR/munge/munge.key" bs=1024 count=1 status=none
fi
chown root:root "$DIR/munge/munge.key"; chmod 600 "$DIR/munge/munge.key"

cp "$NEWCONF" "$CONF"; chmod 644 "$CONF"
if [ "$CGROUP" = 1 ]; then
  printf 'CgroupPlugin=autodetect\nConstrainCores=yes\nConstrainRAMSpace=yes\n' > "$DIR/cgroup.conf"
else
  rm -f "$DIR/cgroup.conf"
fi
printf 'export SLURM_CONF=%s\n' "$CONF" > "$DIR/env.sh"
export SLURM_CONF=$CONF

if ! getent hosts "$NODE" >/dev/null; then
  log "warning: hostname '$NODE' does not resolve (add '127.0.0.1 $NODE' to /etc/hosts if slurmctld/slurmd complain)"
fi

# ---------------------------------------------------------------- 5. daemons
# All three daemonize themselves; stdio goes to files so that no daemon keeps a caller's
# pipe open (a CI step piping this script into tee would otherwise never finish).
munged --socket="$SOCK" --key-file="$DIR/munge/munge.key" --pid-file="$DIR/munge/munged.pid" \
  --seed-file="$DIR/munge/munged.seed" --log-file="$DIR/log/munged.log" \
  </dev/null >>"$DIR/log/munged.stdout" 2>&1 || die "munged failed: $(tail -n 3 "$DIR/log/munged.log")"
wait_for 10 "munge socket" bash -c "munge -n -S '$SOCK' | unmunge -S '$SOCK'" || die "munged not answering on $SOCK"

if [ "$ACCT" = 1 ]; then
  # Private MariaDB: data in DIR/mysql, unix socket in DIR (root login), TCP on 127.0.0.1 for slurmdbd.
  if [ ! -d "$DIR/mysql/mysql" ]; then
    mkdir -p "$DIR/mysql"
    mariadb-install-db --no-defaults --datadir="$DIR/mysql" --user=root --auth-root-authentication-method=socket \
      --skip-test-db >"$DIR/log/mariadb-install.log" 2>&1 || die "mariadb-install-db failed, see $DIR/log/mariadb-install.log"
  fi
  # mariadbd does not daemonize: detach it (setsid, stdio to files) so it outlives this script.
  setsid mariadbd --no-defaults --datadir="$DIR/mysql" --socket="$DIR/mysql.sock" --port="$DB_PORT" \
    --bind-address=127.0.0.1 --user=root --pid-file="$DIR/mariadb.pid" --log-error="$DIR/log/mariadb.err" \
    --innodb-buffer-pool-size=64M --skip-log-bin </dev/null >>"$DIR/log/mariadb.stdout" 2>&1 &
  wait_for 60 "mariadb" mariadb --no-defaults -S "$DIR/mysql.sock" -u root -e 'SELECT 1' \
    || die "mariadbd not answering: $(tail -n 5 "$DIR/log/mariadb.err")"
  mariadb --no-defaults -S "$DIR/mysql.sock" -u root -e "CREATE USER IF NOT EXISTS 'slurm'@'127.0.0.1' IDENTIFIED BY 'slurm';
    GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1'; FLUSH PRIVILEGES;" || die "could not create the slurm DB user"
  # slurmdbd reads slurmdbd.conf from the directory of SLURM_CONF; it must be mode 600, owned by SlurmUser.
  cat > "$DIR/slurmdbd.conf" <<EOF
AuthType=auth/munge
AuthInfo=socket=$SOCK
DbdHost=localhost
DbdAddr=127.0.0.1
DbdPort=$DBD_PORT
SlurmUser=root
PidFile=$DIR/slurmdbd.pid
LogFile=$DIR/log/slurmdbd.log
DebugLevel=info
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=$DB_PORT
StorageUser=slurm
StoragePass=slurm
StorageLoc=slurm_acct_db
EOF
  chmod 600 "$DIR/slurmdbd.conf"
  slurmdbd </dev/null >>"$DIR/log/slurmdbd.stdout" 2>&1 || die "slurmdbd failed: $(tail -n 5 "$DIR/log/slurmdbd.log")"
  wait_for 60 "slurmdbd" port_busy "$DBD_PORT" || die "slurmdbd not listening: $(tail -n 5 "$DIR/log/slurmdbd.log")"
else
  rm -f "$DIR/slurmdbd.conf"
fi

slurmctld -f "$CONF" </dev/null >>"$DIR/log/slurmctld.stdout" 2>&1 || die "slurmctld failed: $(tail -n 5 "$DIR/log/slurmctld.log")"
wait_for 30 "slurmctld" bash -c 'scontrol ping | grep -q UP' || die "slurmctld not answering: $(tail -n 5 "$DIR/log/slurmctld.log")"

slurmd -f "$CONF" </dev/null >>"$DIR/log/slurmd.stdout" 2>&1 || die "slurmd failed: $(tail -n 5 "$DIR/log/slurmd.log")"

if ! wait_for "$TIMEOUT" "node idle" node_is_idle; then
  st=$(node_state)
  case "$st" in
    down*|drain*|*fail*) log "node is '$st', resuming"; scontrol update nodename="$NODE" state=resume || true
                         wait_for 10 "node idle" node_is_idle || die "node $NODE is '$(node_state)': $(scontrol show node "$NODE" | grep -i reason)";;
    *) die "node $NODE is '$st' after ${TIMEOUT}s; see $DIR/log/";;
  esac
fi

# End-to-end check: a one-task interactive job (munge creds, slurmd launching a step as root).
# srun is scheduled at once; the first *batch* job after a start may still wait ~3 s for the
# controller's first scheduling pass.
if [ "${SLURM_LOCAL_SMOKE:-1}" = 1 ]; then
  out=$(timeout 30 srun -Q -N1 -n1 -t 1 hostname 2>&1) || die "smoke job 'srun hostname' failed: $out"
fi

# ---------------------------------------------------------------- 6. default config path for clients
if [ "$LINK_ETC" = 1 ]; then
  mkdir -p /etc/slurm
  if [ ! -e /etc/slurm/slurm.conf ] || [ -L /etc/slurm/slurm.conf ]; then
    ln -sfn "$CONF" /etc/slurm/slurm.conf
  else
    log "note: /etc/slurm/slurm.conf is a real file, left alone; clients need SLURM_CONF=$CONF"
  fi
fi

log "up in $(awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}')s: node $NODE idle, CPUs=$CPUS RealMemory=${MEM}M"
[ "$ACCT" = 1 ] && log "accounting: mariadbd $(pid_of "$DIR/mariadb.pid") (127.0.0.1:$DB_PORT), slurmdbd $(pid_of "$DIR/slurmdbd.pid") (:$DBD_PORT); sacct works"
log "pids: munged $(pid_of "$DIR/munge/munged.pid"), slurmctld $(pid_of "$DIR/slurmctld.pid"), slurmd $(pid_of "$DIR/slurmd.pid"); logs in $DIR/log"
log "stop with: $HERE/stop-local.sh $DIR   (by hand: SLURM_CONF=$CONF scontrol shutdown;$([ "$ACCT" = 1 ] && echo " kill \$(cat $DIR/slurmdbd.pid) \$(cat $DIR/mariadb.pid);") kill \$(cat $DIR/munge/munged.pid))"
echo "export SLURM_CONF=$CONF"
