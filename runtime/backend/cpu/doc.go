// Package cpu is the CPU compute backend: quantized weight matrices kept in
// their GGUF block encodings (repacked into row tiles), integer dot-product
// kernels in Go assembly for amd64 (AVX-512 VNNI, AVX2) with a plain Go twin
// for every kernel, a persistent worker pool, f32 helpers (Dot, Axpy) and an
// f32 GEMM for training.
//
// Numerics follow llama.cpp's x86 CPU path: before a quantized product the
// activation row is itself quantized (Q8_1 for Q4_1 weights, Q8_0 for Q8_0 and
// Q4_0 weights, Q8_K for K-quants) exactly as llama.cpp's AVX2 quantizers do,
// each block's integer dot product is exact, and per-block results are scaled
// and summed in float32 (the order of that sum differs from llama.cpp).
//
// Setting CARTLSP_NOASM=1 in the environment forces the pure Go kernels.
package cpu
