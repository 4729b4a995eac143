// Command requant rewrites a GGUF model with its K-quant tensors (Q4_K,
// Q5_K, Q6_K) re-encoded as Q8_0, everything else byte for byte. On such a
// file llama.cpp's CPU order can be followed exactly, so the parity test
// (runtime/model, TestParityWithLlamaCpp) checks the rest of the Qwen2
// architecture bit for bit; the reference comes from
//
//	go run ./scripts/requant MODEL.gguf OUT.gguf
//	python3 scripts/llama_ref.py OUT.gguf
package main

import (
	"fmt"
	"os"

	"github.com/cartlsp/cartlsp/runtime/model/modeltest"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: go run ./scripts/requant MODEL.gguf OUT.gguf")
		os.Exit(2)
	}
	if err := modeltest.RequantK(os.Args[1], os.Args[2]); err != nil {
		fmt.Fprintln(os.Stderr, "requant:", err)
		os.Exit(1)
	}
}
