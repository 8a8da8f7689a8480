#!/usr/bin/env python3
"""Builds the reward model's preference rows of pipelines/headline.yaml: the true title over another
article's title (the generator's preference file) and the true title over the SFT model's own worst
answer (rm-pairs ranked_samples: k SFT answers per article ranked by ROUGE-L against the title, whose
rejected side is the worst).

  headline_pairs.py PREFERENCE_DIR SAMPLES_DIR OUT_DIR

PREFERENCE_DIR/preference.jsonl  {"prompt", "chosen", "rejected", "headline"} (scripts/headline_data.py)
SAMPLES_DIR/pairs.jsonl, pairs-valid.jsonl
                                 rm-pairs output; each rejected_text is the template's rendering of an
                                 article followed by the answer: "文章：<article>\\n标题：<answer>"
OUT_DIR/preference.jsonl         {"prompt", "chosen", "rejected", "headline", "negative"}: every generator
                                 row (negative "other_title"), then one row per sampled pair whose worst
                                 answer is not empty and not the title itself (negative "worst_sample")

An answer is matched to its article through the article text before the template's "\\n标题：" (the
whole article, or its end when rm-pairs cut the oldest prompt tokens). Output order follows the input
files, so the output depends only on them.
"""
import json
import os
import sys

OPENING, SEPARATOR = "文章：", "\n标题："


def read_jsonl(path):
    rows = []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as error:
                sys.exit(f"{path}:{number}: not JSON ({error.msg}); is this a pipe rm-pairs or headline_data.py file?")
    return rows


def main(preference_dir, samples_dir, out_dir):
    preference_path = os.path.join(preference_dir, "preference.jsonl")
    rows = read_jsonl(preference_path)
    title_of = {}
    for number, row in enumerate(rows, 1):
        for field in ("prompt", "chosen", "rejected", "headline"):
            if not isinstance(row.get(field), str):
                sys.exit(f"{preference_path}:{number}: field '{field}' is missing or not a string; regenerate it with scripts/headline_data.py")
        title_of[row["prompt"]] = row["headline"]
    out = [dict(row, negative="other_title") for row in rows]

    sampled = unmatched = dropped = 0
    for name in ("pairs.jsonl", "pairs-valid.jsonl"):
        path = os.path.join(samples_dir, name)
        if not os.path.exists(path):
            sys.exit(f"{path}: missing; SAMPLES_DIR must be an rm-pairs output (pairs.jsonl and pairs-valid.jsonl)")
        for number, pair in enumerate(read_jsonl(path), 1):
            text = pair.get("rejected_text")
            if not isinstance(text, str) or SEPARATOR not in text:
                sys.exit(f"{path}:{number}: rejected_text has no '\\n标题：'; were the samples drawn with the template \"文章：{{prompt}}\\n标题：\"?")
            sampled += 1
            article, answer = text.split(SEPARATOR, 1)
            article = article[len(OPENING):] if article.startswith(OPENING) else article
            answer = answer.strip()
            title = title_of.get(article)
            if title is None:
                # rm-pairs cut the article's start to fit max_tokens: the one article ending with what is left.
                ends = [p for p in title_of if article and p.endswith(article)]
                if len(ends) != 1:
                    unmatched += 1
                    continue
                article, title = ends[0], title_of[ends[0]]
            if not answer or answer == title:
                dropped += 1
                continue
            out.append({"prompt": article, "chosen": title, "rejected": answer, "headline": title, "negative": "worst_sample"})
    if sampled and unmatched > sampled // 10:
        sys.exit(f"{samples_dir}: {unmatched} of {sampled} sampled answers match no article of {preference_path}; were they drawn from that file's articles?")

    os.makedirs(out_dir, exist_ok=True)
    target = os.path.join(out_dir, "preference.jsonl")
    with open(target + ".tmp", "w", encoding="utf-8") as f:
        for row in out:
            f.write(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n")
    os.replace(target + ".tmp", target)
    worst = len(out) - len(rows)
    print(f"headline_pairs: {len(rows)} other-title rows, {worst} worst-sample rows "
          f"(of {sampled} sampled pairs: {dropped} empty or equal to the title, {unmatched} unmatched)")


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    main(*sys.argv[1:])
