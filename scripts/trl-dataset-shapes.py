#!/usr/bin/env python3
"""Writes a workspace of datasets saved the way TRL users save them, and a pipeline importing each.

    python3 scripts/trl-dataset-shapes.py DIR      # needs `datasets` (pip install datasets pyarrow)
    cd DIR && pipe run p.yaml -j 1                 # each stage imports one file; read its result or error

TRL's dataset types (language modeling, prompt-only, prompt-completion, preference explicit and
implicit, unpaired preference, stepwise supervision; standard and conversational), Alpaca and
ChatGLM rows, each written with `to_json` (JSON Lines), `to_json(lines=False)`, `to_parquet` (and
pyarrow's GZIP, ZSTD and uncompressed v2-page Parquet), Arrow IPC stream and file (plain and ZSTD),
`to_csv` and `save_to_disk` (a Dataset in shards and a DatasetDict), plus Unicode edge cases (BOM, CRLF, NUL, invalid
UTF-8, lone surrogates, UTF-16, a 64 MiB line, empty files, a folder of mixed files). Every stage must
import its file or fail naming the file, line, field and fix: never crash, never import part of it.
"""
import os, shutil, sys
import datasets
import pyarrow as pa
import pyarrow.parquet as pq

ws = sys.argv[1]
data = os.path.join(ws, "data")
shutil.rmtree(data, ignore_errors=True)
os.makedirs(data)
U = lambda c: {"role": "user", "content": c}
A = lambda c: {"role": "assistant", "content": c}
S = lambda c: {"role": "system", "content": c}
shapes = {
 "lm_standard": [{"text": "The sky is blue."}, {"text": "Grass is green."}, {"text": "Snow is white."}],
 "lm_conv": [{"messages": [U("What color is the sky?"), A("It is blue.")]}, {"messages": [U("Grass?"), A("Green.")]}],
 "prompt_standard": [{"prompt": "The sky is"}, {"prompt": "Grass is"}],
 "prompt_conv": [{"prompt": [U("What color is the sky?")]}, {"prompt": [S("Be terse."), U("Grass?")]}],
 "pc_standard": [{"prompt": "The sky is", "completion": " blue."}, {"prompt": "Grass is", "completion": " green."}],
 "pc_conv": [{"prompt": [U("What color is the sky?")], "completion": [A("It is blue.")]}, {"prompt": [U("Grass?")], "completion": [A("Green.")]}],
 "pref_explicit": [{"prompt": "The sky is", "chosen": " blue.", "rejected": " green."}, {"prompt": "Grass is", "chosen": " green.", "rejected": " red."}],
 "pref_implicit": [{"chosen": "The sky is blue.", "rejected": "The sky is green."}, {"chosen": "Grass is green.", "rejected": "Grass is red."}],
 "pref_conv_explicit": [{"prompt": [U("What color is the sky?")], "chosen": [A("It is blue.")], "rejected": [A("It is green.")]},
                        {"prompt": [U("Grass?")], "chosen": [A("Green.")], "rejected": [A("Red.")]}],
 "pref_conv_implicit": [{"chosen": [U("What color is the sky?"), A("It is blue.")], "rejected": [U("What color is the sky?"), A("It is green.")]},
                        {"chosen": [U("Grass?"), A("Green.")], "rejected": [U("Grass?"), A("Red.")]}],
 "unpaired": [{"prompt": "The sky is", "completion": " blue.", "label": True}, {"prompt": "The sky is", "completion": " green.", "label": False}],
 "unpaired_conv": [{"prompt": [U("Sky?")], "completion": [A("Blue.")], "label": True}, {"prompt": [U("Sky?")], "completion": [A("Green.")], "label": False}],
 "stepwise": [{"prompt": "Which number is larger, 9.8 or 9.11?", "completions": ["The fractional part of 9.8 is 0.8.", "So 9.11 is larger."], "labels": [True, False]}],
 "alpaca": [{"instruction": "Give a color.", "input": "", "output": "Blue."}, {"instruction": "Translate", "input": "chat", "output": "cat"}],
 "chatglm": [{"instruction": "Rate it", "input": "good film", "output": ["positive", "negative"]}, {"instruction": "Rate", "input": "bad film", "output": ["negative", "positive"]}],
}
kinds = {"lm_standard": ["text"], "lm_conv": ["text", "prompt-completion"], "prompt_standard": ["prompt"], "prompt_conv": ["prompt"],
         "pc_standard": ["prompt-completion"], "pc_conv": ["prompt-completion"], "pref_explicit": ["preference"], "pref_implicit": ["preference"],
         "pref_conv_explicit": ["preference"], "pref_conv_implicit": ["preference"], "unpaired": ["preference", "prompt-completion"],
         "unpaired_conv": ["preference", "prompt-completion"], "stepwise": ["preference", "prompt-completion"], "alpaca": ["prompt-completion"],
         "chatglm": ["preference"]}
stages = []
def stage(path, kind):
    name = (path.replace(".", "-").replace("_", "-").replace("/", "-") + "-" + kind)[:60]
    stages.append(f"  {name}: {{ uses: dataset, inputs: {{ source: ./data/{path} }}, with: {{ kind: {kind}, valid_fraction: 0, test_fraction: 0 }} }}")
for name, rows in shapes.items():
    ds = datasets.Dataset.from_list(rows)
    ds.to_json(f"{data}/{name}.jsonl")
    ds.to_json(f"{data}/{name}.unicode.jsonl", force_ascii=False)
    ds.to_json(f"{data}/{name}.array.json", lines=False)
    ds.to_parquet(f"{data}/{name}.parquet")
    table = ds.data.table
    pq.write_table(table, f"{data}/{name}.gzip.parquet", compression="gzip")
    pq.write_table(table, f"{data}/{name}.zstd.parquet", compression="zstd", data_page_version="2.0")
    pq.write_table(table, f"{data}/{name}.none-v2.parquet", compression="none", use_dictionary=False, data_page_version="2.0")
    with pa.ipc.new_stream(f"{data}/{name}.stream.arrow", table.schema) as w:
        w.write_table(table)
    with pa.ipc.new_file(f"{data}/{name}.file.arrow", table.schema, options=pa.ipc.IpcWriteOptions(compression="zstd")) as w:
        w.write_table(table)
    ds.to_csv(f"{data}/{name}.csv")
    ds.save_to_disk(f"{data}/{name}_arrow", num_shards=min(2, len(ds)))
    datasets.DatasetDict({"train": ds, "test": ds}).save_to_disk(f"{data}/{name}_dict")
    for path in [f"{name}.jsonl", f"{name}.unicode.jsonl", f"{name}.array.json", f"{name}.parquet", f"{name}.gzip.parquet",
                 f"{name}.zstd.parquet", f"{name}.none-v2.parquet", f"{name}.stream.arrow", f"{name}.file.arrow", f"{name}.csv",
                 f"{name}_arrow", f"{name}_dict"]:
        for kind in kinds[name]:
            stage(path, kind)

def write(name, content):
    os.makedirs(os.path.dirname(os.path.join(data, name)), exist_ok=True)
    with open(os.path.join(data, name), "wb") as f:
        f.write(content)
    stage(name, "text")
write("bom.jsonl", b'\xef\xbb\xbf{"text": "with bom"}\n{"text": "second"}\n')
write("bom.array.json", b'\xef\xbb\xbf[{"text": "with bom"}]\n')
write("crlf.jsonl", b'{"text": "crlf one"}\r\n{"text": "crlf\\r\\ntwo"}\r\n')
write("crlf.array.json", b'[\r\n{"text": "crlf one"},\r\n{"text": "two"}\r\n]\r\n')
write("nul-raw.jsonl", b'{"text": "nul\x00raw"}\n')
write("nul-escaped.jsonl", b'{"text": "nul\\u0000escaped"}\n')
write("invalid-utf8.jsonl", b'{"text": "ok"}\n{"text": "bad \xff\xfe byte"}\n')
write("invalid-utf8.txt", b'ok line\nbad \xc3\x28 line\n')
write("lone-high.jsonl", b'{"text": "lone \\ud800 high"}\n')
write("lone-low.jsonl", b'{"text": "lone \\udc00 low"}\n')
write("pair-surrogate.jsonl", b'{"text": "pair \\ud83d\\ude00 ok"}\n')
write("huge-line.jsonl", b'{"text": "' + b'x' * (64 << 20) + b'"}\n')
write("empty.jsonl", b'')
write("empty.json", b'')
write("blank-lines.jsonl", b'\n\n  \n')
write("empty-array.json", b'[]')
write("utf16.jsonl", '{"text": "utf16 file"}\n'.encode('utf-16'))
write("trailing-garbage.json", b'[{"text": "a"}] x')
write("two-arrays.json", b'[{"text": "a"}]\n[{"text": "b"}]\n')
write("lines-named.json", b'{"text": "a"}\n{"text": "b"}\n')
os.makedirs(f"{data}/mixed", exist_ok=True)
shutil.copy(f"{data}/lm_standard.jsonl", f"{data}/mixed/a.jsonl")
shutil.copy(f"{data}/lm_standard.parquet", f"{data}/mixed/b.parquet")
with open(f"{data}/mixed/notes.md", "w") as f:
    f.write("# notes\n")
stage("mixed", "text")
with open(os.path.join(ws, "p.yaml"), "w") as f:
    f.write("name: trl-shapes\nseed: 1\nstages:\n" + "\n".join(sorted(stages)) + "\n")
print(f"{len(stages)} dataset stages in {ws}/p.yaml")
