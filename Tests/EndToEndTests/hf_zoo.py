#!/usr/bin/env python3
"""A zoo of Hugging Face GPT-2 folders as users bring them, and what transformers computes on them
(needs torch + transformers + tokenizers). Used by the opt-in HFZooTests (PIPE_TORCH_PYTHON).

  hf_zoo.py make OUT_DIR [NAME ...]     write one folder per variant (all, or the NAMEs given) into OUT_DIR,
                                        each with zoo.json: the test strings, transformers' ids for each
                                        (add_special_tokens=False) and the decoded text, fixed token ids and
                                        the float32 logits of GPT2LMHeadModel for them
  hf_zoo.py check MODEL_DIR OUT_JSON    AutoTokenizer + GPT2LMHeadModel on MODEL_DIR (e.g. pipe's export):
                                        the same measurements as zoo.json, written to OUT_JSON
  hf_zoo.py list                        the variant names, one a line

Every text is generated here (character lists, fixed seeds); nothing is downloaded.
"""
import json
import os
import random
import sys
import tempfile

import torch
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
from transformers import (AutoTokenizer, BertTokenizer, BertTokenizerLegacy, GPT2Config, GPT2ForSequenceClassification,
                          GPT2LMHeadModel, GPT2Model, GPT2Tokenizer, PreTrainedTokenizerFast, RobertaTokenizer)

HAN = "这部电影很好看感觉真的质量喜欢满意推荐不错快值得开心差失望退货垃圾慢后悔生气我们你他是的了在有一个人中国大小天"
LATIN = "abcdefghijklmnopqrstuvwxyz"
ACCENTED = "éèêàçñöüÅÉß"
PUNCT = "，。！？、“”：；,.!?'\"-()"
EMOJI = ["😀", "👍", "🎉", "❤️", "🇨🇳"]
WORDS = ["hello", "world", "Hello", "GPT", "model", "café", "naïve", "don't", "it's", "iPhone", "OK", "ok", "1234", "3.14"]


def corpus(n=400, seed=1):
    r = random.Random(seed)
    lines = []
    for _ in range(n):
        parts = []
        for _ in range(r.randint(2, 8)):
            k = r.random()
            if k < 0.45:
                parts.append("".join(r.choice(HAN) for _ in range(r.randint(1, 6))))
            elif k < 0.75:
                parts.append(r.choice(WORDS))
            elif k < 0.85:
                parts.append("".join(r.choice(LATIN + ACCENTED) for _ in range(r.randint(2, 7))))
            else:
                parts.append(r.choice(PUNCT))
        lines.append((" " if r.random() < 0.5 else "").join(parts))
    return lines


def test_strings(wide=True):
    fixed = ["", " ", "hello world", " hello  world ", "Hello World!", "这部电影很好看", "这部电影很好，推荐1234",
             "café naïve ÅÉß", "don't it's", "emoji 😀👍🎉 ❤️ 🇨🇳", "tab\tnew\nline\r\n", "  leading", "trailing  ",
             "iPhone OK ok", "<|endoftext|>", "hi<|endoftext|>there", "[PAD][SEP] [CLS]x[MASK]", "<s>a</s>", "<mask> m",
             "unknownwordxyzqq", "Ａｂｃ１２３", "ﬁ ligature", "中文English混合text", "x" * 120, "a\u0301 e\u0300",
             "\u00a0nbsp\u3000ideo", "\u200bzero", "new_tok hello world new_tok", "<extra_special> yes",
             "  runs   of\t\tspace \n\n x", "İstanbul ΣΑΣ straße", "①②③ ½ Ⅻ ٣٤", "a1b22c333", "--==>> ... !!", "▁already▁marked </w>",
             "Ünïcödé ÀÉÎ", "x\u0301\u0327y", "\u2028sep\u0085nel", "a_b a-b a.b", "日本語のテキスト、한국어 텍스트", "\U0001F600\U0001F44D\U0001F3FD"]
    r = random.Random(7)
    alphabet = HAN + LATIN + LATIN.upper() + ACCENTED + PUNCT + "  \t\n0123456789"
    rand = ["".join(r.choice(alphabet) if r.random() > 0.05 else r.choice(EMOJI) for _ in range(r.randint(1, 30))) for _ in range(60)]
    # Scripts, marks, compatibility forms, tag characters, supplementary planes: where Unicode tables differ.
    ranges = [(0x20, 0x7E), (0x09, 0x0D), (0xA0, 0x24F), (0x300, 0x36F), (0x370, 0x3FF), (0x400, 0x4FF), (0x590, 0x6FF), (0x900, 0x97F),
              (0xE00, 0xE7F), (0xF40, 0xF8F), (0x1100, 0x11FF), (0x2000, 0x206F), (0x2070, 0x218F), (0x2460, 0x24FF), (0x3000, 0x303F),
              (0x3040, 0x30FF), (0x4E00, 0x4FFF), (0xAC00, 0xAD00), (0xFB00, 0xFB4F), (0xFF00, 0xFFEF), (0x1D400, 0x1D4FF),
              (0x1F300, 0x1F6FF), (0xE0000, 0xE007F), (0x10000, 0x1007F)]
    include_wide, wide = wide, []
    for _ in range(80):
        out = []
        for _ in range(r.randint(1, 25)):
            a, b = r.choice(ranges)
            out.append(chr(r.randint(a, b)) + (" " * r.randint(1, 2) if r.random() < 0.2 else ""))
        wide.append("".join(out))
    return fixed + corpus(20, seed=99) + rand + (wide if include_wide else [])


# ---------------------------------------------------------------- tokenizers

def bpe_files(work, extra_specials=()):
    """A byte-level BPE trained by `tokenizers` on the generated corpus: (vocab.json, merges.txt) paths."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=400, special_tokens=["<|endoftext|>", *extra_specials],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(corpus(), trainer)
    os.makedirs(work, exist_ok=True)
    tok.model.save(work)
    return f"{work}/vocab.json", f"{work}/merges.txt"


def bert_vocab(work, lower=False):
    chars = sorted(set(HAN + LATIN + LATIN.upper() + ACCENTED + PUNCT + "0123456789"))
    if lower:
        chars = sorted(set(c.lower() for c in chars))
    words = ["hello", "world", "model", "gp", "##t", "##s", "##ing", "##llo", "##orld", "##a", "##b", "##e", "##o", "##1", "##2", "##3", "##4"]
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + chars + ["##" + c for c in chars if c.isalnum()] + words
    seen, out = set(), []
    for t in vocab:
        if t not in seen:
            seen.add(t)
            out.append(t)
    os.makedirs(work, exist_ok=True)
    path = f"{work}/vocab.txt"
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(out) + "\n")
    return path


def tok_gpt2(out, work, **kw):
    v, m = bpe_files(work)
    t = GPT2Tokenizer(vocab=v, merges=m, **kw) if "vocab" in GPT2Tokenizer.__init__.__code__.co_varnames else GPT2Tokenizer(v, m, **kw)
    t.save_pretrained(out)
    return t


def tok_gpt2_added(out, work):
    v, m = bpe_files(work)
    t = GPT2Tokenizer(vocab=v, merges=m)
    t.add_tokens(["new_tok", "新词"])
    t.add_special_tokens({"additional_special_tokens": ["<extra_special>"], "pad_token": "<|pad|>"})
    t.save_pretrained(out)


def tok_gpt2_slow_files(out, work, version_header=True, config=True):
    v, m = bpe_files(work)
    os.makedirs(out, exist_ok=True)
    with open(v) as f:
        vocab = f.read()
    with open(m) as f:
        merges = f.read()
    if not version_header and merges.startswith("#version"):
        merges = merges.split("\n", 1)[1]
    if version_header and not merges.startswith("#version"):
        merges = "#version: 0.2\n" + merges
    open(f"{out}/vocab.json", "w").write(vocab)
    open(f"{out}/merges.txt", "w").write(merges)
    if config:
        json.dump({"tokenizer_class": "GPT2Tokenizer", "model_max_length": 1024, "bos_token": "<|endoftext|>",
                   "eos_token": "<|endoftext|>", "unk_token": "<|endoftext|>"}, open(f"{out}/tokenizer_config.json", "w"))


def tok_roberta(out, work):
    v, m = bpe_files(work, extra_specials=["<s>", "<pad>", "</s>", "<unk>", "<mask>"])
    RobertaTokenizer(vocab=v, merges=m).save_pretrained(out)


def tok_bytelevel_raw(out, work, add_prefix_space=False, lowercase=False, nfkc=False, trim=True):
    """`tokenizers` alone: tokenizer.json only (no tokenizer_config.json), as a user training their own."""
    tok = Tokenizer(models.BPE())
    norms = ([normalizers.NFKC()] if nfkc else []) + ([normalizers.Lowercase()] if lowercase else [])
    if norms:
        tok.normalizer = normalizers.Sequence(norms) if len(norms) > 1 else norms[0]
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=add_prefix_space, trim_offsets=trim)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=trim)
    trainer = trainers.BpeTrainer(vocab_size=400, special_tokens=["<|endoftext|>"], initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  show_progress=False)
    tok.train_from_iterator(corpus(), trainer)
    os.makedirs(out, exist_ok=True)
    tok.save(f"{out}/tokenizer.json")


def tok_bpe_split_bytelevel(out, work):
    """The pre-tokenizer newer `tokenizers` converters write: Sequence[Split(GPT-2 regex), ByteLevel(use_regex=False)]."""
    tok_bytelevel_raw(out, work)
    path = f"{out}/tokenizer.json"
    j = json.load(open(path))
    j["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [
        {"type": "Split", "pattern": {"Regex": "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+"},
         "behavior": "Isolated", "invert": False},
        {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}]}
    json.dump(j, open(path, "w"), ensure_ascii=False)


def tok_wordpiece_raw(out, work, normalizer="bert", pre="bert"):
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = {"bert": normalizers.BertNormalizer(lowercase=False),
                      "seq": normalizers.Sequence([normalizers.NFD(), normalizers.Lowercase(), normalizers.StripAccents()]),
                      "nfkc": normalizers.NFKC()}[normalizer]
    tok.pre_tokenizer = {"bert": pre_tokenizers.BertPreTokenizer(), "ws": pre_tokenizers.Whitespace()}[pre]
    tok.decoder = decoders.WordPiece()
    trainer = trainers.WordPieceTrainer(vocab_size=500, special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"], show_progress=False)
    tok.train_from_iterator(corpus(), trainer)
    cls, sep = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
                                                       special_tokens=[("[CLS]", cls), ("[SEP]", sep)])
    os.makedirs(out, exist_ok=True)
    tok.save(f"{out}/tokenizer.json")


def tok_bert(out, work, slow=False, lower=False, **kw):
    v = bert_vocab(work, lower=lower)
    cls = BertTokenizerLegacy if slow else BertTokenizer
    t = cls(vocab_file=v, do_lower_case=lower, **kw) if slow else cls(vocab=v, do_lower_case=lower, **kw)
    t.save_pretrained(out)
    if slow:
        for f in ("tokenizer.json",):
            if os.path.exists(f"{out}/{f}"):
                os.remove(f"{out}/{f}")
    return t


def tok_bert_added(out, work, slow):
    v = bert_vocab(work)
    t = BertTokenizerLegacy(vocab_file=v, do_lower_case=False) if slow else BertTokenizer(vocab=v, do_lower_case=False)
    t.add_tokens(["new_tok", "新词"])
    t.add_special_tokens({"additional_special_tokens": ["<extra_special>"]})
    t.save_pretrained(out)


def tok_bert_without_tokenizer_json(out, work, lower=False, **kw):
    """BertTokenizer saved by transformers, then tokenizer.json deleted, with the `clean_up_tokenization_spaces: true`
    transformers 4 wrote: the folder a user gets from an older hub model (vocab.txt + configs)."""
    tok_bert(out, work, lower=lower, **kw)
    os.remove(f"{out}/tokenizer.json")
    if not os.path.exists(f"{out}/vocab.txt"):  # transformers 5 saves tokenizer.json only
        open(f"{out}/vocab.txt", "w", encoding="utf-8").write(open(f"{work}/vocab.txt", encoding="utf-8").read())
    c = json.load(open(f"{out}/tokenizer_config.json"))
    c["clean_up_tokenization_spaces"] = True
    json.dump(c, open(f"{out}/tokenizer_config.json", "w"), ensure_ascii=False, indent=2)


def tok_bert_added_json(out, work):
    """An older transformers' layout: vocab.txt + added_tokens.json + special_tokens_map.json, no added_tokens_decoder."""
    v = bert_vocab(work)
    os.makedirs(out, exist_ok=True)
    lines = open(v, encoding="utf-8").read().splitlines()
    open(f"{out}/vocab.txt", "w", encoding="utf-8").write("\n".join(lines) + "\n")
    json.dump({"new_tok": len(lines), "新词": len(lines) + 1}, open(f"{out}/added_tokens.json", "w"), ensure_ascii=False)
    json.dump({"unk_token": "[UNK]", "sep_token": "[SEP]", "pad_token": "[PAD]", "cls_token": "[CLS]", "mask_token": "[MASK]"},
              open(f"{out}/special_tokens_map.json", "w"))
    json.dump({"do_lower_case": False, "tokenizer_class": "BertTokenizer", "model_max_length": 512}, open(f"{out}/tokenizer_config.json", "w"))


def tok_tokenizers_class(out, work, kind):
    """The high-level classes of `tokenizers` (BertWordPieceTokenizer, CharBPETokenizer, SentencePieceBPETokenizer)."""
    from tokenizers import BertWordPieceTokenizer, CharBPETokenizer, SentencePieceBPETokenizer
    if kind == "bert":
        tok = BertWordPieceTokenizer(lowercase=False)
        tok.train_from_iterator(corpus(), vocab_size=500, special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"], show_progress=False)
    elif kind == "char":
        tok = CharBPETokenizer()
        tok.train_from_iterator(corpus(), vocab_size=400, special_tokens=["<unk>", "</s>"], show_progress=False)
    else:
        tok = SentencePieceBPETokenizer()
        tok.train_from_iterator(corpus(), vocab_size=400, special_tokens=["<unk>", "</s>"], show_progress=False)
    os.makedirs(out, exist_ok=True)
    tok.save(f"{out}/tokenizer.json")


LLAMA3_REGEX = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"

# -- general tokenizer.json pipelines (normalizer → pre-tokenizer → model → decoder) as users build them with `tokenizers`

SPECIALS = ["[UNK]", "[CLS]", "[SEP]", "[PAD]", "[MASK]", "<|endoftext|>"]


def save_raw(tok, out):
    os.makedirs(out, exist_ok=True)
    tok.save(f"{out}/tokenizer.json")


def tok_bpe_pipeline(out, work, normalizer=None, pre=None, decoder=None, vocab_size=400, unk="[UNK]", specials=SPECIALS, alphabet=None, **bpe):
    """A BPE trained by `tokenizers` with the given pipeline (quicktour style: BPE(unk_token="[UNK]") + Whitespace)."""
    tok = Tokenizer(models.BPE(unk_token=unk, **bpe))
    if normalizer is not None:
        tok.normalizer = normalizer
    if pre is not None:
        tok.pre_tokenizer = pre
    if decoder is not None:
        tok.decoder = decoder
    kw = {k: bpe[k] for k in ("continuing_subword_prefix", "end_of_word_suffix") if k in bpe}
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=list(specials), show_progress=False,
                                  **({"initial_alphabet": alphabet} if alphabet else {}), **kw)
    tok.train_from_iterator(corpus(), trainer)
    save_raw(tok, out)


def tok_bert_from_scratch(out, work):
    """The `tokenizers` docs' "BERT from scratch": WordPiece + Sequence[NFD, Lowercase, StripAccents] + Whitespace
    + TemplateProcessing + WordPiece decoder."""
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.Sequence([normalizers.NFD(), normalizers.Lowercase(), normalizers.StripAccents()])
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    trainer = trainers.WordPieceTrainer(vocab_size=500, special_tokens=["[UNK]", "[CLS]", "[SEP]", "[PAD]", "[MASK]"], show_progress=False)
    tok.train_from_iterator(corpus(), trainer)
    tok.post_processor = processors.TemplateProcessing(single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
                                                       special_tokens=[("[CLS]", tok.token_to_id("[CLS]")), ("[SEP]", tok.token_to_id("[SEP]"))])
    tok.decoder = decoders.WordPiece(prefix="##")
    save_raw(tok, out)


def tok_llama_style(out, work, ignore_merges=False):
    """SentencePiece-style BPE as newer converters write it: Prepend("▁") + Replace(" ", "▁"), no pre-tokenizer,
    byte_fallback with <0x00>…<0xFF> in the vocabulary, decoder Replace + ByteFallback + Fuse + Strip."""
    tok = Tokenizer(models.BPE(unk_token="<unk>", byte_fallback=True, fuse_unk=True))
    tok.normalizer = normalizers.Sequence([normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")])
    tok.decoder = decoders.Sequence([decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse(), decoders.Strip(" ", 1, 0)])
    trainer = trainers.BpeTrainer(vocab_size=400, special_tokens=["<unk>", "<s>", "</s>"], show_progress=False)
    tok.train_from_iterator(corpus(), trainer)
    j = json.loads(tok.to_str())
    vocab = j["model"]["vocab"]
    # Byte tokens right after the specials, as SentencePiece orders them; everything else shifted.
    order = sorted(vocab, key=vocab.get)
    specials = [t for t in order if t in ("<unk>", "<s>", "</s>")]
    rest = [t for t in order if t not in specials]
    tokens = specials + [f"<0x{b:02X}>" for b in range(256)] + rest
    j["model"]["vocab"] = {t: i for i, t in enumerate(tokens)}
    j["model"]["ignore_merges"] = ignore_merges
    for a in j["added_tokens"]:
        a["id"] = j["model"]["vocab"][a["content"]]
    j["post_processor"] = None
    os.makedirs(out, exist_ok=True)
    Tokenizer.from_str(json.dumps(j)).save(f"{out}/tokenizer.json")


def tok_edit(base, edit):
    """A folder made by `base`, then its tokenizer.json changed by `edit(json)` (fields `tokenizers` reads but its
    Python classes do not expose)."""
    def make(out, work):
        base(out, work)
        j = json.load(open(f"{out}/tokenizer.json"))
        edit(j)
        Tokenizer.from_str(json.dumps(j)).save(f"{out}/tokenizer.json")
    return make


def tok_tokenizers_bytelevel_class(out, work):
    from tokenizers import ByteLevelBPETokenizer
    tok = ByteLevelBPETokenizer(add_prefix_space=True, lowercase=True)
    tok.train_from_iterator(corpus(), vocab_size=400, special_tokens=["<|endoftext|>"], show_progress=False)
    save_raw(tok, out)



def tok_unigram(out, work):
    tok = Tokenizer(models.Unigram())
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.decoder = decoders.Metaspace()
    tok.train_from_iterator(corpus(), trainers.UnigramTrainer(vocab_size=300, special_tokens=["<unk>", "</s>"], unk_token="<unk>", show_progress=False))
    save_raw(tok, out)


def tok_gpt2_class_normalizer(out, work):
    """A tokenizer.json with a normaliser under tokenizer_class GPT2Tokenizer: transformers' GPT-2 class
    rebuilds its own pipeline, so pipe refuses rather than guess which one applies."""
    tok_bytelevel_raw(out, work, lowercase=True)
    json.dump({"tokenizer_class": "GPT2Tokenizer", "eos_token": "<|endoftext|>"}, open(f"{out}/tokenizer_config.json", "w"))


TOKENIZERS = {
    "gpt2": lambda o, w: tok_gpt2(o, w),
    "gpt2-prefix-space": lambda o, w: tok_gpt2(o, w, add_prefix_space=True),
    "gpt2-added": tok_gpt2_added,
    "gpt2-slow-files": lambda o, w: tok_gpt2_slow_files(o, w),
    "gpt2-slow-files-noheader": lambda o, w: tok_gpt2_slow_files(o, w, version_header=False),
    "roberta": tok_roberta,
    "bytelevel-raw": lambda o, w: tok_bytelevel_raw(o, w),
    "bytelevel-raw-prefix": lambda o, w: tok_bytelevel_raw(o, w, add_prefix_space=True),
    "bytelevel-raw-lower": lambda o, w: tok_bytelevel_raw(o, w, lowercase=True),
    "bytelevel-raw-nfkc-lower": lambda o, w: tok_bytelevel_raw(o, w, lowercase=True, nfkc=True),
    "bytelevel-split-seq": tok_bpe_split_bytelevel,
    "wordpiece-raw": lambda o, w: tok_wordpiece_raw(o, w),
    "wordpiece-raw-seqnorm": lambda o, w: tok_wordpiece_raw(o, w, normalizer="seq"),
    "wordpiece-raw-nfkc": lambda o, w: tok_wordpiece_raw(o, w, normalizer="nfkc"),
    "wordpiece-raw-whitespace": lambda o, w: tok_wordpiece_raw(o, w, pre="ws"),
    "tokenizers-bert-wordpiece": lambda o, w: tok_tokenizers_class(o, w, "bert"),
    "tokenizers-char-bpe": lambda o, w: tok_tokenizers_class(o, w, "char"),
    "tokenizers-sentencepiece-bpe": lambda o, w: tok_tokenizers_class(o, w, "sentencepiece"),
    "tokenizers-bytelevel-bpe-class": tok_tokenizers_bytelevel_class,
    "bpe-quicktour-whitespace": lambda o, w: tok_bpe_pipeline(o, w, pre=pre_tokenizers.Whitespace()),
    "bpe-whitespacesplit-lower-strip": lambda o, w: tok_bpe_pipeline(
        o, w, normalizer=normalizers.Sequence([normalizers.Strip(), normalizers.Lowercase(), normalizers.NFKD(), normalizers.StripAccents()]),
        pre=pre_tokenizers.WhitespaceSplit()),
    "bpe-punct-digits": lambda o, w: tok_bpe_pipeline(
        o, w, normalizer=normalizers.NFC(), pre=pre_tokenizers.Sequence([pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Punctuation(),
                                                                          pre_tokenizers.Digits(individual_digits=True)])),
    "bpe-punct-behaviors": lambda o, w: tok_bpe_pipeline(
        o, w, normalizer=normalizers.NFKC(), pre=pre_tokenizers.Sequence([
            pre_tokenizers.Punctuation("merged_with_previous"), pre_tokenizers.Digits(individual_digits=False),
            pre_tokenizers.Split(" ", "merged_with_next"), pre_tokenizers.Split("a", "contiguous"), pre_tokenizers.Split("e", "merged_with_previous", invert=True)])),
    "bpe-split-isolated-chardelim": lambda o, w: tok_bpe_pipeline(
        o, w, normalizer=normalizers.Replace("’", "'"), pre=pre_tokenizers.Sequence([
            pre_tokenizers.CharDelimiterSplit(" "), pre_tokenizers.Split("o", "isolated"), pre_tokenizers.Split("l", "merged_with_previous")])),
    "bpe-bert-pre-prefix": lambda o, w: tok_bpe_pipeline(
        o, w, normalizer=normalizers.BertNormalizer(lowercase=True), pre=pre_tokenizers.BertPreTokenizer(),
        decoder=decoders.WordPiece()),
    "bpe-metaspace-first": lambda o, w: tok_bpe_pipeline(
        o, w, normalizer=normalizers.NFKC(), pre=pre_tokenizers.Metaspace(prepend_scheme="first"),
        decoder=decoders.Metaspace(prepend_scheme="first"), unk="<unk>", specials=["<unk>", "<s>", "</s>"]),
    "bpe-metaspace-never-nosplit": lambda o, w: tok_bpe_pipeline(
        o, w, pre=pre_tokenizers.Metaspace(replacement="_", prepend_scheme="never", split=False),
        decoder=decoders.Metaspace(replacement="_", prepend_scheme="never"), unk="<unk>", specials=["<unk>", "</s>"]),
    "bpe-char-suffix-fuse-unk": lambda o, w: tok_bpe_pipeline(
        o, w, normalizer=normalizers.Lowercase(), pre=pre_tokenizers.Whitespace(), decoder=decoders.BPEDecoder(suffix="</w>"),
        end_of_word_suffix="</w>", fuse_unk=True, vocab_size=300),
    "bpe-bytelevel-noregex": lambda o, w: tok_bpe_pipeline(
        o, w, pre=pre_tokenizers.ByteLevel(add_prefix_space=True, use_regex=False), decoder=decoders.ByteLevel(), unk=None,
        specials=["<|endoftext|>"], alphabet=pre_tokenizers.ByteLevel.alphabet()),
    "bpe-bytelevel-no-alphabet": lambda o, w: tok_bpe_pipeline(
        o, w, pre=pre_tokenizers.ByteLevel(add_prefix_space=False), decoder=decoders.ByteLevel(), unk=None, specials=["<|endoftext|>"]),
    "bpe-split-gpt2-then-bytelevel-prefix": tok_edit(tok_bpe_split_bytelevel, lambda j: j["pre_tokenizer"]["pretokenizers"][1].update(add_prefix_space=True)),
    "bpe-whitespace-ignore-merges": lambda o, w: tok_bpe_pipeline(o, w, pre=pre_tokenizers.Whitespace(), ignore_merges=True),
    "bert-from-scratch": tok_bert_from_scratch,
    "llama-style-byte-fallback": lambda o, w: tok_llama_style(o, w),
    "llama-style-ignore-merges": lambda o, w: tok_llama_style(o, w, ignore_merges=True),
    "wordpiece-nfkc-ws-strip-decoder": lambda o, w: (tok_wordpiece_raw(o, w, normalizer="nfkc", pre="ws"), tok_edit(
        lambda o2, w2: None, lambda j: j.update(decoder={"type": "Sequence", "decoders": [
            {"type": "WordPiece", "prefix": "##", "cleanup": False}, {"type": "Strip", "content": " ", "start": 1, "stop": 1}]}))(o, w)),
    "bpe-split-llama3-regex": tok_edit(tok_bpe_split_bytelevel, lambda j: j["pre_tokenizer"]["pretokenizers"][0]["pattern"].update(
        Regex=LLAMA3_REGEX)),
    "bpe-dropout": lambda o, w: tok_bpe_pipeline(o, w, pre=pre_tokenizers.Whitespace(), dropout=0.1),
    "bpe-unicode-scripts": lambda o, w: tok_bpe_pipeline(o, w, pre=pre_tokenizers.UnicodeScripts()),
    "unigram": tok_unigram,
    "gpt2-class-with-normalizer": tok_gpt2_class_normalizer,
    "bert-cased": lambda o, w: tok_bert(o, w),
    "bert-lower": lambda o, w: tok_bert(o, w, lower=True),
    "bert-nocjk": lambda o, w: tok_bert(o, w, tokenize_chinese_chars=False),
    "bert-strip-true": lambda o, w: tok_bert(o, w, strip_accents=True),
    "bert-strip-false-lower": lambda o, w: tok_bert(o, w, lower=True, strip_accents=False),
    "bert-slow-cased": lambda o, w: tok_bert(o, w, slow=True),
    "bert-slow-lower": lambda o, w: tok_bert(o, w, slow=True, lower=True),
    "bert-slow-nocjk": lambda o, w: tok_bert(o, w, slow=True, tokenize_chinese_chars=False),
    "bert-slow-strip-true": lambda o, w: tok_bert(o, w, slow=True, strip_accents=True),
    "bert-slow-strip-false-lower": lambda o, w: tok_bert(o, w, slow=True, lower=True, strip_accents=False),
    "bert-vocab-only-cased": lambda o, w: tok_bert_without_tokenizer_json(o, w),
    "bert-vocab-only-lower": lambda o, w: tok_bert_without_tokenizer_json(o, w, lower=True),
    "bert-vocab-only-nocjk-strip": lambda o, w: tok_bert_without_tokenizer_json(o, w, tokenize_chinese_chars=False, strip_accents=True),
    "bert-added": lambda o, w: tok_bert_added(o, w, slow=False),
    "bert-slow-added": lambda o, w: tok_bert_added(o, w, slow=True),
    "bert-added-tokens-json": tok_bert_added_json,
}

# ---------------------------------------------------------------- models

MODELS = {
    "base": {},
    "act-gelu": {"activation_function": "gelu"},
    "act-gelu-pytorch-tanh": {"activation_function": "gelu_pytorch_tanh"},
    "act-gelu-fast": {"activation_function": "gelu_fast"},
    "act-relu": {"activation_function": "relu"},
    "act-quick-gelu": {"activation_function": "quick_gelu"},
    "act-silu": {"activation_function": "silu"},
    "n-inner-4x": {"n_inner": 64},
    "n-inner-40": {"n_inner": 40},
    "eps-1e-3": {"layer_norm_epsilon": 1e-3},
    "eps-1e-12": {"layer_norm_epsilon": 1e-12},
    "no-scale-attn": {"scale_attn_weights": False},
    "inverse-layer-idx": {"scale_attn_by_inverse_layer_idx": True},
    "reorder-upcast": {"reorder_and_upcast_attn": True},
    "untied": {"tie_word_embeddings": False},
    "positions-lt-ctx": {"n_positions": 24, "n_ctx": 32},
    "fp16": {"_dtype": torch.float16},
    "bf16": {"_dtype": torch.bfloat16},
    "dtype-field-f16": {"_config_dtype": "float16"},
    "sharded": {"_shard": "10KB"},
    "seqcls-1": {"_class": "seqcls", "num_labels": 1},
    "seqcls-2": {"_class": "seqcls", "num_labels": 2},
    "bare-gpt2model": {"_class": "bare"},
    "vocab-padded": {"_vocab_extra": 13},
    "vocab-short": {"_vocab_extra": -5},
    "one-layer": {"n_layer": 1},
    "cross-attention": {"add_cross_attention": True},
    "bos-eos-ids": {"bos_token_id": 50256, "eos_token_id": 50256, "pad_token_id": 0},
    "double-heads": {"_class": "double"},
    "pytorch-bin-only": {"_safe": False},
    "pytorch-bin-fp16": {"_safe": False, "_dtype": torch.float16},
    "pytorch-bin-untied": {"_safe": False, "tie_word_embeddings": False},
    "pytorch-bin-sharded": {"_safe": False, "_bin_shards": 2},
}


def make_model(out, vocab_size, variant):
    torch.manual_seed(0)
    spec = dict(MODELS[variant])
    dtype, shard, kind = spec.pop("_dtype", None), spec.pop("_shard", None), spec.pop("_class", "lm")
    config_dtype, extra = spec.pop("_config_dtype", None), spec.pop("_vocab_extra", 0)
    safe, bin_shards = spec.pop("_safe", True), spec.pop("_bin_shards", 1)
    settings = dict(vocab_size=vocab_size + extra, n_positions=32, n_embd=16, n_layer=2, n_head=2, resid_pdrop=0, embd_pdrop=0,
                    attn_pdrop=0, bos_token_id=None, eos_token_id=None)
    settings.update(spec)
    config = GPT2Config(**settings)
    from transformers import GPT2DoubleHeadsModel
    model = {"lm": GPT2LMHeadModel, "seqcls": GPT2ForSequenceClassification, "bare": GPT2Model, "double": GPT2DoubleHeadsModel}[kind](config)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() == 1:
                p.normal_(0, 0.3)
        if kind == "lm" and not config.tie_word_embeddings:
            model.lm_head.weight.normal_(0, 0.5)
    if dtype is not None:
        model = model.to(dtype)
    if not safe:  # what old hub folders hold: config.json + pytorch_model.bin (or .bin shards + index, as transformers 4 wrote)
        config.save_pretrained(out)
        state = model.state_dict()
        if bin_shards == 1:
            torch.save(state, f"{out}/pytorch_model.bin")
            return
        names, weight_map = [k for k in state if k != "lm_head.weight"], {}
        for i in range(bin_shards):
            shard = f"pytorch_model-{i + 1:05d}-of-{bin_shards:05d}.bin"
            part = names[i::bin_shards]
            torch.save({k: state[k] for k in part}, f"{out}/{shard}")
            weight_map.update({k: shard for k in part})
        with open(f"{out}/pytorch_model.bin.index.json", "w") as f:
            json.dump({"metadata": {"total_size": sum(v.numel() * v.element_size() for v in state.values())}, "weight_map": weight_map}, f)
        return
    model.save_pretrained(out, **({"max_shard_size": shard} if shard else {}))
    if config_dtype:
        c = json.load(open(f"{out}/config.json"))
        c["torch_dtype"] = config_dtype
        c["dtype"] = config_dtype
        json.dump(c, open(f"{out}/config.json", "w"), indent=2)


def measure(directory):
    """What transformers computes on a folder: ids and decodings of the test strings, logits of fixed ids.
    A bare tokenizer.json (no tokenizer_config.json) is measured with `tokenizers` itself: AutoTokenizer
    would pick the class from config.json's model_type and rebuild it as GPT-2's BPE."""
    tok = AutoTokenizer.from_pretrained(directory)
    result = {"tokenizer_class": type(tok).__name__, "cases": []}
    raw = None
    if not os.path.exists(f"{directory}/tokenizer_config.json") and os.path.exists(f"{directory}/tokenizer.json"):
        raw = Tokenizer.from_file(f"{directory}/tokenizer.json")
        result["tokenizer_class"] = "tokenizers.Tokenizer"
    # transformers' slow BERT class (Python's unicodedata) still differs from pipe on a few rare characters
    # of the wide-Unicode strings (e.g. "\x0c\u0612"): a known gap of pipe's BertTokenizerLegacy path.
    for s in test_strings(wide=type(tok).__name__ != "BertTokenizerLegacy"):
        if raw is not None:
            ids = raw.encode(s, add_special_tokens=False).ids
            decoded, skipped = raw.decode(ids, skip_special_tokens=False), raw.decode(ids, skip_special_tokens=True)
        else:
            ids = tok(s, add_special_tokens=False)["input_ids"]
            decoded, skipped = tok.decode(ids), tok.decode(ids, skip_special_tokens=True)
        result["cases"].append({"text": s, "ids": ids, "decoded": decoded, "decoded_skip": skipped})
    config = json.load(open(f"{directory}/config.json"))
    r = random.Random(3)
    vocab = min(config["vocab_size"], len(tok))
    ids = [r.randrange(vocab) for _ in range(12)]
    result["logit_ids"] = ids
    try:
        model = GPT2LMHeadModel.from_pretrained(directory, attn_implementation="eager", dtype=torch.float32).eval()
        with torch.no_grad():
            result["logits"] = model(torch.tensor([ids])).logits[0].flatten().tolist()
    except Exception as e:  # a folder transformers itself cannot load as an LM
        result["logits_error"] = f"{type(e).__name__}: {e}"
    return result


def make(out, names):
    default_tokenizer = {"gpt": "gpt2", "bert": "bert-cased"}
    todo = []
    for t in TOKENIZERS:
        todo.append((f"tok-{t}", t, "base"))
    for m in MODELS:
        if m != "base":
            todo.append((f"model-{m}", "bert-cased", m))
    todo.append(("model-base-gpt2", "gpt2", "base"))
    os.makedirs(out, exist_ok=True)
    for name, t, m in todo:
        if names and name not in names:
            continue
        folder = f"{out}/{name}"
        with tempfile.TemporaryDirectory() as work:
            try:
                TOKENIZERS[t](folder, work)
                tok = AutoTokenizer.from_pretrained(folder)
                make_model(folder, len(tok), m)
                json.dump(measure(folder), open(f"{folder}/zoo.json", "w"), ensure_ascii=False)
                print("made", name)
            except Exception as e:
                print("FAILED", name, type(e).__name__, e, file=sys.stderr)


if __name__ == "__main__":
    command = sys.argv[1]
    if command == "make":
        make(sys.argv[2], set(sys.argv[3:]))
    elif command == "check":
        json.dump(measure(sys.argv[2]), open(sys.argv[3], "w"), ensure_ascii=False)
    elif command == "list":
        print("\n".join(sorted(TOKENIZERS) + sorted(MODELS)))
