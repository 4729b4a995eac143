#!/usr/bin/env bash
# Builds llama.cpp's own llama-bench from the llama.cpp that PyPI's
# llama-cpp-python sdist vendors (pinned by hash; nothing of the package is
# installed or run), natively for this CPU. Prints the binary's path.
#
# Usage: scripts/llama_bench_build.sh [DIR=bin/llama-bench]
#
# On CPUs with AMX (Intel Sapphire Rapids and later) the build leaves AMX
# out: llama.cpp's native AMX path (tinygemm_kernel_amx) dies of SIGILL on
# the 2-vCPU Sapphire Rapids VM this project measures on, so a native build
# cannot run at all; the AVX-512 (VNNI, BF16) paths are kept.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-bin/llama-bench}
version=0.3.36
sha256=832db0699007f1be95a7e41ef12e88926b02ba836461e36a36372db2760c1a2e
bin=$dir/build/bin/llama-bench
if [ -x "$bin" ]; then
  echo "$bin"
  exit 0
fi
mkdir -p "$dir"
sdist=$dir/llama_cpp_python-$version.tar.gz
if [ ! -f "$sdist" ] || ! echo "$sha256  $sdist" | sha256sum -c --quiet - 2>/dev/null; then
  echo "llama-bench: downloading the llama-cpp-python $version sdist from PyPI" >&2
  printf 'llama-cpp-python==%s --hash=sha256:%s\n' "$version" "$sha256" >"$dir/requirements.txt"
  python3 -m pip download --quiet --no-deps --no-binary :all: --no-build-isolation --require-hashes \
    -r "$dir/requirements.txt" -d "$dir" >&2 ||
    python3 -m pip download --quiet --no-deps --no-binary :all: --require-hashes -r "$dir/requirements.txt" -d "$dir" >&2
fi
echo "$sha256  $sdist" | sha256sum -c --quiet - || { echo "llama-bench: $sdist does not match its pinned sha256" >&2; exit 1; }
src=$dir/llama_cpp_python-$version/vendor/llama.cpp
[ -d "$src" ] || tar -xzf "$sdist" -C "$dir"
flags=()
if grep -qw amx_tile /proc/cpuinfo 2>/dev/null; then
  flags=("-DCMAKE_C_FLAGS=-mno-amx-tile -mno-amx-int8 -mno-amx-bf16" "-DCMAKE_CXX_FLAGS=-mno-amx-tile -mno-amx-int8 -mno-amx-bf16")
fi
gen=()
command -v ninja >/dev/null && gen=(-G Ninja)
echo "llama-bench: building (about 10 minutes on 2 cores)" >&2
cmake -S "$src" -B "$dir/build" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=ON -DLLAMA_CURL=OFF \
  -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF "${flags[@]}" >&2
cmake --build "$dir/build" --target llama-bench -j "$(nproc)" >&2
echo "$bin"
