#!/usr/bin/env python3
"""Builds the context-selection task of pipelines/context-select.yaml (the ChatGLM RLHF task)
deterministically from People's Daily January 1998 (scripts/fetch-data.sh; words tagged `word/pos`).

  context_select_data.py NEWS_FILE SFT_DIR PREFERENCE_DIR PROMPTS_DIR [SFT PREFERENCE PROMPTS [ITEMS]]

The titles are the corpus's most frequent proper names (PER_CATEGORY of each) with the category its
tags give them: 人名 (nr; a surname and a given name tagged nr in a row are one name), 地名 (ns),
机构 (nt). A prompt lists ITEMS titles
(default 5), each with its category, and asks for a title of one category, which one or two of the
listed titles have:

  江泽民（人名）香港（地名）新华社（机构）北京（地名）李鹏（人名）
  哪一个是地名？

The answer is one of them (written as `香港》` after the template's `答：《`, so an answer ends at `》`
even when the sampler goes on after the end of text); `answers` lists every right answer, which the
`set_membership` reward rule checks (+1 when the answer is listed and of the asked category, −1
otherwise, as the ChatGLM RLHF project scores).

SFT_DIR/sft.jsonl                {"instruction", "output", "answers", "category"} (Alpaca): prompt → a right answer
PREFERENCE_DIR/preference.jsonl  {"instruction", "output": [chosen, rejected], "answers", "category"} (ChatGLM
                                 pairs): a right answer over a random wrong one (a listed title of another
                                 category, or a title of the asked category that is not listed)
PROMPTS_DIR/prompts.jsonl        {"instruction", "answers", "category"}: prompts for PPO and evaluation

Every choice comes from one random.Random seeded with a constant and drawn through random() only (the
one method whose sequence Python guarantees across versions), so the output depends only on the news
file and the counts.
"""
import json
import os
import random
import sys

CATEGORIES = [("nr", "人名"), ("ns", "地名"), ("nt", "机构")]
SEED = 1998
# Titles per category: the most frequent names, so a small model's BPE keeps each whole (one or two
# tokens) and the task is choosing by category, not spelling out rare names.
PER_CATEGORY = 20


def titles(path):
    """The PER_CATEGORY most frequent proper names of each category tag, sorted (ties by name)."""
    found = {tag: {} for tag, _ in CATEGORIES}
    for raw in open(path, encoding="utf-8"):
        words = [w.rsplit("/", 1) for w in raw.split()]
        words = [w if len(w) == 2 else [w[0], ""] for w in words]
        i = 0
        while i < len(words):
            word, tag = words[i]
            if tag == "nr" and i + 1 < len(words) and words[i + 1][1] == "nr":
                word, i = word + words[i + 1][0], i + 1
            if tag in found and 2 <= len(word) <= 6 and all("\u4e00" <= c <= "\u9fff" for c in word):
                found[tag][word] = found[tag].get(word, 0) + 1
            i += 1
    top = {tag: sorted(counts, key=lambda w: (-counts[w], w))[:PER_CATEGORY] for tag, counts in found.items()}
    return {tag: sorted(names) for tag, names in top.items()}


def pick(rng, items):
    return items[int(rng.random() * len(items))]


def prompt(rng, names, items):
    """One prompt: (instruction, asked category, right answers, listed (title, category) pairs)."""
    asked_tag, asked = pick(rng, CATEGORIES)
    members = 1 + int(rng.random() * 2)
    listed, used = [], set()

    def draw(tag):
        # names[tag] holds at least 2 × items titles (checked in main), so a fresh one is always there.
        while True:
            title = pick(rng, names[tag])
            if title not in used:
                used.add(title)
                return title

    for _ in range(members):
        listed.append((draw(asked_tag), asked_tag))
    others = [tag for tag, _ in CATEGORIES if tag != asked_tag]
    while len(listed) < items:
        tag = pick(rng, others)
        listed.append((draw(tag), tag))
    # Shuffle (Fisher–Yates through random()), so the right answers sit anywhere in the list.
    for i in range(len(listed) - 1, 0, -1):
        j = int(rng.random() * (i + 1))
        listed[i], listed[j] = listed[j], listed[i]
    label = dict(CATEGORIES)
    text = "".join(f"{title}（{label[tag]}）" for title, tag in listed) + f"\n哪一个是{asked}？"
    answers = [title for title, tag in listed if tag == asked_tag]
    return text, asked_tag, answers, listed, used


def write(path, rows):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n")
    os.replace(tmp, path)
    return len(rows)


def main(news, sft_dir, preference_dir, prompts_dir, sft_count=4000, preference_count=2000, prompt_count=2000, items=5):
    sft_count, preference_count, prompt_count, items = int(sft_count), int(preference_count), int(prompt_count), int(items)
    if items < 3:
        sys.exit("context_select_data.py: ITEMS must be at least 3 (one or two right answers and wrong ones)")
    names = titles(news)
    for tag, label in CATEGORIES:
        if len(names[tag]) < 2 * items:
            sys.exit(f"{news}: only {len(names[tag])} titles of category {label} ({tag}); is this the tagged People's Daily file?")
    label = dict(CATEGORIES)
    rng = random.Random(SEED)
    seen = set()

    def fresh():
        # Prompts are unique across the three files, so held-out prompts are never trained on.
        for _ in range(1000):
            made = prompt(rng, names, items)
            if made[0] not in seen:
                seen.add(made[0])
                return made
        sys.exit(f"{news}: too few titles for {sft_count + preference_count + prompt_count} different prompts; lower the counts")

    sft, preference, prompts = [], [], []
    for _ in range(sft_count):
        text, tag, answers, _, _ = fresh()
        sft.append({"instruction": text, "output": pick(rng, answers) + "》", "answers": answers, "category": label[tag]})
    for _ in range(preference_count):
        text, tag, answers, listed, used = fresh()
        wrong_listed = [title for title, t in listed if t != tag]
        if rng.random() < 0.5:
            rejected = pick(rng, wrong_listed)
        else:
            rejected = pick(rng, names[tag])
            while rejected in used:
                rejected = pick(rng, names[tag])
        preference.append({"instruction": text, "output": [pick(rng, answers) + "》", rejected + "》"],
                           "answers": answers, "category": label[tag]})
    for _ in range(prompt_count):
        text, tag, answers, _, _ = fresh()
        prompts.append({"instruction": text, "answers": answers, "category": label[tag]})

    for d in (sft_dir, preference_dir, prompts_dir):
        os.makedirs(d, exist_ok=True)
    counts = {
        "sft": write(os.path.join(sft_dir, "sft.jsonl"), sft),
        "preference": write(os.path.join(preference_dir, "preference.jsonl"), preference),
        "prompts": write(os.path.join(prompts_dir, "prompts.jsonl"), prompts),
    }
    sizes = ", ".join(f"{label[tag]} {len(names[tag])}" for tag, _ in CATEGORIES)
    print(f"context_select_data: titles {sizes}; " + ", ".join(f"{k} {v} rows" for k, v in counts.items()))


if __name__ == "__main__":
    if len(sys.argv) not in (5, 8, 9):
        sys.exit(__doc__)
    main(*sys.argv[1:])
