#!/usr/bin/env bash
# stop-local.sh - stop the single-node cluster started by start-local.sh.
# Usage: stop-local.sh [DIR] [--purge]     DIR defaults to $PIPE_SLURM_DIR, else /tmp/pipe-slurm
#   Cancels all jobs, stops slurmd + slurmctld ("scontrol shutdown", then SIGTERM/SIGKILL to the
#   pids in DIR's pid files if needed), then slurmdbd and MariaDB if accounting mode ran them,
#   and munged last; in cgroup mode it then removes slurmd's empty cgroup dirs. Only processes named in DIR's pid files
#   are signalled, and only if their name matches. --purge also deletes DIR.
#   Idempotent: stopping a stopped cluster is a no-op (exit 0).
set -uo pipefail

log() { printf '[slurm stop] %s\n' "$*" >&2; }

DIR=""; PURGE=0
for a in "$@"; do
  case "$a" in
    --purge) PURGE=1 ;;
    *) DIR=$a ;;
  esac
done
DIR=${DIR:-${PIPE_SLURM_DIR:-/tmp/pipe-slurm}}
DIR=$(realpath -m "$DIR")
CONF=$DIR/slurm.conf
export SLURM_CONF=$CONF

alive() { # alive PID NAME: running, not a zombie, and called NAME
  local pid=$1 name=$2 st
  [ -n "$pid" ] && [ -r "/proc/$pid/stat" ] || return 1
  st=$(sed 's/^.*) //' "/proc/$pid/stat" | cut -d' ' -f1)
  [ "$st" != Z ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$name" ]
}
read_pid() { [ -s "$1" ] && tr -dc 0-9 < "$1"; }
wait_gone() { # wait_gone SECONDS PID NAME
  local end=$(( $(date +%s) + $1 ))
  while alive "$2" "$3"; do
    [ "$(date +%s)" -lt "$end" ] || return 1
    sleep 0.2
  done
}
stop_pid() { # stop_pid PID NAME: SIGTERM, wait 10 s, SIGKILL
  local pid=$1 name=$2
  alive "$pid" "$name" || return 0
  kill -TERM "$pid" 2>/dev/null
  wait_gone 10 "$pid" "$name" && return 0
  log "$name ($pid) ignored SIGTERM, sending SIGKILL"
  kill -KILL "$pid" 2>/dev/null
  wait_gone 5 "$pid" "$name"
}

CTLD=$(read_pid "$DIR/slurmctld.pid"); SLURMD=$(read_pid "$DIR/slurmd.pid"); MUNGED=$(read_pid "$DIR/munge/munged.pid")
DBD=$(read_pid "$DIR/slurmdbd.pid"); DB=$(read_pid "$DIR/mariadb.pid")
running=""
for pn in "$CTLD:slurmctld" "$SLURMD:slurmd" "$DBD:slurmdbd" "$DB:mariadbd" "$MUNGED:munged"; do
  alive "${pn%%:*}" "${pn#*:}" && running+=" ${pn#*:}(${pn%%:*})"
done

if alive "$CTLD" slurmctld; then
  # cancel every job so no slurmstepd / job process outlives the cluster
  jobs=$(squeue -h -o %A 2>/dev/null | tr '\n' ' ')
  if [ -n "${jobs// }" ]; then
    log "cancelling jobs: $jobs"
    # shellcheck disable=SC2086
    scancel $jobs 2>/dev/null
    end=$(( $(date +%s) + 15 ))
    while [ -n "$(squeue -h -t R,CG,S -o %A 2>/dev/null)" ] && [ "$(date +%s)" -lt "$end" ]; do sleep 0.2; done
  fi
  # stops slurmctld and every slurmd it knows about
  scontrol shutdown >/dev/null 2>&1 || true
fi
[ -n "$SLURMD" ] && { wait_gone 10 "$SLURMD" slurmd || stop_pid "$SLURMD" slurmd; }
[ -n "$CTLD" ] && { wait_gone 10 "$CTLD" slurmctld || stop_pid "$CTLD" slurmctld; }
[ -n "$DBD" ] && stop_pid "$DBD" slurmdbd
if [ -n "$DB" ] && alive "$DB" mariadbd; then   # clean InnoDB shutdown can take a few seconds
  kill -TERM "$DB" 2>/dev/null; wait_gone 30 "$DB" mariadbd || stop_pid "$DB" mariadbd
fi
[ -n "$MUNGED" ] && stop_pid "$MUNGED" munged

left=""
alive "$SLURMD" slurmd && left+=" slurmd($SLURMD)"
alive "$CTLD" slurmctld && left+=" slurmctld($CTLD)"
alive "$MUNGED" munged && left+=" munged($MUNGED)"
alive "$DBD" slurmdbd && left+=" slurmdbd($DBD)"
alive "$DB" mariadbd && left+=" mariadbd($DB)"
if [ -n "$left" ]; then log "still running:$left"; exit 1; fi
rm -f "$DIR/slurmctld.pid" "$DIR/slurmd.pid" "$DIR/munge/munged.pid" "$DIR/slurmdbd.pid" "$DIR/mariadb.pid"

# cgroup mode: slurmd leaves its (now empty) cgroup v1 dirs, e.g. /sys/fs/cgroup/memory/slurm_NODE
if [ -f "$DIR/cgroup.conf" ]; then
  for d in /sys/fs/cgroup/*/slurm_"$(hostname -s)"; do
    [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
  done
fi

# undo the /etc/slurm/slurm.conf symlink if it points at this cluster
if [ -L /etc/slurm/slurm.conf ] && [ "$(readlink /etc/slurm/slurm.conf)" = "$CONF" ]; then
  rm -f /etc/slurm/slurm.conf
fi
[ "$PURGE" = 1 ] && rm -rf "$DIR"
msg="nothing was running"; [ -n "$running" ] && msg="stopped$running"
log "$msg$([ "$PURGE" = 1 ] && echo "; removed $DIR")"
exit 0
