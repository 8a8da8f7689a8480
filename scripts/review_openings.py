#!/usr/bin/env python3
"""Writes the flagship's PPO prompts: the openings of the train-split reviews of a labelled dataset
artifact (pipelines/sentiment.yaml's `data` stage), as a prompt dataset's rows.

  review_openings.py DATASET_DIR PROMPTS_DIR [CHARS]

DATASET_DIR/train.jsonl   {"label": 0|1, "text"} (the dataset stage's labelled records)
PROMPTS_DIR/openings.jsonl {"prompt", "label"}: the first CHARS characters (default 7: the median length
                           of the 4-token openings the tokenise stage's 5,000-token BPE gives these
                           reviews) of every train review longer than that, in the file's order; the
                           label stays a column (a reward can read it; the reward model does not).

Only the train split is read, so no held-out review reaches PPO. Deterministic: the output depends
only on the input file and CHARS.
"""
import json
import os
import sys


def main(dataset_dir, prompts_dir, chars=7):
    chars = int(chars)
    if chars < 1:
        sys.exit(f"review_openings.py: CHARS must be at least 1, not {chars}")
    source = os.path.join(dataset_dir, "train.jsonl")
    kept = skipped = 0
    os.makedirs(prompts_dir, exist_ok=True)
    with open(source, encoding="utf-8") as rows, \
            open(os.path.join(prompts_dir, "openings.jsonl"), "w", encoding="utf-8") as out:
        for line_number, line in enumerate(rows, 1):
            try:
                row = json.loads(line)
                text, label = row["text"], row["label"]
            except (ValueError, KeyError, TypeError) as error:
                sys.exit(f"{source}:{line_number}: not a labelled record ({error}): expected {{\"label\", \"text\"}}")
            if len(text) <= chars:
                skipped += 1
                continue
            out.write(json.dumps({"prompt": text[:chars], "label": label}, ensure_ascii=False, sort_keys=True) + "\n")
            kept += 1
    print(f"review_openings.py: {kept} openings of {chars} characters; {skipped} reviews no longer than that skipped")


if __name__ == "__main__":
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    main(*sys.argv[1:])
