#!/usr/bin/env bash
# SIGKILL `pipe` (or one of its stage processes) at random moments of a small ML pipeline and check
# that nothing half-written passes for a result.
#
#   scripts/kill-torture-ml.sh [ROUNDS] [PIPE_BINARY]
#   CHILD_ODDS=1 scripts/kill-torture-ml.sh   # always kill a stage process (default: one round in 3)
#
# The pipeline is pipelines/smoke.yaml (dataset → tokenise → judge, sft → rm-pairs → rm → ppo, dpo,
# grpo, evaluate; seconds per stage in a debug build). A reference run in its own store fixes every
# output digest (the lock file). Each round starts from an empty store, kills after a random delay
# (pipe itself, or a `pipe _stage` child), then checks: no process of the workspace outlives the kill,
# `pipe verify` finds the store intact, the rerun completes, and its lock file names exactly the
# reference digests — a stage recorded from a half-written output would differ there (or in verify).
# Exits non-zero at the first broken invariant, leaving the workspace for inspection.
set -u
rounds=${1:-8}
repo=$(cd "$(dirname "$0")/.." && pwd)
pipe=${2:-$repo/.build/debug/pipe}
work=$(mktemp -d "${TMPDIR:-/tmp}/pipe-kill-ml.XXXXXX")
cd "$work" || exit 1
mkdir -p pipelines
cp "$repo/pipelines/smoke.yaml" pipelines/
export NO_COLOR=1 OPENBLAS_NUM_THREADS=1

fail() {
    echo "FAILED in round $round: $*" >&2
    echo "workspace kept at $work" >&2
    exit 1
}

# Stage outputs of a lock file: "stage output digest" lines.
outs() {
    awk '/^  [^ ].*:$/ { stage = $1 } /^    outs:/ { inouts = 1; next } /^    [a-z]/ { inouts = 0 }
         inouts && /^      / { print stage, $1, $2 }' "$1" | sort
}

round=0
start=$(date +%s.%N)
timeout 600 "$pipe" run pipelines/smoke.yaml -j 2 --store reference > reference.txt 2>&1 || fail "reference run: $(tail -5 reference.txt)"
full=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')
cp pipelines/smoke.lock reference.lock
outs reference.lock > reference.outs
[ "$(wc -l < reference.outs)" -ge 10 ] || fail "the reference lock has too few outputs: $(cat reference.outs)"
echo "reference run: ${full}s, $(wc -l < reference.outs) outputs"

for round in $(seq 1 "$rounds"); do
    rm -rf artifacts pipelines/smoke.lock
    "$pipe" run pipelines/smoke.yaml -j 2 > killed.txt 2>&1 &
    target=$!
    # Up to twice the reference's time: a busy machine stretches the run, and late stages must be hit too.
    delay=$(awk -v r=$RANDOM -v f="$full" 'BEGIN { printf "%.2f", 0.3 + r / 32768 * f * 2 }')
    sleep "$delay"
    victim=$target what=pipe
    if [ $((RANDOM % ${CHILD_ODDS:-3})) -eq 0 ]; then
        child=$(pgrep -P "$target" -f "_stage" | head -1)
        [ -n "$child" ] && victim=$child what="stage $(tr '\0' ' ' < /proc/"$child"/cmdline 2>/dev/null | grep -o '~[a-z-]*/invocation' | tr -d '~' | cut -d/ -f1)"
    fi
    running=$(grep -o '^\[[0-9:]*\] [a-z-]*: started' killed.txt | cut -d' ' -f2 | tr -d : | tr '\n' ' ')
    kill -KILL "$victim" 2> /dev/null
    wait "$target" 2> /dev/null
    for _ in $(seq 1 20); do
        pgrep -f "$work" > /dev/null || break
        sleep 0.5
    done
    pgrep -af "$work" | grep -v pgrep && fail "processes still running after the kill"
    echo "round $round: SIGKILL to $what after ${delay}s (stages started: ${running:-none})"
    timeout 120 "$pipe" verify > verify.txt 2>&1 || fail "verify after the kill: $(tail -5 verify.txt)"
    grep -q "store is intact" verify.txt || fail "verify found damage after the kill: $(cat verify.txt)"
    timeout 600 "$pipe" run pipelines/smoke.yaml -j 2 > rerun.txt 2>&1 || fail "rerun failed: $(tail -5 rerun.txt)"
    timeout 120 "$pipe" verify > verify.txt 2>&1 && grep -q "store is intact" verify.txt || fail "verify after the rerun: $(cat verify.txt)"
    outs pipelines/smoke.lock > rerun.outs
    diff reference.outs rerun.outs > outs.diff || fail "output digests differ from the reference run: $(cat outs.diff)"
done
echo "all $rounds rounds passed"
rm -rf "$work"
