#!/usr/bin/env python3
"""Writes the Parquet and Arrow fixtures of the Columnar and dataset-import tests, each beside the
JSON Lines of the same rows (`<name>.jsonl`, written with json.dumps from the rows themselves).

    /work/venv-torch/bin/python scripts/make-columnar-fixtures.py Tests/Fixtures/columnar

Needs pyarrow and datasets. All text is invented here from a seeded generator: no third-party text.
Floats are exactly representable (halves and quarters), so the JSON of a float32 column is exact.
"""
import json, os, random, shutil, sys
import pyarrow as pa
import pyarrow.parquet as pq
import datasets

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
rng = random.Random(7)
SYL = ["ka", "lo", "mi", "ne", "su", "ta", "vo", "ri", "zu", "pe", "é", "ß", "日", "🙂"]
word = lambda: "".join(rng.choice(SYL) for _ in range(rng.randint(1, 4)))
text = lambda n: " ".join(word() for _ in range(rng.randint(1, n)))

def conversation_rows(n):
    rows = []
    for i in range(n):
        turns = [{"role": "user", "content": text(6)}]
        if rng.random() < 0.3:
            turns.insert(0, {"role": "system", "content": text(4)})
        rows.append({
            "prompt": turns,
            "chosen": [{"role": "assistant", "content": text(8)}],
            "rejected": [{"role": "assistant", "content": text(8)}],
            "id": i * 1000003 - 5,
            "score": None if i % 5 == 0 else rng.randint(-8, 8) / 4,
            "tag": None if i % 7 == 3 else rng.choice(["alpha", "beta", "gamma"]),
            "flag": None if i % 6 == 1 else bool(i % 2),
            "tags": None if i % 9 == 4 else [word() for _ in range(rng.randint(0, 3))],
        })
    return rows

def write_jsonl(name, rows):
    with open(os.path.join(out, name + ".jsonl"), "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")

conv = conversation_rows(40)
table = pa.Table.from_pylist(conv)
write_jsonl("conversations", conv)
pq.write_table(table, f"{out}/conv-snappy-dict-v1.parquet", row_group_size=7, data_page_version="1.0")
pq.write_table(table, f"{out}/conv-plain-v2-uncompressed.parquet", row_group_size=16, use_dictionary=False, compression="none",
               data_page_version="2.0", data_page_size=200)
pq.write_table(table, f"{out}/conv-gzip-v2.parquet", compression="gzip", data_page_version="2.0")
pq.write_table(table, f"{out}/conv-zstd-v1.parquet", compression="zstd", data_page_size=300)
with pa.ipc.new_stream(f"{out}/conv-stream.arrow", table.schema) as w:
    for batch in table.to_batches(max_chunksize=11):
        w.write_batch(batch)
with pa.ipc.new_file(f"{out}/conv-file.arrow", table.schema) as w:
    w.write_table(table, max_chunksize=16)
with pa.ipc.new_stream(f"{out}/conv-stream-zstd.arrow", table.schema, options=pa.ipc.IpcWriteOptions(compression="zstd")) as w:
    w.write_table(table, max_chunksize=16)

# Every scalar type read, nested nulls at each level, large string/list types (Arrow).
types = []
for i in range(12):
    types.append({
        "i8": None if i == 2 else i - 6, "i16": -300 * i, "i32": None if i == 5 else 70000 * i, "i64": (1 << 40) + i,
        "u8": 250 - i, "u16": 65000 + i, "u32": 4000000000 + i, "u64": None if i == 1 else (1 << 60) + i,
        "f32": None if i == 3 else (i - 4) / 4, "f64": i * 1.5 - 2.25, "b": i % 3 == 0, "s": None if i == 4 else text(3), "nothing": None,
        "deep": None if i == 6 else [[word() for _ in range(rng.randint(0, 2))] if rng.random() < 0.8 else None for _ in range(rng.randint(0, 3))],
        "rec": None if i == 7 else {"a": None if i % 4 == 0 else text(2), "n": i, "inner": {"x": [i, None] if i % 2 else []}},
        "msgs": None if i == 8 else [None if j == 1 and i % 3 == 0 else {"role": "user", "content": None if j == 2 else text(2)} for j in range(i % 4)],
    })
schema = pa.schema([("i8", pa.int8()), ("i16", pa.int16()), ("i32", pa.int32()), ("i64", pa.int64()), ("u8", pa.uint8()),
                    ("u16", pa.uint16()), ("u32", pa.uint32()), ("u64", pa.uint64()), ("f32", pa.float32()), ("f64", pa.float64()),
                    ("b", pa.bool_()), ("s", pa.string()), ("nothing", pa.null()), ("deep", pa.list_(pa.list_(pa.string()))),
                    ("rec", pa.struct([("a", pa.string()), ("n", pa.int64()), ("inner", pa.struct([("x", pa.list_(pa.int32()))]))])),
                    ("msgs", pa.list_(pa.struct([("role", pa.string()), ("content", pa.string())])))])
tt = pa.Table.from_pylist(types, schema=schema)
write_jsonl("types", types)
pq.write_table(tt, f"{out}/types-snappy.parquet", row_group_size=5)
pq.write_table(tt, f"{out}/types-plain-v2.parquet", use_dictionary=False, data_page_version="2.0", compression="none")
with pa.ipc.new_stream(f"{out}/types-stream.arrow", tt.schema) as w:
    w.write_table(tt, max_chunksize=5)
large = pa.schema([("s", pa.large_string()), ("deep", pa.large_list(pa.large_list(pa.large_string()))),
                   ("msgs", pa.large_list(pa.struct([("role", pa.large_string()), ("content", pa.large_string())])))])
lt = pa.Table.from_pylist([{k: r[k] for k in ("s", "deep", "msgs")} for r in types], schema=large)
write_jsonl("types-large", [{k: r[k] for k in ("s", "deep", "msgs")} for r in types])
with pa.ipc.new_file(f"{out}/types-large-file.arrow", lt.schema) as w:
    w.write_table(lt)

# Many small rows in small pages and two row groups (rows cross page boundaries, decoded pages are
# dropped as rows use them): the Parquet files must read as the ZSTD Arrow stream of the same table.
many = []
few = ["ka", "lo", "mine", "suta", "vori", "é", "日"]
word = lambda: rng.choice(few)
for i in range(6000):
    many.append({"n": i, "msgs": None if i % 97 == 0 else [{"role": rng.choice(["user", "assistant"]), "content": None if rng.random() < 0.05 else word()}
                                                          for _ in range(rng.randint(0, 3))],
                 "tags": None if i % 11 == 0 else [word() for _ in range(rng.randint(0, 2))]})
mt = pa.Table.from_pylist(many)
pq.write_table(mt, f"{out}/many-pages-v1.parquet", row_group_size=5000, data_page_size=512, data_page_version="1.0")
pq.write_table(mt, f"{out}/many-pages-v2.parquet", row_group_size=5000, data_page_size=512, data_page_version="2.0", use_dictionary=False)
with pa.ipc.new_stream(f"{out}/many.arrow", mt.schema, options=pa.ipc.IpcWriteOptions(compression="zstd")) as w:
    w.write_table(mt, max_chunksize=1000)

# Folders written by `datasets`: a Dataset in two shards, and a DatasetDict.
ds = datasets.Dataset.from_list(conv)
shutil.rmtree(f"{out}/saved-dataset", ignore_errors=True)
shutil.rmtree(f"{out}/saved-dict", ignore_errors=True)
ds.save_to_disk(f"{out}/saved-dataset", num_shards=2)
train = datasets.Dataset.from_list(conv[:30])
test = datasets.Dataset.from_list(conv[30:])
write_jsonl("conversations-train", conv[:30])
datasets.DatasetDict({"train": train, "test": test}).save_to_disk(f"{out}/saved-dict")
ds.to_parquet(f"{out}/conv-datasets.parquet")

# CSV and TSV as `to_csv` writes them, beside what `from_csv(...).to_json(...)` makes of them (pandas
# types the columns: integers, exact floats, booleans, missing values; quotes, commas, line breaks).
flat = []
for i in range(30):
    flat.append({"prompt": rng.choice([text(5), 'say "hi", then go', "two\nlines", "tab\there", "NA", ""]) if i % 4 else text(3),
                 "completion": text(6), "n": None if i % 7 == 2 else i - 10, "x": i / 4, "ok": None if i == 5 else i % 3 == 0,
                 "code": "00" + str(i)})
flat_ds = datasets.Dataset.from_list(flat)
flat_ds.to_csv(f"{out}/flat.csv")
flat_ds.to_csv(f"{out}/flat.tsv", sep="\t")
datasets.Dataset.from_csv(f"{out}/flat.csv").to_json(f"{out}/flat-from-csv.jsonl", force_ascii=False)
datasets.Dataset.from_csv(f"{out}/flat.tsv", sep="\t").to_json(f"{out}/flat-from-tsv.jsonl", force_ascii=False)

# Refused, each with its own message.
small = pa.table({"prompt": ["a b", "c d"], "completion": ["e", "f"]})
pq.write_table(small, f"{out}/refuse-lz4.parquet", compression="lz4")
pq.write_table(pa.table({"n": pa.array([1, 2, 3], pa.int64())}), f"{out}/refuse-delta.parquet", use_dictionary=False,
               column_encoding={"n": "DELTA_BINARY_PACKED"})
pq.write_table(pa.table({"t": pa.array([0, 1], pa.timestamp("ms"))}), f"{out}/refuse-timestamp.parquet")
pq.write_table(pa.table({"m": pa.array([[("k", "v")]], pa.map_(pa.string(), pa.string()))}), f"{out}/refuse-map.parquet")
pq.write_table(pa.table({"b": pa.array([b"\x00\x01"], pa.binary())}), f"{out}/refuse-binary.parquet")
dt = pa.table({"tag": pa.array(["x", "y", "x"]).dictionary_encode()})
with pa.ipc.new_stream(f"{out}/refuse-dictionary.arrow", dt.schema) as w:
    w.write_table(dt)
with pa.ipc.new_stream(f"{out}/refuse-lz4.arrow", small.schema, options=pa.ipc.IpcWriteOptions(compression="lz4")) as w:
    w.write_table(small)
pq.write_table(pa.table({"t": pa.array([0, 1], pa.timestamp("ns"))}), f"{out}/refuse-int96.parquet", use_deprecated_int96_timestamps=True)
pq.write_table(pa.table({"h": pa.array([1.5], pa.float16())}), f"{out}/refuse-float16.parquet")
pq.write_table(pa.table({"d": pa.array([1], pa.date32())}), f"{out}/refuse-date.parquet")
pq.write_table(pa.table({"p": pa.array([1], pa.decimal128(5, 2))}), f"{out}/refuse-decimal.parquet")
pq.write_table(pa.table({"x": pa.array([1.0, float("nan")])}), f"{out}/refuse-nan.parquet")
for name, array in [("timestamp", pa.array([0], pa.timestamp("ms"))), ("float16", pa.array([1.5], pa.float16())),
                    ("binary", pa.array([b"\x00"], pa.binary())), ("infinity", pa.array([float("inf")], pa.float32()))]:
    t = pa.table({"c": array})
    with pa.ipc.new_stream(f"{out}/refuse-{name}.arrow", t.schema) as w:
        w.write_table(t)
print("fixtures in", out, sorted(os.listdir(out)))
