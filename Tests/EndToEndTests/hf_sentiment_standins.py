#!/usr/bin/env python3
"""Tiny random stand-ins for the two models of pipelines/sentiment-hf.yaml (needs torch + transformers).

  hf_sentiment_standins.py VOCAB_FILE POLICY_DIR CLASSIFIER_DIR

POLICY_DIR: a random GPT2LMHeadModel in the shape of uer/gpt2-chinese-cluecorpussmall (BERT WordPiece
vocab.txt + tokenizer_config.json, no tokenizer.json; bos/eos id 50256, outside the vocabulary).
CLASSIFIER_DIR: a random BertForSequenceClassification with the labels of
uer/roberta-base-finetuned-jd-binary-chinese and its BertTokenizerFast. Both from save_pretrained.
"""
import inspect
import os
import sys

import torch
from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast, GPT2Config, GPT2LMHeadModel


def tokenizer_from(vocab_file):
    # transformers 5 names the vocabulary argument `vocab`; 4.x `vocab_file`.
    argument = "vocab" if "vocab" in inspect.signature(BertTokenizerFast.__init__).parameters else "vocab_file"
    return BertTokenizerFast(**{argument: vocab_file}, do_lower_case=False, tokenize_chinese_chars=True)


def main(vocab_file, policy_dir, classifier_dir):
    torch.manual_seed(0)
    tokenizer = tokenizer_from(vocab_file)

    policy = GPT2LMHeadModel(GPT2Config(vocab_size=tokenizer.vocab_size, n_positions=64, n_embd=32, n_layer=1, n_head=2,
                                        resid_pdrop=0, embd_pdrop=0, attn_pdrop=0, bos_token_id=50256, eos_token_id=50256,
                                        tokenizer_class="BertTokenizer"))
    policy.save_pretrained(policy_dir)
    tokenizer.save_pretrained(policy_dir)
    # The uer folder has a bare vocab.txt: make pipe read that, not a tokenizer.json.
    with open(vocab_file, encoding="utf-8") as source, open(os.path.join(policy_dir, "vocab.txt"), "w", encoding="utf-8") as target:
        target.write(source.read())
    if os.path.exists(os.path.join(policy_dir, "tokenizer.json")):
        os.remove(os.path.join(policy_dir, "tokenizer.json"))

    classifier = BertForSequenceClassification(BertConfig(
        vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64,
        max_position_embeddings=64, hidden_dropout_prob=0, attention_probs_dropout_prob=0, num_labels=2,
        id2label={0: "negative (stars 1, 2 and 3)", 1: "positive (stars 4 and 5)"},
        label2id={"negative (stars 1, 2 and 3)": 0, "positive (stars 4 and 5)": 1}))
    with torch.no_grad():  # a wider head than the default init, so P(positive) varies with the text
        classifier.classifier.weight.normal_(0, 2.0)
        classifier.classifier.bias.zero_()
    classifier.save_pretrained(classifier_dir)
    tokenizer.save_pretrained(classifier_dir)


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    main(*sys.argv[1:])
