#!/usr/bin/env python3
"""The `tokenizers` package's side of the WordPiece encoding benchmark (Swift side: WordPieceBenchmark).

  RAYON_NUM_THREADS=1 python tokenizers_wordpiece.py DIR [--repeats 5] [--json]

DIR holds what `WordPieceBenchmark.writeInputs` wrote: tokenizer/tokenizer.json and texts.jsonl.
Measures, single-threaded (RAYON_NUM_THREADS=1, TOKENIZERS_PARALLELISM=false):
  encode        one `Tokenizer.encode(text, add_special_tokens=False)` call per text (as pipe encodes)
  encode_batch  `encode_batch(texts, add_special_tokens=False)` once (Python call overhead amortised)
One warm-up pass, then the median of `repeats` passes; rate = tokens / seconds and MB/s of UTF-8 text.
"""
import argparse
import json
import os
import statistics
import sys
import time

os.environ.setdefault("RAYON_NUM_THREADS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from tokenizers import Tokenizer  # noqa: E402  (after the thread settings)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("dir")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--json", action="store_true")
    a = p.parse_args()
    tok = Tokenizer.from_file(os.path.join(a.dir, "tokenizer", "tokenizer.json"))
    with open(os.path.join(a.dir, "texts.jsonl"), encoding="utf-8") as f:
        texts = [json.loads(line) for line in f if line.strip()]
    total_bytes = sum(len(t.encode("utf-8")) for t in texts)
    tokens = sum(len(tok.encode(t, add_special_tokens=False).ids) for t in texts)

    def timed(fn):
        fn()
        times = []
        for _ in range(a.repeats):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
        return statistics.median(times)

    single = timed(lambda: [tok.encode(t, add_special_tokens=False) for t in texts])
    batch = timed(lambda: tok.encode_batch(texts, add_special_tokens=False))
    result = {
        "texts": len(texts), "bytes": total_bytes, "tokens": tokens,
        "encode_seconds": single, "encode_tokens_per_second": tokens / single, "encode_mb_per_second": total_bytes / single / 1e6,
        "batch_seconds": batch, "batch_tokens_per_second": tokens / batch, "batch_mb_per_second": total_bytes / batch / 1e6,
    }
    if a.json:
        print(json.dumps(result))
    else:
        print(f"tokenizers: {len(texts)} texts, {total_bytes / 1e6:.2f} MB, {tokens} tokens")
        print(f"  encode        {single:.3f} s  {tokens / single / 1e6:.2f} M tokens/s  {total_bytes / single / 1e6:.2f} MB/s")
        print(f"  encode_batch  {batch:.3f} s  {tokens / batch / 1e6:.2f} M tokens/s  {total_bytes / batch / 1e6:.2f} MB/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
