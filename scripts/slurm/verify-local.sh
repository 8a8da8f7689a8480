#!/usr/bin/env bash
# verify-local.sh - check that a local cluster from start-local.sh does what a
# Slurm executor needs. Prints one line per check and 'N passed, N failed' at the end.
# Usage: SLURM_CONF=DIR/slurm.conf verify-local.sh [WORKDIR]   (WORKDIR: shared dir for outputs)
set -uo pipefail
W=${1:-$(mktemp -d /tmp/slurm-verify.XXXXXX)}
mkdir -p "$W"; cd "$W" || exit 1
pass=0; fail=0
ok()  { pass=$((pass+1)); printf 'ok    %s\n' "$*"; }
bad() { fail=$((fail+1)); printf 'FAIL  %s\n' "$*"; }
check() { local name=$1; shift; if "$@"; then ok "$name"; else bad "$name"; fi; }
state() { squeue -h -j "$1" --states=all -o %T 2>/dev/null; }
terminal() { case "$(state "$1")" in COMPLETED|FAILED|CANCELLED|TIMEOUT|NODE_FAIL|OUT_OF_MEMORY|BOOT_FAIL|DEADLINE|PREEMPTED) return 0;; esac; return 1; }
wait_terminal() { local end=$(( $(date +%s) + ${2:-30} )); until terminal "$1"; do [ "$(date +%s)" -lt "$end" ] || return 1; sleep 0.1; done; }
field() { scontrol show job -o "$1" | tr ' ' '\n' | sed -n "s/^$2=//p" | head -n1; }

NODE=$(sinfo -h -N -o %N | head -n1)
check "sinfo: node $NODE idle" test "$(sinfo -h -N -o %T | head -n1)" = idle

rm -f "$W/x"
j=$(sbatch --parsable -o "$W/slurm-%j.out" --wrap "echo hi > $W/x")
wait_terminal "$j"
check "sbatch --wrap runs, writes file (job $j)" test "$(cat "$W/x" 2>/dev/null)" = hi
check "scontrol show job: COMPLETED ExitCode=0:0" test "$(field "$j" JobState) $(field "$j" ExitCode)" = "COMPLETED 0:0"

j=$(sbatch --parsable -o /dev/null --wrap 'exit 3'); wait_terminal "$j"
check "failing job: FAILED ExitCode=3:0 (job $j)" test "$(field "$j" JobState) $(field "$j" ExitCode)" = "FAILED 3:0"

j=$(sbatch --parsable -o /dev/null --wrap 'kill -9 $$'); wait_terminal "$j"
check "killed job: FAILED, signal 9 in ExitCode ($(field "$j" ExitCode))" test "$(field "$j" JobState) $(field "$j" ExitCode | cut -d: -f2)" = "FAILED 9"

j=$(sbatch --parsable -o /dev/null -t 0:01 --wrap 'sleep 600'); wait_terminal "$j" 150
check "time limit 1 min: TIMEOUT (job $j)" test "$(field "$j" JobState)" = TIMEOUT

# two 1-CPU jobs in parallel on a 2-CPU node
a=$(sbatch --parsable -n1 -o "$W/par-%j.out" --wrap 'date +%s.%N; sleep 3; date +%s.%N')
b=$(sbatch --parsable -n1 -o "$W/par-%j.out" --wrap 'date +%s.%N; sleep 3; date +%s.%N')
wait_terminal "$a"; wait_terminal "$b"
sa=$(head -n1 "$W/par-$a.out"); ea=$(tail -n1 "$W/par-$a.out"); sb=$(head -n1 "$W/par-$b.out"); eb=$(tail -n1 "$W/par-$b.out")
check "2 x 1-CPU jobs overlap in time" awk -v sa="$sa" -v ea="$ea" -v sb="$sb" -v eb="$eb" 'BEGIN{exit !((sa<eb)&&(sb<ea))}'

# dependencies
rm -f "$W/dep.log"
a=$(sbatch --parsable -o /dev/null --wrap "sleep 1; echo A >> $W/dep.log")
b=$(sbatch --parsable -o /dev/null --dependency=afterok:$a --wrap "echo B >> $W/dep.log")
f=$(sbatch --parsable -o /dev/null --wrap 'exit 1')
g=$(sbatch --parsable -o /dev/null --dependency=afterok:$f --kill-on-invalid-dep=yes --wrap "echo G >> $W/dep.log")
wait_terminal "$b"; wait_terminal "$g"
check "afterok: B ran after A" test "$(tr '\n' ' ' < "$W/dep.log")" = "A B "
check "afterok on failed job: dependent CANCELLED ($(field "$g" Reason))" test "$(field "$g" JobState)" = CANCELLED

# scancel of a running job
j=$(sbatch --parsable -o /dev/null --wrap 'sleep 300')
end=$(( $(date +%s) + 20 )); while [ "$(state "$j")" != RUNNING ] && [ "$(date +%s)" -lt "$end" ]; do sleep 0.1; done
scancel "$j"; wait_terminal "$j"
check "scancel: CANCELLED (job $j)" test "$(field "$j" JobState)" = CANCELLED

# srun
check "srun -n2 runs 2 tasks" test "$(srun -Q -n2 bash -c 'echo $SLURM_PROCID' | sort | tr '\n' ' ')" = "0 1 "
srun -Q bash -c 'exit 5' 2>/dev/null; rc=$?
check "srun propagates exit code 5" test "$rc" = 5

# job environment / working dir / array
j=$(sbatch --parsable --chdir="$W" -o "$W/env-%j.out" --export=ALL,STAGE=prep --wrap 'echo "$STAGE $SLURM_JOB_ID $(pwd)"')
wait_terminal "$j"
check "--export and --chdir reach the job" test "$(cat "$W/env-$j.out")" = "prep $j $W"
j=$(sbatch --parsable -a 0-3 -o "$W/arr-%A_%a.out" --wrap 'echo $SLURM_ARRAY_TASK_ID')
end=$(( $(date +%s) + 30 )); while [ -n "$(squeue -h -j "$j" -t PD,R,CG -o %i)" ] && [ "$(date +%s)" -lt "$end" ]; do sleep 0.2; done
check "job array 0-3: 4 outputs" test "$(cat "$W"/arr-"$j"_*.out 2>/dev/null | sort | tr '\n' ' ')" = "0 1 2 3 "

# cgroup mode only: memory limit enforced
if [ "$(scontrol show config | sed -n 's/^ProctrackType *= *//p')" = proctrack/cgroup ]; then
  j=$(sbatch --parsable -o /dev/null --mem=100M --wrap 'python3 -c "x=bytearray(400*1024*1024)"')
  wait_terminal "$j"
  check "cgroup: --mem=100M job touching 400M ends OUT_OF_MEMORY ($(field "$j" ExitCode))" test "$(field "$j" JobState)" = OUT_OF_MEMORY
fi

# accounting
if sacct -n -j 1 >/dev/null 2>&1; then ok "sacct answers"; else printf 'info  sacct: %s (expected without slurmdbd)\n' "$(sacct -n 2>&1 | head -n1)"; fi
loc=$(scontrol show config | sed -n 's/^JobCompLoc *= *//p')
check "jobcomp/filetxt has records ($loc)" test -s "$loc"

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
