#!/usr/bin/env python3
"""Writes the same rows every way `datasets` and pyarrow save them, for DatasetColumnarLiveTests.

    python3 columnar_live.py OUT     # needs datasets and pyarrow

OUT/<shape>/to_json.jsonl is `Dataset.to_json`'s output; every other file or folder in OUT/<shape>/
holds the same rows and must import into the same artifact. OUT/shapes.json lists the shapes with the
dataset kinds each is imported as; OUT/csv/<shape>/ holds `to_csv` files (comma and tab) beside their
`from_csv(...).to_json()` exports. All text is invented here. Floats are multiples of 1/8: `to_json`
prints 10 significant digits (0.1 + 0.2 as 0.3), so for other floats its rows are not the rows the
Parquet and Arrow files hold, and pipe reads those files' exact values.
"""
import json, os, shutil, sys
import pyarrow as pa
import pyarrow.parquet as pq
import datasets

out = sys.argv[1]
shutil.rmtree(out, ignore_errors=True)
os.makedirs(out)
U = lambda c: {"role": "user", "content": c}
A = lambda c: {"role": "assistant", "content": c}
S = lambda c: {"role": "system", "content": c}
words = ["kalo", "mine", "suta", "vori", "zupe", "café", "straße", "日本", "🙂", "a/b", "x\ny", "tab\there", 'q"uote']
def t(i, n=3):
    return " ".join(words[(i * 7 + k * 3) % len(words)] for k in range(n + i % 4))
N = 60
shapes = {
    "lm": ([{"text": t(i, 5)} for i in range(N)], ["text"]),
    "lm_conv": ([{"messages": [U(t(i)), A(t(i + 1, 4))]} for i in range(N)], ["prompt-completion"]),
    "prompt": ([{"prompt": t(i)} for i in range(N)], ["prompt"]),
    "prompt_conv": ([{"prompt": ([S(t(i + 2))] if i % 3 == 0 else []) + [U(t(i))]} for i in range(N)], ["prompt"]),
    "pc": ([{"prompt": t(i), "completion": " " + t(i + 5, 2)} for i in range(N)], ["prompt-completion"]),
    "pc_conv": ([{"prompt": [U(t(i))], "completion": [A(t(i + 3))]} for i in range(N)], ["prompt-completion"]),
    "pref": ([{"prompt": t(i), "chosen": t(i + 1), "rejected": t(i + 2), "score": (i % 9) / 8 if i % 4 else None, "id": i,
               "ok": i % 2 == 0, "tags": [t(i, 1)] * (i % 3)} for i in range(N)], ["preference"]),
    "pref_implicit": ([{"chosen": "Same start " + t(i), "rejected": "Same start " + t(i + 4)} for i in range(N)], ["preference"]),
    "pref_conv": ([{"prompt": [U(t(i))], "chosen": [A(t(i + 1))], "rejected": [A(t(i + 2))]} for i in range(N)], ["preference"]),
    "pref_conv_implicit": ([{"chosen": [U(t(i)), A(t(i + 1))], "rejected": [U(t(i)), A(t(i + 2))]} for i in range(N)], ["preference"]),
    "alpaca": ([{"instruction": t(i), "input": "" if i % 2 else t(i + 3), "output": t(i + 6)} for i in range(N)], ["prompt-completion"]),
    "chatglm": ([{"instruction": t(i), "input": t(i + 1), "output": [t(i + 2), t(i + 3)]} for i in range(N)], ["preference"]),
    "unpaired": ([{"prompt": t(i), "completion": t(i + 1), "label": i % 2 == 0} for i in range(N)], ["preference", "prompt-completion"]),
}
listing = {}
for name, (rows, kinds) in shapes.items():
    d = os.path.join(out, name)
    os.makedirs(d)
    ds = datasets.Dataset.from_list(rows)
    table = ds.data.table
    ds.to_json(f"{d}/to_json.jsonl", force_ascii=False)
    ds.to_parquet(f"{d}/to_parquet.parquet")
    for codec in ["snappy", "gzip", "zstd", "none"]:
        for version in ["1.0", "2.0"]:
            pq.write_table(table, f"{d}/pq-{codec}-v{version[0]}.parquet", compression=codec, data_page_version=version)
    pq.write_table(table, f"{d}/pq-nodict.parquet", use_dictionary=False)
    pq.write_table(table, f"{d}/pq-small-groups.parquet", row_group_size=7, data_page_size=64)
    with pa.ipc.new_stream(f"{d}/stream.arrow", table.schema) as w:
        w.write_table(table, max_chunksize=9)
    with pa.ipc.new_file(f"{d}/file.arrow", table.schema) as w:
        w.write_table(table)
    with pa.ipc.new_stream(f"{d}/stream-zstd.arrow", table.schema, options=pa.ipc.IpcWriteOptions(compression="zstd")) as w:
        w.write_table(table)
    ds.save_to_disk(f"{d}/saved", num_shards=3)
    datasets.DatasetDict({"train": ds, "test": ds.select(range(5))}).save_to_disk(f"{d}/dict")
    listing[name] = kinds
    # CSV and TSV lose types; what they must import as is their own from_csv export.
    os.makedirs(f"{out}/csv/{name}")
    ds.to_csv(f"{out}/csv/{name}/to_csv.csv")
    ds.to_csv(f"{out}/csv/{name}/to_csv.tsv", sep="\t")
    datasets.Dataset.from_csv(f"{out}/csv/{name}/to_csv.csv").to_json(f"{out}/csv/{name}/from_csv.jsonl", force_ascii=False)
    datasets.Dataset.from_csv(f"{out}/csv/{name}/to_csv.tsv", sep="\t").to_json(f"{out}/csv/{name}/from_tsv.jsonl", force_ascii=False)
with open(os.path.join(out, "shapes.json"), "w") as f:
    json.dump(listing, f)
