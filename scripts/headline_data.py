#!/usr/bin/env python3
"""Builds the headline-generation task of pipelines/headline.yaml deterministically from People's Daily
January 1998 (scripts/fetch-data.sh; one paragraph a line, words tagged `word/pos`, two spaces apart).

  headline_data.py NEWS_FILE SFT_DIR PREFERENCE_DIR PROMPTS_DIR [MAX_CHARS [HELD_OUT]]

The file has no article ids and no blank lines, so articles and their titles are recovered by a
heuristic (measured on a sample in README.md):

1. An article starts at a dateline paragraph: one that opens with 本报…讯 or 新华社…电 (at most 24
   characters between the two).
2. Its title is in the lines just above the dateline: walking up, photo captions (a line ending in
   摄） or 发）, or a bare （传真照片）/（图片） note) right above the dateline are passed over (a caption
   above a title line ends the walk: it belongs to a photo with a title of its own), and the walk collects headline-like
   lines: at most 40 characters once notes such as （附图片１张） are removed, not ending in
   sentence-final punctuation (。！？…；：” and the like), not wholly in parentheses. It stops at the first
   other line or at the previous article.
3. One headline-like line is the title; two are a title and its subtitle (the People's Daily layout:
   主题 then 副题), so the first is the title, unless it ends in a verb of saying (强调, 指出, 表示, 说,
   认为, 提出, 要求): then it is a kicker (引题) and the second is the title. No line (news briefs printed one after another), more than
   two (a kicker, lists, verse), the title 图片新闻 (photo news) or a line that opens with a bullet, a
   dash or a digit: the article is skipped, since its title cannot be told apart reliably.
4. The article's text is the dateline paragraph without its dateline (and without the reporters'
   （记者…） or 记者…报道： that follows it) and the paragraphs after it, up to the next article's title
   lines or dateline, captions left out; joined without separators and cut to MAX_CHARS characters
   (default 200), keeping the start: a news article's lead carries its headline.

Articles are ordered by a seeded shuffle; the last HELD_OUT (default 200) are held out of SFT and of
the reward model (PPO's prompts and evaluation's test prompts), the rest are SFT's and the RM's.

SFT_DIR/sft.jsonl                {"prompt", "completion", "headline"}: article → its title
PREFERENCE_DIR/preference.jsonl  {"prompt", "chosen", "rejected", "headline"}: the true title over another
                                 article's title (drawn from the same articles; never the same text)
PROMPTS_DIR/prompts.jsonl        {"prompt", "headline"}: the held-out articles, the title as the column the
                                 rouge_l rule compares against

Every choice comes from one random.Random seeded with a constant and drawn through random() only (the
one method whose sequence Python guarantees across versions), so the output depends only on the news
file and the arguments. Prints how many articles each step kept or skipped.
"""
import json
import os
import random
import re
import sys

SEED = 1998
DATELINE = re.compile(r"^(本报.{0,24}?讯|新华社.{0,24}?电)")
# What follows a dateline before the story: the reporters in parentheses, or 记者… 报道：
REPORTERS = re.compile(r"^(（[^（）]{0,40}）|[^，。：]{0,40}?报道：)")
NOTE = re.compile(r"（[^（）]*(图|照片|表)[^（）]*）")
KICKER = re.compile(r"(强调|指出|表示|说|认为|提出|要求)$")
FINAL = "。！？…；：”」’.!?;:"
MAX_TITLE = 40


def plain(line):
    """A tagged line's text: each `word/pos` token without its tag (a token without a tag kept whole)."""
    return "".join(token.rsplit("/", 1)[0] if "/" in token else token for token in line.split())


def is_caption(text):
    return text.endswith("摄）") or text.endswith("发）") or text in ("（传真照片）", "（图片）")


def headline_like(text):
    text = NOTE.sub("", text).strip()
    if not text or len(text) > MAX_TITLE or text[-1] in FINAL:
        return False
    return not (text.startswith("（") and text.endswith("）"))


def clean_title(text):
    return NOTE.sub("", text).strip()


def articles(path):
    """(title, text) of every article the heuristic recovers, in file order, and counts of what it skipped."""
    with open(path, encoding="utf-8") as f:
        lines = [plain(line) for line in f]
    starts = [i for i, text in enumerate(lines) if DATELINE.match(text)]
    if not starts:
        sys.exit(f"{path}: no dateline paragraph (本报…讯 or 新华社…电); is this the tagged People's Daily file?")
    found, skipped = [], {"no title": 0, "more than two title lines": 0, "title opens with a bullet, dash or digit": 0, "photo news": 0}
    # Each article's title lines, found walking up from its dateline (not past the previous article).
    blocks, previous = [], -1
    for start in starts:
        block, i = [], start - 1
        while i > previous:
            # A caption between a title and its dateline is passed over; above a title it ends the walk
            # (the caption's photo has a title of its own).
            if is_caption(lines[i]):
                if block:
                    break
                i -= 1
                continue
            if not headline_like(lines[i]):
                break
            block.insert(0, i)
            i -= 1
        blocks.append(block)
        previous = start
    for n, start in enumerate(starts):
        block = blocks[n]
        end = starts[n + 1] if n + 1 < len(starts) else len(lines)
        if n + 1 < len(starts) and blocks[n + 1]:
            end = min(end, blocks[n + 1][0])
        if not block:
            skipped["no title"] += 1
            continue
        if len(block) > 2:
            skipped["more than two title lines"] += 1
            continue
        # Two lines whose first ends in a verb of saying are a kicker (引题) and the title.
        title = clean_title(lines[block[1] if len(block) == 2 and KICKER.search(lines[block[0]]) else block[0]])
        if title == "图片新闻":
            skipped["photo news"] += 1
            continue
        if title[0] in "●■◆★·—－-" or title[0].isdigit():
            skipped["title opens with a bullet, dash or digit"] += 1
            continue
        lead = DATELINE.sub("", lines[start], count=1)
        lead = REPORTERS.sub("", lead, count=1)
        body = [lead] + [text for text in lines[start + 1:end] if not is_caption(text)]
        text = "".join(body).strip()
        if text:
            found.append((title, text))
    return found, len(starts), skipped


def write(path, rows):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n")
    os.replace(tmp, path)
    return len(rows)


def main(news, sft_dir, preference_dir, prompts_dir, max_chars=200, held_out=200):
    max_chars, held_out = int(max_chars), int(held_out)
    if max_chars < 16:
        sys.exit("headline_data.py: MAX_CHARS must be at least 16")
    found, datelines, skipped = articles(news)
    # One row per article text (a reprinted brief would otherwise sit in both SFT and evaluation).
    unique, seen = [], set()
    for title, text in found:
        text = text[:max_chars]
        if text not in seen:
            seen.add(text)
            unique.append((title, text))
    if len(unique) < 8 or held_out < 2 or held_out > len(unique) - 4:
        sys.exit(f"{news}: {len(unique)} articles recovered; HELD_OUT ({held_out}) must be between 2 and {len(unique) - 4}")
    rng = random.Random(SEED)
    # Fisher–Yates through random(): which articles are held out does not follow the file's order.
    for i in range(len(unique) - 1, 0, -1):
        j = int(rng.random() * (i + 1))
        unique[i], unique[j] = unique[j], unique[i]
    train, test = unique[:-held_out], unique[-held_out:]

    sft = [{"prompt": text, "completion": title, "headline": title} for title, text in train]
    preference = []
    for n, (title, text) in enumerate(train):
        # Another article's title: a random other row, the next one whose title differs.
        k = int(rng.random() * len(train))
        while train[k][0] == title:
            k = (k + 1) % len(train)
            if k == n and all(t == title for t, _ in train):
                sys.exit(f"{news}: every training article has the same title; is this the People's Daily file?")
        preference.append({"prompt": text, "chosen": title, "rejected": train[k][0], "headline": title})
    prompts = [{"prompt": text, "headline": title} for title, text in test]

    for d in (sft_dir, preference_dir, prompts_dir):
        os.makedirs(d, exist_ok=True)
    counts = {
        "sft": write(os.path.join(sft_dir, "sft.jsonl"), sft),
        "preference": write(os.path.join(preference_dir, "preference.jsonl"), preference),
        "prompts": write(os.path.join(prompts_dir, "prompts.jsonl"), prompts),
    }
    skips = ", ".join(f"{reason} {count}" for reason, count in skipped.items())
    print(f"headline_data: {datelines} datelines, {len(found)} articles with a title (skipped: {skips}), "
          f"{len(unique)} distinct; " + ", ".join(f"{k} {v} rows" for k, v in counts.items()))


if __name__ == "__main__":
    if len(sys.argv) not in (5, 6, 7):
        sys.exit(__doc__)
    main(*sys.argv[1:])
