#!/usr/bin/env bash
# Builds one libFuzzer target and fuzzes it, seeded from the repo's own files.
#
#   scripts/fuzz.sh TARGET [SECONDS]     TARGET: pipeline | tokenizer | json | safetensors | checkpoint | dataset | store | stage-files
#
# Builds `Fuzz<Target>` with `--sanitize=fuzzer -DFUZZING` in .build-fuzz (apart from .build), writes
# the seeds (scripts/fuzz/seeds.py) to .fuzz/TARGET/seeds, keeps the growing corpus in
# .fuzz/TARGET/corpus and any crashing input as .fuzz/TARGET/crash-*. Stops after SECONDS (default 300),
# at the first crash, or on an input that runs over 5 s or 2 GB. Extra libFuzzer flags: FUZZ_FLAGS.
# Replay one input: .build-fuzz/{release,debug}/Fuzz<Target> .fuzz/TARGET/crash-…
set -euo pipefail
target=${1:?usage: scripts/fuzz.sh pipeline|tokenizer|json|safetensors|checkpoint|dataset|store|stage-files [SECONDS]}
seconds=${2:-300}
repo=$(cd "$(dirname "$0")/.." && pwd)
# Release where the modules keep Swift's overflow and bounds checks (about 2x the executions of a debug
# build); debug for the numeric modules, whose release build is -Ounchecked (no traps to find), and
# for the targets that reach internals (@testable). max_len: above the largest seed, so inputs may grow.
case $target in
    pipeline) product=FuzzPipeline config=release max_len=16384 ;;
    tokenizer) product=FuzzTokenizer config=release max_len=65536 ;;
    json) product=FuzzJSON config=release max_len=16384 ;;
    safetensors) product=FuzzSafetensors config=debug max_len=4096 ;;
    checkpoint) product=FuzzCheckpoint config=debug max_len=8192 ;;
    dataset) product=FuzzDataset config=debug max_len=4096 ;;
    store) product=FuzzStore config=debug max_len=4096 ;;
    stage-files) product=FuzzStageFiles config=debug max_len=4096 ;;
    *) echo "unknown fuzz target '$target' (pipeline, tokenizer, json, safetensors, checkpoint, dataset, store, stage-files)" >&2; exit 2 ;;
esac
cd "$repo"
swift build -j "${FUZZ_JOBS:-1}" -c "$config" --product "$product" --sanitize=fuzzer -Xswiftc -DFUZZING --scratch-path .build-fuzz
work=.fuzz/$target
rm -rf "$work/seeds"
mkdir -p "$work/corpus"
python3 scripts/fuzz/seeds.py "$repo" "$target" "$work/seeds"
# Swift's backtracer would run inside libFuzzer's signal handler; libFuzzer reports the crash itself.
export SWIFT_BACKTRACE=enable=no
exec ".build-fuzz/$config/$product" "$work/corpus" "$work/seeds" -max_total_time="$seconds" -max_len="$max_len" -timeout=5 -rss_limit_mb=2048 \
    -malloc_limit_mb=2048 -artifact_prefix="$work/" -print_final_stats=1 ${FUZZ_FLAGS:-}
