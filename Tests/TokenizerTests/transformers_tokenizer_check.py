#!/usr/bin/env python3
"""Loads a tokenizer folder written by pipe with `transformers`' AutoTokenizer, as a user would.

Usage: transformers_tokenizer_check.py DIR < texts.jsonl   (one JSON string per line)
Prints one JSON line with the class and special tokens, then per text {"ids": [...], "decoded": "..."}
(add_special_tokens=False; decoded with skip_special_tokens=False, clean_up_tokenization_spaces=False).
Exit code 3 if `transformers` is missing.
"""
import json
import sys

try:
    from transformers import AutoTokenizer
except ImportError:
    sys.exit(3)

tok = AutoTokenizer.from_pretrained(sys.argv[1])
print(json.dumps({"class": type(tok).__name__, "eos_token": tok.eos_token, "pad_token": tok.pad_token,
                  "eos_token_id": tok.eos_token_id, "pad_token_id": tok.pad_token_id, "size": len(tok)}))
for line in sys.stdin:
    text = json.loads(line)
    ids = tok(text, add_special_tokens=False)["input_ids"]
    decoded = tok.decode(ids, skip_special_tokens=False, clean_up_tokenization_spaces=False)
    print(json.dumps({"ids": ids, "decoded": decoded}, ensure_ascii=False))
