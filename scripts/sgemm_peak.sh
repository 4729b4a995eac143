#!/usr/bin/env bash
# The machine's float32 GEMM peak, measured with a strong reference: OpenBLAS (as bundled in numpy's
# wheel, pinned) on large square products, 1 and 2 threads, best of 5. docs/BENCHMARKS.md states the
# training step's effective GFLOP/s against this figure. The bf16 matrix unit's ceiling is
# `go test ./runtime/backend/cpu -run '^$' -bench AMXPeak`.
#
#   scripts/sgemm_peak.sh            (installs numpy into bin/peak-venv on first use)
set -euo pipefail
VENV=${VENV:-bin/peak-venv}
if [ ! -x "$VENV/bin/python" ]; then
	python3 -m venv "$VENV"
	"$VENV/bin/pip" install -q --disable-pip-version-check numpy==2.2.6
fi
for t in 1 2; do
	OPENBLAS_NUM_THREADS=$t "$VENV/bin/python" - "$t" <<'PY'
import sys, time
import numpy as np
t = sys.argv[1]
for n in (2048, 4096):
    rng = np.random.default_rng(1)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    c = a @ b  # warm-up
    best = min(
        (lambda t0: (a @ b, time.perf_counter() - t0)[1])(time.perf_counter()) for _ in range(5)
    )
    print(f"openblas sgemm {n}x{n}x{n} threads={t}: {2 * n**3 / best / 1e9:.1f} GFLOP/s")
PY
done
