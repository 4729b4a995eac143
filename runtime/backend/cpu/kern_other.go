//go:build !amd64 && !arm64

package cpu

import "github.com/cartlsp/cartlsp/runtime/gguf"

func asmKernel(typ gguf.Type, q8off bool, lvl level) tileKernel { return nil }

func asmKDot(t gguf.Type, lvl level) kdotKernel { return nil }

func asmKDot4(t gguf.Type, lvl level) kdot4Kernel { return nil }
