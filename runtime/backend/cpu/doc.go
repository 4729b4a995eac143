// Package cpu is the CPU compute backend, the fast implementation of
// backend.Backend (backend.go, ops.go, prefix.go, train.go): activations are
// float32 Go slices, quantized weight matrices are kept in their GGUF block
// encodings (repacked into row tiles), integer dot-product kernels in Go
// assembly for amd64 (AVX-512 VNNI, AVX2) with a plain Go twin for every
// kernel, a persistent worker pool, f32 helpers (Dot, Axpy) and an f32 GEMM
// and row kernels (ExpRow, MaxRow, SoftmaxBack, SwiGLUBack) for training.
// Every operation is checked against the reference backend by
// backendtest.Conformance.
//
// Numerics follow llama.cpp's x86 CPU path: before a quantized product the
// activation row is itself quantized (Q8_1 for Q4_1 and Q5_1 weights, Q8_0
// for Q8_0, Q5_0 and Q4_0 weights, Q8_K for K-quants) exactly as llama.cpp's
// AVX2 quantizers do. Q4_1, Q5_1, Q5_0 and Q8_0 products are then
// bit-identical to llama.cpp's (ggml_vec_dot_q4_1_q8_1,
// ggml_vec_dot_q5_1_q8_1, ggml_vec_dot_q8_0_q8_0, tinyBLAS_Q0_AVX): eight
// lanes of four columns, each lane's exact integer sum fused into its own
// float32 accumulator block by block, the lanes added as hsum_float_8 (see
// kern_go.go). Q4_0 follows ggml_vec_dot_q4_0_q8_0, which llama.cpp itself
// replaces by repacked kernels on AVX2 CPUs; K-quant sums are in another
// order than llama.cpp's. The attention helpers (AttnScores, AttnValues,
// SoftmaxExp, SwiGLU, RoundF16) reproduce llama.cpp's F16-cache attention and
// SwiGLU bit for bit (see attn.go).
//
// Setting CARTLSP_NOASM=1 in the environment forces the pure Go kernels.
package cpu
