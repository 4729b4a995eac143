package model_test

import (
	"context"
	"testing"

	"github.com/cartlsp/cartlsp/runtime/backend"
	"github.com/cartlsp/cartlsp/runtime/backend/cpu"
	"github.com/cartlsp/cartlsp/runtime/model"
	"github.com/cartlsp/cartlsp/runtime/model/modeltest"
)

// BenchmarkDecode decodes one token after a 512-token context on the real
// model (go test -bench Decode -run ^$ ./runtime/model/).
func BenchmarkDecode(b *testing.B) {
	m, _ := realModel(b, 2)
	ctx := context.Background()
	prompt := make([]int, 512)
	for i := range prompt {
		prompt[i] = (i * 7919) % m.Vocab
	}
	cache := m.NewCache(1, 512+b.N+1)
	if _, err := m.Forward(ctx, cache, model.Batch{{Seq: 0, Tokens: prompt}}); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := m.Forward(ctx, cache, model.Batch{{Seq: 0, Tokens: []int{i % m.Vocab}}}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tok/s")
}

// BenchmarkPrefill prefills 512 tokens in one batch.
func BenchmarkPrefill(b *testing.B) {
	m, _ := realModel(b, 2)
	ctx := context.Background()
	prompt := make([]int, 512)
	for i := range prompt {
		prompt[i] = (i * 7919) % m.Vocab
	}
	for i := 0; i < b.N; i++ {
		cache := m.NewCache(1, 512)
		if _, err := m.Forward(ctx, cache, model.Batch{{Seq: 0, Tokens: prompt}}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(512*b.N)/b.Elapsed().Seconds(), "tok/s")
}

// BenchmarkTeacher compares the model with its quantized weights
// (llama.cpp's numerics) and with its matrices dequantized to bf16 on the
// matrix unit (cpu.Backend.WithBF16Weights), the two ways self-study's teacher
// can run: a 512-token prefill, and a decode tick of 32 sequences (one
// token each after 128 of context), synthesis's steady state.
//
//	go test ./runtime/model -run '^$' -bench Teacher -benchtime 3x
func BenchmarkTeacher(b *testing.B) {
	f, _, _ := modeltest.Real(b, 2)
	for _, w := range []string{"quantized", "bf16"} {
		be := cpu.NewBackend(2)
		var mbe backend.Backend = be
		if w == "bf16" {
			if !cpu.HasAMX() {
				be.Close()
				continue
			}
			mbe = be.WithBF16Weights()
		}
		m, err := model.New(f, mbe)
		if err != nil {
			b.Fatal(err)
		}
		ctx := context.Background()
		prompt := make([]int, 512)
		for i := range prompt {
			prompt[i] = (i * 7919) % m.Vocab
		}
		b.Run("prefill512/"+w, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				cache := m.NewCache(1, 512)
				if _, err := m.Forward(ctx, cache, model.Batch{{Seq: 0, Tokens: prompt}}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(512*b.N)/b.Elapsed().Seconds(), "tok/s")
		})
		b.Run("decode32/"+w, func(b *testing.B) {
			const seqs, ctxLen = 32, 128
			cache := m.NewCache(seqs, ctxLen+b.N+1)
			var pre model.Batch
			for s := 0; s < seqs; s++ {
				pre = append(pre, model.SeqTokens{Seq: s, Tokens: prompt[s : s+ctxLen]})
			}
			if _, err := m.Forward(ctx, cache, pre); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				var tick model.Batch
				for s := 0; s < seqs; s++ {
					tick = append(tick, model.SeqTokens{Seq: s, Tokens: []int{(i + s) % m.Vocab}})
				}
				if _, err := m.Forward(ctx, cache, tick); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(seqs*b.N)/b.Elapsed().Seconds(), "tok/s")
		})
		be.Close()
	}
}
