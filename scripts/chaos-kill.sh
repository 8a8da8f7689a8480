#!/usr/bin/env bash
# Kill `pipe` at random moments and check that the store stays sound.
#
#   scripts/chaos-kill.sh [ROUNDS] [PIPE_BINARY]
#
# Each round starts `pipe run` (a -j 2 sweep of small command stages that write many files, so kills
# land during staging, ingest, record commits and registry writes), or `pipe gc` / `pipe push` to a
# directory remote, and after a random delay sends SIGKILL, SIGTERM or SIGINT to `pipe` itself or to
# one of its stage children. Then it checks: the next `pipe run` succeeds within a time limit (no
# stale lock blocks it), `pipe verify` finds nothing corrupt, every output has the expected bytes,
# and `pipe status` says every stage is cached. Exits non-zero at the first broken invariant,
# leaving the workspace for inspection.
set -u
rounds=${1:-50}
pipe=${2:-$(cd "$(dirname "$0")/.." && pwd)/.build/debug/pipe}
work=$(mktemp -d "${TMPDIR:-/tmp}/pipe-chaos.XXXXXX")
cd "$work" || exit 1
mkdir -p pipelines remote
export NO_COLOR=1 OPENBLAS_NUM_THREADS=1

# Outputs depend only on the params, so every variant's bytes are known in advance.
cat > pipelines/chaos.yaml <<'EOF'
name: chaos
seed: 3
stages:
  make:
    run: >-
      mkdir -p ${outs.dir} && i=0 && while [ $i -lt ${params.files} ]; do
      printf 'file %s of variant %s\n' $i ${params.v} > ${outs.dir}/f$i; i=$((i+1)); done &&
      head -c 300000 /dev/zero | tr '\0' ${params.v} > ${outs.dir}/big
    with: { files: 120, v: a }
    outs: [dir]
  sum:
    run: "sleep 0.0${params.pause} && cat ${inputs.d}/f7 ${inputs.d}/f99 > ${outs.txt} && wc -c < ${inputs.d}/big >> ${outs.txt}"
    inputs: { d: make.dir }
    with: { pause: 3 }
    outs: [txt]
sweep:
  make.v: [a, b, c, d]
EOF

expected() {  # the `sum` output of variant $1
    printf 'file 7 of variant %s\nfile 99 of variant %s\n300000\n' "$1" "$1"
}

fail() {
    echo "FAILED in round $round: $*" >&2
    echo "workspace kept at $work" >&2
    exit 1
}

check() {
    timeout 120 "$pipe" run pipelines/chaos.yaml -j 2 > run.txt 2>&1 || fail "the run after the kill failed: $(tail -5 run.txt)"
    timeout 60 "$pipe" verify > verify.txt 2>&1 || fail "verify: $(tail -5 verify.txt)"
    grep -q "store is intact" verify.txt || fail "verify found damage: $(cat verify.txt)"
    timeout 60 "$pipe" status pipelines/chaos.yaml > status.txt 2>&1 || fail "status: $(tail -5 status.txt)"
    if grep -q "must run" status.txt; then fail "status after a successful run: $(cat status.txt)"; fi
    # A push after a killed push completes, and what it left on the remote pulls into an empty store.
    timeout 120 "$pipe" push --all --remote "$work/remote" > push.txt 2>&1 || fail "push: $(tail -5 push.txt)"
    rm -rf fresh
    timeout 120 "$pipe" pull --lock pipelines/chaos.sweep.lock --remote "$work/remote" --store fresh > pull.txt 2>&1 \
        || fail "pull into an empty store: $(tail -5 pull.txt)"
    timeout 60 "$pipe" verify --store fresh > verify-fresh.txt 2>&1 && grep -q "store is intact" verify-fresh.txt \
        || fail "verify of the pulled store: $(cat verify-fresh.txt)"
    for v in a b c d; do
        rm -rf export
        timeout 60 "$pipe" run pipelines/chaos.yaml --no-sweep --set make.v=$v > cached.txt 2>&1 \
            || fail "cached run of variant $v: $(tail -5 cached.txt)"
        grep -q " 0 ran, 2 cached" cached.txt || fail "variant $v was not fully cached: $(cat cached.txt)"
        timeout 60 "$pipe" export latest sum --to export > export.txt 2>&1 || fail "export sum of variant $v: $(cat export.txt)"
        got=$(cat export/* 2>/dev/null)
        [ "$got" == "$(expected $v)" ] || fail "variant $v: wrong bytes: $got"
    done
}

signals=(KILL KILL KILL TERM INT)
round=0
check
for round in $(seq 1 "$rounds"); do
    # Change what must be built: new file counts for one of the variants' upstream stage, or force.
    files=$((100 + RANDOM % 60))
    mode=$((RANDOM % 6))
    case $mode in
        0) "$pipe" gc --grace 0 > /dev/null 2>&1 & target=$! ;;
        1) "$pipe" push --all --remote "$work/remote" > /dev/null 2>&1 & target=$! ;;
        *) "$pipe" run pipelines/chaos.yaml -j 2 --set make.files=$files --force make > killed.txt 2>&1 & target=$! ;;
    esac
    delay=$(awk -v r=$RANDOM 'BEGIN { printf "%.3f", r / 32768 * 0.8 }')
    sleep "$delay"
    signal=${signals[$((RANDOM % ${#signals[@]}))]}
    victim=$target
    if [ $((RANDOM % 3)) -eq 0 ]; then
        child=$(pgrep -P "$target" | head -1)
        [ -n "$child" ] && victim=$child
    fi
    kill -s "$signal" "$victim" 2> /dev/null
    wait "$target" 2> /dev/null
    # A stage child left running by its killed parent must exit by itself (the die-with-parent watchdog).
    for _ in 1 2 3 4 5 6 7 8 9 10; do
        pgrep -f "$work" > /dev/null || break
        sleep 0.5
    done
    pgrep -af "$work" | grep -v pgrep && fail "processes still running after the kill"
    echo "round $round: mode $mode, $signal to $([ "$victim" == "$target" ] && echo pipe || echo child) after ${delay}s"
    # The interrupted configuration, then the base sweep: both must complete and be sound.
    timeout 120 "$pipe" run pipelines/chaos.yaml -j 2 --set make.files=$files > rerun.txt 2>&1 \
        || fail "rerun of the interrupted configuration failed: $(tail -5 rerun.txt)"
    check
done
echo "all $rounds rounds passed"
rm -rf "$work"
