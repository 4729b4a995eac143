#!/usr/bin/env bash
# Regenerates runtime/backend/cpu/neon_arm64.s from scripts/neon/kernels.S
# (see scripts/neon_asm.py), installing binutils' aarch64 assembler from
# Debian when it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v aarch64-linux-gnu-as >/dev/null; then
  echo "neon_asm: installing binutils-aarch64-linux-gnu" >&2
  sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get install -y -q binutils-aarch64-linux-gnu >&2
fi
python3 scripts/neon_asm.py
