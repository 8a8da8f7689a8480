#!/usr/bin/env python3
"""Encodes texts with the Hugging Face `tokenizers` library, to check pipe's tokenizer.json against it.

Usage: check-hf-tokenizer.py TOKENIZER_JSON < texts.jsonl  (one JSON string per line)
Prints one JSON line per text: {"ids": [...], "decoded": "..."}. Exit code 3 if `tokenizers` is missing.
Needs `pip install tokenizers` (e.g. in a venv); the Swift test TokenizerTests skips when it is absent.
"""
import json
import sys

try:
    from tokenizers import Tokenizer
except ImportError:
    sys.exit(3)

tok = Tokenizer.from_file(sys.argv[1])
for line in sys.stdin:
    text = json.loads(line)
    ids = tok.encode(text).ids
    print(json.dumps({"ids": ids, "decoded": tok.decode(ids, skip_special_tokens=False)}, ensure_ascii=False))
