#!/usr/bin/env python3
"""Independent re-implementation of the pipe stage key (scheme "pipe.key.v1").

Documentation of the format, and the check that pinned the golden keys in KeyTests.swift
(run once by hand: `python3 Tests/PipelineTests/key_golden.py`; the Swift tests do not need Python).

Encoding (Hashing.CanonicalEncoder): every value is a one-byte tag then its payload.
  0x01 string  u64-LE byte length + UTF-8        0x02 int    u64-LE two's complement
  0x03 float   u64-LE IEEE-754 bits (-0.0 -> 0)  0x04 bool   one byte 0/1
  0x05 bytes   u64-LE length + bytes             0x10 list start, 0x11 map start, 0x12 end
  0x13 field   followed by the field name as a string, then the field's value
  0x14 null
Key material, in this order:
  field scheme (string), field kind (string), field version (int),
  field params (map of field <name> <value>, sorted by UTF-8 name),
  field inputs (map of field <name> bytes(sha256 digest), sorted by name),
  field command (string or null),
  field deps (map of field <path> bytes(digest), sorted by path),
  field environment (map of field <name> string, sorted by name),
  field seed (int: the UInt64's bit pattern)
key = sha256(encoding)
"""
import hashlib
import struct


class Enc:
    def __init__(self):
        self.b = bytearray()

    def u64(self, v):
        self.b += struct.pack("<Q", v & 0xFFFFFFFFFFFFFFFF)

    def string(self, s):
        data = s.encode("utf-8")
        self.b.append(0x01); self.u64(len(data)); self.b += data

    def int(self, v):
        self.b.append(0x02); self.u64(v)

    def float(self, v):
        if v == 0.0:
            v = 0.0
        self.b.append(0x03); self.b += struct.pack("<d", v)

    def bool(self, v):
        self.b.append(0x04); self.b.append(1 if v else 0)

    def null(self):
        self.b.append(0x14)

    def raw(self, data):
        self.b.append(0x05); self.u64(len(data)); self.b += data

    def field(self, name):
        self.b.append(0x13); self.string(name)

    def value(self, v):
        kind, x = v
        if kind == "int": self.int(x)
        elif kind == "float": self.float(x)
        elif kind == "string": self.string(x)
        elif kind == "bool": self.bool(x)
        elif kind == "list":
            self.b.append(0x10)
            for item in x: self.value(item)
            self.b.append(0x12)
        else: raise ValueError(kind)

    def sorted_map(self, items, write):
        self.b.append(0x11)
        for name, v in sorted(items, key=lambda kv: kv[0].encode("utf-8")):
            self.field(name); write(v)
        self.b.append(0x12)


def key(kind, version, params, inputs, command, deps, environment, seed):
    e = Enc()
    e.field("scheme"); e.string("pipe.key.v1")
    e.field("kind"); e.string(kind)
    e.field("version"); e.int(version)
    e.field("params"); e.sorted_map(params.items(), e.value)
    e.field("inputs"); e.sorted_map(inputs.items(), e.raw)
    e.field("command")
    if command is None: e.null()
    else: e.string(command)
    e.field("deps"); e.sorted_map(deps.items(), e.raw)
    e.field("environment"); e.sorted_map(environment.items(), e.string)
    e.field("seed"); e.int(seed)
    return hashlib.sha256(bytes(e.b)).hexdigest()


def sha(text):
    return hashlib.sha256(text.encode("utf-8")).digest()


# The built-in stage pinned in KeyTests.goldenBuiltinKey.
print("builtin", key(
    "ppo", 1,
    {"lr": ("float", 1.41e-5), "init_kl_coef": ("float", 0.2), "steps": ("int", 100),
     "adaptive_kl": ("bool", True), "prompts_list": ("list", [("string", "a b"), ("int", 3)]),
     "strategy": ("string", "labels")},
    {"reward": sha("reward"), "policy": sha("policy")},
    None, {},
    {"blas": "openblas-0.3.21", "arch": "x86_64"},
    42))

# The command stage pinned in KeyTests.goldenCommandKey.
print("command", key(
    "run", 1,
    {"lr": ("float", 0.001)},
    {"m": sha("metrics")},
    "python3 plot.py ${inputs.m} ${outs.plot} --lr 0.001", {"plot.py": sha("print('plot')\n")},
    {},
    7))
