#!/usr/bin/env python3
"""Writes the seed corpus of one fuzz target (scripts/fuzz.sh) from the repo's own files.

Inputs that stand for several files use the FuzzInput format (Sources/Fuzz/Support/FuzzInput.swift):
the main part, then one `#== <name>` line before each further file.
"""
import glob
import os
import re
import struct
import sys

repo, target, out = sys.argv[1], sys.argv[2], sys.argv[3]
os.makedirs(out, exist_ok=True)


def read(path):
    with open(os.path.join(repo, path), "rb") as f:
        return f.read()


def pack(main, files):
    data = main if main.endswith(b"\n") or not main else main + b"\n"
    for name, body in files:
        data += b"#== " + name.encode() + b"\n" + body + (b"" if body.endswith(b"\n") else b"\n")
    return data


def seed(name, data):
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)


def safetensors(tensors, metadata=None):
    """A valid file: [(name, dtype, shape, raw bytes)] laid out in order."""
    header, offset, body = {}, 0, b""
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, dtype, shape, raw in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
        body += raw
    import json
    text = json.dumps(header, separators=(",", ":")).encode()
    return struct.pack("<Q", len(text)) + text + body


if target == "pipeline":
    pipelines = sorted(glob.glob("pipelines/*.yaml", root_dir=repo))
    shared = sorted(glob.glob("stages/shared/*.yaml", root_dir=repo))
    for p in pipelines:
        text = read(p)
        base = os.path.basename(p)
        seed("alone-" + base, text)
        files = []
        for inc in re.findall(rb"^include:\s*\[?([^\]\n#]+)", text, re.M):
            for name in inc.decode().split(","):
                name = name.strip()
                if name and os.path.exists(os.path.join(repo, "pipelines", name)):
                    files.append(("pipelines/" + name, read("pipelines/" + name)))
        for kind in sorted(set(re.findall(rb"^\s+kind:\s*([\w-]+)", text, re.M))):
            path = "stages/" + kind.decode() + ".yaml"
            if os.path.exists(os.path.join(repo, path)):
                files.append((path, read(path)))
        files += [(s, read(s)) for s in shared]
        seed("workspace-" + base, pack(text, files))
        seed("sweep-" + base, b"#set sft.lr=1e-4\n#sweep ppo.lr=1e-5,3e-5\n" + text)
elif target == "tokenizer":
    names = ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt", "vocab.json",
             "merges.txt", "added_tokens.json"]
    text = "Hello world! <|endoftext|> [CLS] naïve café 東京 don't  \t\n  e\u0301 🤖".encode()
    for folder in sorted(glob.glob("Tests/TokenizerTests/Goldens/*/", root_dir=repo)):
        files = [(n, read(folder + n)) for n in names if os.path.exists(os.path.join(repo, folder, n))]
        seed(os.path.basename(folder.rstrip("/")), pack(text, files))
    # GPT-2's slow-tokenizer files and a BERT vocab.txt with the side files.
    vocab = {chr(c): i for i, c in enumerate(range(33, 127))}
    vocab.update({"\u0120": 94, "he": 95, "\u0120t": 96, "<|endoftext|>": 97})
    import json
    seed("slow-bpe", pack(text, [("vocab.json", json.dumps(vocab).encode()), ("merges.txt", b"#version: 0.2\nh e\n\u0120 t\n".replace(b"\\u0120", "\u0120".encode())),
                                 ("special_tokens_map.json", b'{"eos_token": "<|endoftext|>", "pad_token": {"content": "<|endoftext|>"}}'),
                                 ("added_tokens.json", b'{"<extra>": 98}')]))
    seed("vocab-txt", pack(text, [("vocab.txt", "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nhello\nworld\n##s\n!\nna\n##ive\n東\n".encode()),
                                  ("tokenizer_config.json", b'{"do_lower_case": true, "strip_accents": null, "never_split": ["[X]"], "added_tokens_decoder": {"12": {"content": "[X]", "special": true}}}'),
                                  ("special_tokens_map.json", b'{"unk_token": "[UNK]", "sep_token": "[SEP]"}'),
                                  ("added_tokens.json", b'{"[Y]": 13}')]))
elif target == "json":
    for path in sorted(glob.glob("Tests/**/*.json", root_dir=repo, recursive=True)):
        data = read(path)
        if len(data) <= 16384:
            seed(path.replace("/", "_"), data)
    for path in sorted(glob.glob("Tests/TokenizerTests/Goldens/*.jsonl", root_dir=repo)):
        for i, line in enumerate(read(path).splitlines()[:5]):
            seed(os.path.basename(path) + f"-{i}", line)
    seed("numbers", b'[0,-0,1e308,-1e-308,1.5E+3,123456789012345678901234567890,NaN,Infinity,-Infinity]')
    seed("escapes", b'{"a\\u00e9\\ud83e\\udd16\\n\\t\\"\\\\\\/":[true,false,null,{}]}')
elif target == "safetensors":
    f32 = struct.pack("<6f", 1, 2, 3, 4, 5, 6)
    seed("f32", safetensors([("w", "F32", [2, 3], f32)], {"format": "pt"}))
    seed("mixed", safetensors([("a", "F16", [2], b"\x00\x3c\x00\x40"), ("b", "BF16", [1, 2], b"\x80\x3f\x00\x40"),
                               ("c", "I64", [1], struct.pack("<q", 7)), ("d", "F64", [1], struct.pack("<d", 0.5)),
                               ("e", "I32", [2], struct.pack("<2i", 1, 2)), ("f", "U8", [3], b"abc"),
                               ("g", "F32", [0], b""), ("h", "BOOL", [1], b"\x01")]))
    seed("scalar", safetensors([("s", "F32", [], struct.pack("<f", 3))]))
elif target == "checkpoint":
    # A tiny GPT-2 (vocab 8, 4 positions, 4 channels, 1 layer, 1 head), as transformers names its tensors.
    import json
    config = {"model_type": "gpt2", "vocab_size": 8, "n_positions": 4, "n_embd": 4, "n_layer": 1, "n_head": 1,
              "activation_function": "gelu_new", "layer_norm_epsilon": 1e-5, "bos_token_id": 7, "eos_token_id": [7]}
    shapes = {"wte.weight": [8, 4], "wpe.weight": [4, 4], "ln_f.weight": [4], "ln_f.bias": [4]}
    for name, shape in {"ln_1.weight": [4], "ln_1.bias": [4], "attn.c_attn.weight": [4, 12], "attn.c_attn.bias": [12],
                        "attn.c_proj.weight": [4, 4], "attn.c_proj.bias": [4], "ln_2.weight": [4], "ln_2.bias": [4],
                        "mlp.c_fc.weight": [4, 16], "mlp.c_fc.bias": [16], "mlp.c_proj.weight": [16, 4], "mlp.c_proj.bias": [4]}.items():
        shapes["h.0." + name] = shape

    def tensors(prefix, dtype, names):
        size = {"F32": 4, "F16": 2, "BF16": 2, "F64": 8}[dtype]
        out = []
        for i, name in enumerate(names):
            count = 1
            for d in shapes[name]:
                count *= d
            out.append((prefix + name, dtype, shapes[name], bytes([(i * 7 + k) % 251 for k in range(count * size)])))
        return out

    names = sorted(shapes)
    text = json.dumps(config).encode()
    seed("f32", pack(text, [("model.safetensors", safetensors(tensors("transformer.", "F32", names), {"format": "pt"}))]))
    # The same model as torch.save writes it (made by scripts/make-torchbin-fixtures.py; 7 kB of the 8 kB inputs).
    with open(os.path.join(repo, "Tests/ModelsTests/Fixtures/torchbin/fuzz-seed/pytorch_model.bin"), "rb") as f:
        seed("torch-bin", pack(text, [("pytorch_model.bin", f.read())]))
    seed("f16-untied", pack(json.dumps(dict(config, tie_word_embeddings=False, model_type="gpt2")).encode(),
                            [("model.safetensors", safetensors(tensors("", "F16", names) + [("lm_head.weight", "F16", [8, 4], bytes(64))]))]))
    half = len(names) // 2
    index = {"metadata": {"total_size": 0}, "weight_map": {n: ("a.safetensors" if i < half else "b.safetensors") for i, n in enumerate(names)}}
    seed("sharded", pack(text, [("model.safetensors.index.json", json.dumps(index).encode()),
                                ("a.safetensors", safetensors(tensors("", "BF16", names[:half]))),
                                ("b.safetensors", safetensors(tensors("", "F64", names[half:])))]))
    seed("value-head", pack(text, [("model.safetensors", safetensors(tensors("", "F32", names) + [
        ("v_head.summary.weight", "F32", [1, 4], bytes(16)), ("v_head.summary.bias", "F32", [1], bytes(4))]))]))
elif target == "stage-files":
    seed("metrics.json", b'{"accuracy": 0.91, "loss": NaN, "eval": {"f1": 0.5, "n": 100, "tags": ["a"], "ok": true, "name": "x"}}')
    seed("metrics.yaml", b"accuracy: 0.91\nloss: .nan\neval:\n  f1: 5e-1\n  n: 0x10\n  list: [1, 2]\n  &a k: *a\n")
    seed("events.jsonl", b'{"type":"progress","phase":"train","step":3,"total":10,"message":"epoch 3"}\n'
                         b'{"type":"metrics","step":3,"names":["loss","acc"],"values":[0.5,0.9]}\n{"type":"log","message":"hi"}\n'
                         b'{"type":"metrics","step":4,"names":["loss"],"values":[0.4,1]}\npartial')
elif target == "dataset":
    seeds = {
        "trl-prompt-completion": b'#dataset kind=prompt-completion\n{"prompt": "2+2=", "completion": " 4"}\n{"prompt": "Hi", "completion": " there"}\n\n',
        "trl-preference": b'#dataset kind=preference margin=m\n{"prompt": "Q", "chosen": "good", "rejected": "bad", "m": 1.5}\n',
        "trl-implicit": b'#dataset kind=preference\n{"chosen": [{"role": "user", "content": "Q"}, {"role": "assistant", "content": "A"}], '
                        b'"rejected": [{"role": "user", "content": "Q"}, {"role": "assistant", "content": "B"}]}\n',
        "trl-chat": b'#dataset kind=prompt-completion format=chat\n{"messages": [{"role": "system", "content": "be nice"}, '
                    b'{"role": "user", "content": "hello"}, {"role": "assistant", "content": "hi!"}]}\n',
        "alpaca": b'#dataset kind=prompt-completion file=rows.json\n[\n  {"instruction": "Add", "input": "1 2", "output": "3"},\n'
                  b'  {"instruction": "Say \\"hi\\" \\u00e9", "output": "hi"}\n]\n',
        "chatglm": b'#dataset kind=preference format=chatglm\n{"instruction": "Pick", "input": "", "output": ["yes", "no"]}\n',
        "ranked": b'#dataset kind=preference format=ranked\n{"prompt": "Rank", "responses": ["a", "b", "c"]}\n',
        "labelled": b'#dataset kind=labelled skip_invalid=true\n{"text": "great film", "label": 1}\n{"text": "bad", "label": false}\n',
        "labelled-txt": b'#dataset kind=labelled file=pos.txt\na great film\n\xef\xbb\xbfsecond line\r\n',
        "text": b'#dataset kind=text file=rows.txt\nsome text\n  more   text \t\n',
        "prompt": b'#dataset kind=prompt\n\xef\xbb\xbf{"prompt": "Tell me a story"}\n',
        # Lines as pipe stores them (train.jsonl), decoded by DatasetReader.
        "stored": b'{"label":1,"text":"good"}\n{"completion":" 4","fields":{"prompt":"2+2=","n":3,"ok":true,"tags":["a"]}}\n'
                  b'{"completion":"hi","fields":{},"messages":[{"content":"hello","role":"user"}]}\n'
                  b'{"chosen":"a","fields":{"prompt":"Q"},"margin":0.5,"rejected":"b"}\n{"fields":{"prompt":"P"}}\n{"text":"t"}\n',
    }
    for name, data in seeds.items():
        seed(name, data)
elif target == "store":
    import hashlib
    import json
    digest = "ab" * 32
    record = {"format": "pipe.stage-record.v1", "key": digest, "stage": "sft", "keyMaterial": {"scheme": "pipe.key.v1", "params": {"lr": 3e-4}},
              "outputs": {"model": "cd" * 32}, "log": "ef" * 32, "metrics": {"loss": 1.5, "nan": "nan"},
              "startedAt": "2026-11-22T02:04:58.123Z", "finishedAt": "2026-11-22T02:05:00Z", "exitStatus": 0, "cpuSeconds": 1.25,
              "host": "node1", "createdAt": "2026-11-22T02:05:00.001Z"}
    seed("record.json", json.dumps(record, indent=2).encode())
    seed("shape", b"f 12 7:a/b.txt\nd 0 1:a\nl 0 4:link\n")
    seed("shape-file", b"f 1024 0:\n")
    seed("remote-object", json.dumps({"format": "pipe.remote-object.v1", "root": "tree", "entries": [
        {"kind": "dir", "path": "a"}, {"kind": "file", "path": "a/x", "size": 3, "sha256": digest, "executable": True},
        {"kind": "symlink", "path": "l", "target": "a/x"}]}).encode())

    def keyed(magic, entries):
        out = magic + struct.pack("<Q", len(entries))
        for key, payload in sorted(entries):
            body = key + struct.pack("<QI", 1_700_000_000, len(payload)) + payload
            out += body + hashlib.sha256(body).digest()[:8]
        return out

    seed("statcache", keyed(b"PIPESTC3", [(bytes([i]) * 40, bytes([i]) * 32) for i in range(3)]))

    def string(text):
        return struct.pack("<I", len(text)) + text

    identity = struct.pack("<5Q", 1, 2, 300, 4, 5)
    payload = (identity + string(b"pipe.stage-record.v1") + string(b"sft") + struct.pack("<I", 1) + string(b"model") + b"\xcd" * 32
               + b"\x01" + b"\xef" * 32 + struct.pack("<I", 1) + string(b"loss") + struct.pack("<d", 1.5)
               + struct.pack("<dddI", 1e9, 1e9 + 2, 1e9 + 2, 0) + b"\x01" + struct.pack("<d", 1.25) + string(b"node1")
               + struct.pack("<I", 2) + b"\xcd" * 32 + b"\x01" + string(b"f 12 0:\n") + b"\xef" * 32 + b"\x00")
    seed("index-payload", payload)
    seed("record-index", keyed(b"PIPERIX3", [(b"\x07" * 32, payload)]))
else:
    sys.exit(f"unknown fuzz target {target}")
