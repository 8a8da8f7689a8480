#!/bin/sh
# pipe vs DVC vs Snakemake on the same 6-stage command pipeline; see README.md and compare.py --help.
exec python3 "$(dirname "$0")/compare.py" "$@"
