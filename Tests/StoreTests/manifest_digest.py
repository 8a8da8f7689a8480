#!/usr/bin/env python3
"""Independent re-implementation of pipe's artifact digest (scheme pipe.artifact.v1).

Usage: manifest_digest.py PATH   -> prints the hex digest of the file or directory at PATH.

Documents the exact bytes hashed (see Sources/Store/Artifacts/ArtifactManifest.swift) and was used to
verify the golden digest in ArtifactDigestTests.swift. Encoding (Hashing/CanonicalEncoder.swift):
  string  = 0x01, u64le(len), utf8 bytes      int   = 0x02, u64le(value)
  bool    = 0x04, 1 byte                       bytes = 0x05, u64le(len), bytes
  list    = 0x10, items..., 0x12
"""
import hashlib
import os
import stat
import struct
import sys


def s(text):
    data = text.encode("utf-8")
    return b"\x01" + struct.pack("<Q", len(data)) + data


def i(value):
    return b"\x02" + struct.pack("<Q", value & 0xFFFFFFFFFFFFFFFF)


def b(flag):
    return b"\x04" + (b"\x01" if flag else b"\x00")


def raw(data):
    return b"\x05" + struct.pack("<Q", len(data)) + data


def file_sha(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.digest()


def entries(root):
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            full = os.path.join(dirpath, name)
            rel = os.path.relpath(full, root).replace(os.sep, "/")
            st = os.lstat(full)
            if stat.S_ISLNK(st.st_mode):
                out.append((rel, s("symlink") + s(rel) + s(os.readlink(full))))
            elif stat.S_ISDIR(st.st_mode):
                out.append((rel, s("dir") + s(rel)))
            elif stat.S_ISREG(st.st_mode):
                out.append((rel, s("file") + s(rel) + i(st.st_size) + raw(file_sha(full)) + b(st.st_mode & 0o100)))
            else:
                raise SystemExit(f"{full}: not a file, directory or symlink")
    out.sort(key=lambda item: item[0].encode("utf-8"))
    return b"".join(body for _, body in out)


def manifest(path):
    head = s("pipe.artifact.v1")
    st = os.stat(path)  # the artifact path itself is followed if it is a symlink
    if stat.S_ISREG(st.st_mode):
        return head + s("file") + i(st.st_size) + raw(file_sha(path)) + b(st.st_mode & 0o100)
    return head + s("tree") + b"\x10" + entries(path) + b"\x12"


if __name__ == "__main__":
    print(hashlib.sha256(manifest(sys.argv[1])).hexdigest())
