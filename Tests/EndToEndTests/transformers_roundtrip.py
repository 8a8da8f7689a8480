#!/usr/bin/env python3
"""The user's side of a fine-tune round trip through pipe (needs torch + transformers).

  transformers_roundtrip.py make OUT_DIR VOCAB_FILE    save_pretrained a random GPT2LMHeadModel and a
                                                     BertTokenizerFast built from VOCAB_FILE into OUT_DIR
  transformers_roundtrip.py check MODEL_DIR TEXT OUT   load MODEL_DIR with AutoTokenizer and
                                                     GPT2LMHeadModel; write {"ids": [...], "logits": [...]}
                                                     for TEXT (no special tokens) to OUT
"""
import inspect
import json
import sys

import torch
from transformers import AutoTokenizer, BertTokenizerFast, GPT2Config, GPT2LMHeadModel


def make(out, vocab_file):
    torch.manual_seed(0)
    # transformers 5 names the vocabulary argument `vocab`; 4.x `vocab_file`.
    vocab_argument = "vocab" if "vocab" in inspect.signature(BertTokenizerFast.__init__).parameters else "vocab_file"
    tokenizer = BertTokenizerFast(**{vocab_argument: vocab_file}, do_lower_case=False, tokenize_chinese_chars=True)
    config = GPT2Config(vocab_size=tokenizer.vocab_size, n_positions=64, n_embd=32, n_layer=1, n_head=2,
                        resid_pdrop=0, embd_pdrop=0, attn_pdrop=0, bos_token_id=50256, eos_token_id=50256)
    model = GPT2LMHeadModel(config)
    with torch.no_grad():
        for p in model.parameters():
            if p.dim() == 1:
                p.normal_(0, 0.3)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)


def check(directory, text, out):
    tokenizer = AutoTokenizer.from_pretrained(directory)
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    model = GPT2LMHeadModel.from_pretrained(directory, attn_implementation="eager", dtype=torch.float32).eval()
    with torch.no_grad():
        logits = model(torch.tensor([ids])).logits.flatten().tolist()
    json.dump({"ids": ids, "logits": logits}, open(out, "w"))


if __name__ == "__main__":
    {"make": lambda: make(*sys.argv[2:4]), "check": lambda: check(*sys.argv[2:5])}[sys.argv[1]]()
