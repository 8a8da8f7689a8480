#!/usr/bin/env python3
"""Builds small deterministic tokenizers with the Hugging Face `tokenizers` package and writes what it
encodes and decodes for thousands of test strings: the goldens pipe's Swift tokenizers must reproduce.

Usage (venv with `pip install tokenizers`):
  python Tests/TokenizerTests/make_tokenizer_goldens.py                  # rewrite Tests/TokenizerTests/Goldens
  python Tests/TokenizerTests/make_tokenizer_goldens.py --out DIR --seed 7 --count 3000 --all-code-points
      (the opt-in live test: fresh strings, plus every code point in chunks, into DIR)

Written into the output folder:
  wordpiece-vocab.txt                 WordPiece vocabulary (CJK characters, ## pieces, punctuation, emoji, …)
  wordpiece-cased/tokenizer.json      BertNormalizer(lowercase=False) — like uer/gpt2-chinese-cluecorpussmall
  wordpiece-cased-vocab/              the same tokenizer as a bare vocab.txt + tokenizer_config.json
  wordpiece-uncased/tokenizer.json    lowercase=True (so accents are stripped: NFD, drop Mn)
  wordpiece-nocjk/tokenizer.json      handle_chinese_chars=False, strip_accents=True, no decoder cleanup
  wordpiece-added/tokenizer.json      uncased, plus added tokens past the vocabulary: normalised ("iPhone",
                                      "新词"), single-word ("ok"), and [MASK] with lstrip/rstrip (goldens for
                                      the first 800 strings only, to keep the fixtures small)
  bpe/tokenizer.json                  GPT-2-style byte-level BPE trained by `tokenizers` on generated text
  bpe-added/tokenizer.json            that BPE plus added tokens as GPT2TokenizerFast.add_tokens /
                                      add_special_tokens write them: special (<|im_start|>), ordinary
                                      ("<think>", "新词"), lstrip/rstrip ("<sep>"), single-word ("okk"); its
                                      strings are bpe-added.strings.jsonl (targeted ones, then the first 600),
                                      and "split" holds the ids with special tokens encoded as text
                                      (`encode_special_tokens`, pipe's allowSpecial: false)
  gpt2-transformers/                  that BPE as `transformers`' GPT2TokenizerFast saves it (GPT-2's own
                                      layout: tokenizer.json, vocab.json, merges.txt, configs); skipped
                                      when `transformers` is not installed
  bert-transformers/                  wordpiece-cased-vocab loaded by AutoTokenizer (checked to encode like
                                      wordpiece-cased) and saved by `transformers` (skipped without it)
  strings.jsonl                       one JSON string per line
  <name>.golden.jsonl                 per string: {"ids": [...], "decoded": "..."} ("decoded" omitted when it
                                      equals the string; "skip" added when decode(skip_special_tokens=True)
                                      differs), add_special_tokens=False
  <name>.special.jsonl                the first strings with add_special_tokens=True: {"ids": [...]}
"""
import argparse
import json
import os
import random

from tokenizers import AddedToken, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

SPECIALS = ["[PAD]"] + [f"[unused{i}]" for i in range(1, 6)] + ["[UNK]", "[CLS]", "[SEP]", "[MASK]"]
COMMON_HAN = (
    "的一是不了人我在有他这为之大来以个中上们到说国和地也子时道出而要于就下得可你年生自会那后能对着事其里所去行过家"
    "十用发天如然作方成者多日都三小军二无同么经法当起与好看学进种将还分此心前面又定见只主没公从电影很收货感觉实话真"
    "购物总体验推荐失望般值得满意差劲次再价格买东西质量快递服务态度包装便宜贵喜欢讨厌非常特别还行一般太棒了垃圾"
    "手机屏幕电池系统速度卡顿拍照效果声音清晰颜色漂亮尺寸合适穿舒服鞋子衣服裤子味道吃饭店老板朋友推荐下次"
    "部刚说实话强烈世界文混合英语人们长短高低新旧开关门窗水火山风雨雪花草树木鸟鱼马牛羊猫狗"
)
RARE_HAN = "龘靐齉爩麤鱻𠀀𪚥𠮷豈更車賈滑"  # some outside the vocabulary, CJK extension B, compatibility ideographs
CJK_PUNCT = "，。！？、；：“”‘’（）《》【】…—～·「」"
EMOJI = ["😀", "👍", "👍🏽", "🎉", "❤️", "😡", "👨‍👩‍👧", "🇨🇳", "🥰", "🙏", "✨", "💯"]
WORDS = ["the", "movie", "was", "good", "bad", "great", "phone", "delivery", "slow", "fast", "hello", "world",
         "play", "playing", "played", "player", "unbelievable", "iPhone", "Apple", "OK", "ok", "don't", "I'm",
         "it's", "we've", "they're", "do", "not", "café", "naïve", "Ångström", "façade", "résumé", "Straße",
         "İstanbul", "ıi", "ﬁne", "Ωmega", "ΣΊΣΥΦΟΣ", "привет", "мир", "안녕하세요", "한국어", "こんにちは", "カタカナ",
         "สวัสดี", "مرحبا", "नमस्ते", "a\u0301", "e\u0316\u0301", "o\u0301\u0316", "u\u0308\u0304", "x\u20dd", "##", "##ing"]
CONTROLS = ["\x00", "\x01", "\x07", "\x0b", "\x0c", "\x7f", "\x85", "\u200b", "\u200d", "\ufeff", "\ufffd",
            "\u00ad", "\u2028", "\u2029", "\u00a0", "\u3000", "\u2003", "\t", "\n", "\r\n", "\ue000", "\U000F0001"]
UNI_PUNCT = ["—", "…", "¿", "¡", "«", "»", "〈", "〉", "\u2e50", "〜", "§", "¶", "·", "•", "※", "‰", "′", "〃", "｡", "･"]


def wordpiece_vocab():
    """A BERT-style vocabulary: specials, punctuation, digits, letters and ## pieces, words, CJK."""
    vocab = list(SPECIALS)
    vocab += list("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")
    vocab += [str(d) for d in range(10)] + [f"##{d}" for d in range(10)] + ["10", "99", "100", "2026", "##00"]
    vocab += [chr(c) for c in range(ord("a"), ord("z") + 1)] + [f"##{chr(c)}" for c in range(ord("a"), ord("z") + 1)]
    vocab += [chr(c) for c in range(ord("A"), ord("Z") + 1)]
    vocab += ["the", "movie", "was", "good", "bad", "great", "phone", "hello", "world", "play", "##ing", "##ed",
              "##er", "##s", "##ly", "##able", "un", "##bel", "##ie", "##v", "I", "i", "OK", "ok", "don", "do", "not",
              "it", "we", "they", "##re", "##ve", "##m", "##t", "##phone", "Apple", "apple", "café", "cafe", "naive",
              "##ï", "##é", "é", "è", "ü", "ñ", "ç", "ß", "##ß", "Ω", "ω", "σ", "ς", "##ς", "##σ", "##ι", "##υ", "##φ",
              "##ο", "п", "##р", "##и", "##в", "##е", "##т", "м", "##и", "##р", "안", "##녕", "##하", "##세", "##요",
              "한", "##국", "##어", "ᄒ", "##ᅡ", "##ᆫ", "こ", "##ん", "##に", "##ち", "##は", "カ", "##タ", "ส", "م",
              "न", "##म", "##स", "##्", "##ते", "fine", "##ne", "ﬁ", "##—", "—", "…", "¿", "¡", "«", "»", "·"]
    vocab += list(CJK_PUNCT) + ["##，", "##的"]
    vocab += EMOJI[:6] + ["##🏽", "❤", "##️"]
    han = sorted(set(COMMON_HAN))
    vocab += han + [f"##{c}" for c in han[:80]] + ["龘", "𠀀", "豈", "車"]
    seen, out = set(), []
    for t in vocab:  # keep first occurrences only: a vocabulary has unique tokens
        if t not in seen:
            seen.add(t)
            out.append(t)
    return out


def wordpiece_tokenizer(vocab, lowercase, chinese, strip, cleanup=True):
    tok = Tokenizer(models.WordPiece({t: i for i, t in enumerate(vocab)}, unk_token="[UNK]", max_input_chars_per_word=100))
    tok.normalizer = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=chinese, strip_accents=strip, lowercase=lowercase)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece(prefix="##", cleanup=cleanup)
    cls, sep = vocab.index("[CLS]"), vocab.index("[SEP]")
    tok.post_processor = processors.TemplateProcessing(single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
                                                       special_tokens=[("[CLS]", cls), ("[SEP]", sep)])
    tok.add_special_tokens(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"])
    return tok


def wordpiece_with_added_tokens(vocab):
    tok = wordpiece_tokenizer(vocab, lowercase=True, chinese=True, strip=None)
    tok.add_tokens([AddedToken("iPhone", normalized=True), AddedToken("新词", normalized=True),
                    AddedToken("ok", single_word=True, normalized=True), AddedToken("<eod>", normalized=False)])
    tok.add_special_tokens([AddedToken("[MASK]", lstrip=True, rstrip=True, normalized=False, special=True)])
    return tok


def bpe_corpus(rng):
    lines = []
    for _ in range(3000):
        parts = []
        for _ in range(rng.randint(1, 6)):
            kind = rng.random()
            if kind < 0.5:
                parts.append("".join(rng.choice(COMMON_HAN) for _ in range(rng.randint(2, 12))) + rng.choice(CJK_PUNCT))
            elif kind < 0.85:
                parts.append(" ".join(rng.choice(WORDS[:30]) for _ in range(rng.randint(1, 5))))
            else:
                parts.append(rng.choice(EMOJI))
        lines.append(" ".join(parts))
    return lines


def bpe_tokenizer(rng):
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(vocab_size=900, min_frequency=2, special_tokens=["<|endoftext|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(bpe_corpus(rng), trainer=trainer)
    return tok


ADDED_STRINGS = [
    "<think>嗯</think> ok", "hello<sep>world <|im_start|>user", " <|im_start|>  x<|im_end|>", "a <sep>  b<sep>c  <sep>",
    "新词新词 okk okkk xokk okk. 新词okk", "<|endoftext|>新词<|im_end|>", "<|im_start|>system\n你好<|im_end|>\n", "<think></think>",
]


def bpe_with_added_tokens(bpe):
    tok = Tokenizer.from_str(bpe.to_str())
    tok.add_special_tokens([AddedToken("<|im_start|>", special=True, normalized=False),
                            AddedToken("<|im_end|>", special=True, normalized=False)])
    tok.add_tokens([AddedToken("<think>", special=False), AddedToken("</think>", special=False), AddedToken("新词", special=False),
                    AddedToken("<sep>", lstrip=True, rstrip=True, special=False), AddedToken("okk", single_word=True, special=False)])
    return tok


def fragment(rng):
    kind = rng.random()
    if kind < 0.30:
        return "".join(rng.choice(COMMON_HAN + RARE_HAN) for _ in range(rng.randint(1, 10)))
    if kind < 0.40:
        return rng.choice(CJK_PUNCT + "".join(UNI_PUNCT))
    if kind < 0.60:
        return rng.choice(WORDS)
    if kind < 0.68:
        return rng.choice(EMOJI)
    if kind < 0.76:
        return rng.choice(CONTROLS)
    if kind < 0.84:
        return rng.choice([" ", "  ", "   ", " \t ", "\n\n", "    \n"])
    if kind < 0.90:
        return str(rng.randint(0, 100000)) + rng.choice(["", ".5", "%", "元", "￥", "$"])
    if kind < 0.955:
        return rng.choice(["[CLS]", "[SEP]", "[MASK]", "[PAD]", "[UNK]", "[sep]", "[ SEP ]", "[SEP][SEP]", "<|endoftext|>"])
    if kind < 0.965:
        return "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.choice([99, 100, 101, 150])))
    return "".join(chr(rng.randint(0x20, 0x2FFFF)) for _ in range(rng.randint(1, 4)))


def clean_surrogates(s):
    return "".join(c for c in s if not 0xD800 <= ord(c) <= 0xDFFF)


FIXED = [
    "", " ", "这部电影很好看，强烈推荐！", "刚收到货，感觉", "Hello, world! It's 2026.", "I'm sure they're fine, don't worry.",
    "iPhone手机很好用😀", "混合 Chinese and English：价格￥99.9", "emoji 👍🏽 and 家人们 🎉\n\ttabs  spaces",
    "é (e + combining ́)", "生僻字𠀀𪚥", "[CLS]你好[SEP]世界[MASK]", "[sep] lower [Sep]", "a" * 100, "a" * 101,
    "豈更車", "ＡＢＣ全角ａｂｃ１２３", "İstanbul ıi İ", "ΣΊΣΥΦΟΣ σοφός", "Straße STRASSE", "ﬁne ﬂow",
    "a\u0301\u0316 o\u0316\u0301", "\x00\x01\x7f\u200b\ufeff\ufffd", "x\u00a0y\u3000z\u2028w", "play playing played",
    "unbelievable", "##ing ## #", "do not . , ! ? ' s", "a . b , c ! d ? e ' f", "don ' t it ' s we ' ve",
    "한국어 안녕하세요", "こんにちは カタカナ", "สวัสดี مرحبا नमस्ते", "…—¿¡«»〈〉\u2e50〜", "   leading and trailing   ",
    "\n\n\n", "iPhone 新词 ok okay [MASK] x  [MASK]  y<eod>z", "1,000,000.00", "e-mail: a@b.c", "C++ & C#", "中文,English;混合.", "👨‍👩‍👧🇨🇳❤️",
    "<|endoftext|>\u200d🙏नमस्ते", "\u0600<|endoftext|>\u0301", "[SEP]\u0301[CLS]\u200d",
]


def test_strings(seed, count):
    rng = random.Random(seed)
    strings = list(FIXED)
    while len(strings) < count:
        pieces = [fragment(rng) for _ in range(rng.randint(1, 4))]
        sep = rng.choice(["", " ", ""])
        strings.append(clean_surrogates(sep.join(pieces)))
    return strings[:count]


def code_point_strings():
    """Every code point (surrogates excepted) in chunks of 32, each code point between spaces and letters."""
    points = [c for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]
    out = []
    for i in range(0, len(points), 32):
        out.append(" ".join("a" + chr(c) + "b" for c in points[i:i + 32]))
    return out


def write_jsonl(path, rows):
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False, separators=(",", ":")) + "\n")


def goldens(tok, strings):
    rows = []
    for s in strings:
        ids = tok.encode(s, add_special_tokens=False).ids
        row = {"ids": ids}
        decoded = tok.decode(ids, skip_special_tokens=False)
        if decoded != s:  # omitted when decoding gives the input back (byte-level BPE, mostly)
            row["decoded"] = decoded
        skip = tok.decode(ids, skip_special_tokens=True)
        if skip != decoded:
            row["skip"] = skip
        rows.append(row)
    return rows


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default=os.path.join(here, "Goldens"))
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--all-code-points", action="store_true")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)

    vocab = wordpiece_vocab()
    with open(os.path.join(args.out, "wordpiece-vocab.txt"), "w", encoding="utf-8", newline="\n") as f:
        f.write("".join(t + "\n" for t in vocab))
    tokenizers_by_name = {
        "wordpiece-cased": wordpiece_tokenizer(vocab, lowercase=False, chinese=True, strip=None),
        "wordpiece-uncased": wordpiece_tokenizer(vocab, lowercase=True, chinese=True, strip=None),
        "wordpiece-nocjk": wordpiece_tokenizer(vocab, lowercase=False, chinese=False, strip=True, cleanup=False),
        "bpe": bpe_tokenizer(random.Random(args.seed)),
        "wordpiece-added": wordpiece_with_added_tokens(vocab),
    }
    limits = {"wordpiece-added": 800}
    # The cased tokenizer once more as BERT's bare vocab.txt + tokenizer_config.json (no tokenizer.json).
    bare = os.path.join(args.out, "wordpiece-cased-vocab")
    os.makedirs(bare, exist_ok=True)
    with open(os.path.join(bare, "vocab.txt"), "w", encoding="utf-8", newline="\n") as f:
        f.write("".join(t + "\n" for t in vocab))
    with open(os.path.join(bare, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        json.dump({"tokenizer_class": "BertTokenizer", "do_lower_case": False, "tokenize_chinese_chars": True,
                   "strip_accents": None, "unk_token": "[UNK]", "sep_token": "[SEP]", "pad_token": "[PAD]",
                   "cls_token": "[CLS]", "mask_token": "[MASK]", "model_max_length": 1024}, f, indent=2)
        f.write("\n")

    strings = test_strings(args.seed, args.count)
    if args.all_code_points:
        strings += code_point_strings()
    write_jsonl(os.path.join(args.out, "strings.jsonl"), strings)
    for name, tok in tokenizers_by_name.items():
        os.makedirs(os.path.join(args.out, name), exist_ok=True)
        tok.save(os.path.join(args.out, name, "tokenizer.json"), pretty=False)
        write_jsonl(os.path.join(args.out, f"{name}.golden.jsonl"), goldens(tok, strings[:limits.get(name, len(strings))]))
        write_jsonl(os.path.join(args.out, f"{name}.special.jsonl"),
                    [{"ids": tok.encode(s, add_special_tokens=True).ids} for s in strings[:50]])
    added = bpe_with_added_tokens(tokenizers_by_name["bpe"])
    added_strings = ADDED_STRINGS + strings[:600]
    os.makedirs(os.path.join(args.out, "bpe-added"), exist_ok=True)
    added.save(os.path.join(args.out, "bpe-added", "tokenizer.json"), pretty=False)
    write_jsonl(os.path.join(args.out, "bpe-added.strings.jsonl"), added_strings)
    rows = goldens(added, added_strings)
    added.encode_special_tokens = True
    for row, text in zip(rows, added_strings):
        split = added.encode(text, add_special_tokens=False).ids
        if split != row["ids"]:
            row["split"] = split
    write_jsonl(os.path.join(args.out, "bpe-added.golden.jsonl"), rows)
    gpt2_layout(tokenizers_by_name["bpe"], os.path.join(args.out, "gpt2-transformers"))
    bert_layout(bare, tokenizers_by_name["wordpiece-cased"], strings, os.path.join(args.out, "bert-transformers"))


def bert_layout(bare, reference, strings, out):
    """Loads the bare vocab.txt folder with transformers' AutoTokenizer (as a user loads the Chinese GPT-2),
    checks it encodes like `reference`, and saves it the way transformers does."""
    try:
        from transformers import AutoTokenizer
    except ImportError:
        print("transformers not installed: bert-transformers/ not written")
        return
    tok = AutoTokenizer.from_pretrained(bare)
    for s in strings:
        assert tok(s, add_special_tokens=False)["input_ids"] == reference.encode(s, add_special_tokens=False).ids, s
    tok.save_pretrained(out)


def gpt2_layout(bpe, out):
    """Saves the BPE through transformers' GPT2TokenizerFast (from vocab.json + merges.txt, as GPT-2 ships)."""
    try:
        from transformers import GPT2TokenizerFast
    except ImportError:
        print("transformers not installed: gpt2-transformers/ not written")
        return
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        bpe.model.save(tmp)  # vocab.json + merges.txt
        fast = GPT2TokenizerFast.from_pretrained(tmp)
        assert len(fast) == bpe.get_vocab_size(), "transformers did not read vocab.json/merges.txt"
        fast.save_pretrained(out)


if __name__ == "__main__":
    main()
