package model_test

import (
	"context"
	"testing"

	"github.com/cartlsp/cartlsp/runtime/model"
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
