#!/usr/bin/env python3
"""Prints, for every Unicode scalar (surrogates skipped), how `tokenizers`' regex engine classes it for
GPT-2's pattern: L (\\p{L}), N (\\p{N}), S (\\s) or O (none), one character each, in code point order.

  python regex_classes.py > classes.txt     (needs the `tokenizers` package)
"""
import sys

from tokenizers import Regex, pre_tokenizers

scalars = [c for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]
text = "".join(map(chr, scalars))
members = {}
for name, pattern in [("L", r"\p{L}"), ("N", r"\p{N}"), ("S", r"\s")]:
    rest = {ord(ch) for piece, _ in pre_tokenizers.Split(Regex(pattern), behavior="removed").pre_tokenize_str(text) for ch in piece}
    members[name] = set(scalars) - rest
sys.stdout.write("".join(next((k for k in "LNS" if c in members[k]), "O") for c in scalars))
