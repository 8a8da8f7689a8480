#!/usr/bin/env bash
# WordPiece encoding, pipe vs the `tokenizers` package, side by side on the same files (single thread).
#   benchmarks/tokenizer/compare.sh /path/to/venv/bin/python      (the venv has `pip install tokenizers`)
# Builds the Tokenizer target in release, links a tiny driver against it (WordPieceBenchmark: 21,128-token
# BERT-Chinese-sized vocabulary, 20,000 mixed Chinese/English texts), writes the inputs, times pipe,
# then runs tokenizers_wordpiece.py on the same inputs.
set -euo pipefail
python=${1:?usage: compare.sh PYTHON_WITH_TOKENIZERS}
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$root"
swift build -c release --target Tokenizer >/dev/null
bin=$(swift build -c release --show-bin-path)
cat > "$work/main.swift" <<'SWIFT'
import Foundation
import Tokenizer
let dir = CommandLine.arguments[1]
let tokenizer = try WordPieceBenchmark.tokenizer()
let texts = WordPieceBenchmark.texts(count: 20_000)
try WordPieceBenchmark.writeInputs(directory: dir, tokenizer: tokenizer, texts: texts)
let r = WordPieceBenchmark.run(tokenizer, texts: texts, repeats: 5)
print("pipe: \(r.texts) texts, \(String(format: "%.2f", Double(r.bytes) / 1e6)) MB, \(r.tokens) tokens")
print(String(format: "  encode        %.3f s  %.2f M tokens/s  %.2f MB/s", r.median, r.tokensPerSecond / 1e6, r.megabytesPerSecond))
SWIFT
swiftc -O "$work/main.swift" -I "$bin/Modules" "$bin"/Tokenizer.build/*.swift.o "$bin"/JSONQuoting.build/*.swift.o -o "$work/bench"
"$work/bench" "$work/data"
RAYON_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false "$python" "$root/benchmarks/tokenizer/tokenizers_wordpiece.py" "$work/data"
