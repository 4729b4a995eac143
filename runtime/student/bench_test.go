package student

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cartlsp/cartlsp/runtime/backend/cpu"
	"github.com/cartlsp/cartlsp/runtime/model"
	"github.com/cartlsp/cartlsp/runtime/tokenizer"
)

// BenchmarkTrainStep times one training step (forward + backward to the
// prefix) on the default model with 2 threads: a batch of 4 sequences × 128
// tokens, every position a next-token target, for prefixes of 128, 512 and
// 2048 tokens. It reports student tokens per second and the peak Go heap in
// use during the step (sampled every 5 ms; the 540 MB of float32 weights,
// the inference model used for initialisation and the GC's slack
// included), the step's own buffers (activations and scratch, kept between
// steps), the process's peak resident set, and the CPU seconds (user +
// system, all threads) per step, which a machine shared with other work
// inflates less than the wall time.
//
//	go test ./runtime/student -run '^$' -bench TrainStep -benchtime 3x
func BenchmarkTrainStep(b *testing.B) {
	for _, prec := range []string{"f32", "bf16"} {
		s, infer, tok := realPairPrecision(b, 2, prec == "bf16")
		if c, ok := s.Backend().(*cpu.Backend); ok && c.TrainPrecision() != prec {
			continue // no matrix unit for bf16
		}
		benchTrainStep(b, s, infer, tok, prec)
	}
}

func benchTrainStep(b *testing.B, s *Model, infer *model.Model, tok *tokenizer.Tokenizer, prec string) {
	ids := tok.Encode(realText, false)
	for len(ids) < 4*128+2048 {
		ids = append(ids, ids...)
	}
	ctx := context.Background()
	for _, p := range []int{128, 512, 2048} {
		b.Run(fmt.Sprintf("p=%d/%s", p, prec), func(b *testing.B) {
			pre, err := InitFromTokens(ctx, infer, ids, p, 1)
			if err != nil {
				b.Fatal(err)
			}
			var batch []Example
			for i := 0; i < 4; i++ {
				batch = append(batch, NextToken(ids[p+i*128:p+(i+1)*128+1]))
			}
			tokens := 0
			for _, ex := range batch {
				tokens += len(ex.Targets)
			}
			// Warm up (first-use allocations), then measure.
			if _, _, err := s.Loss(ctx, pre, batch); err != nil {
				b.Fatal(err)
			}
			runtime.GC()
			var peak atomic.Uint64
			stop := make(chan struct{})
			var wg sync.WaitGroup
			wg.Add(1)
			go func() {
				defer wg.Done()
				var ms runtime.MemStats
				tick := time.NewTicker(5 * time.Millisecond)
				defer tick.Stop()
				for {
					runtime.ReadMemStats(&ms)
					if ms.HeapInuse > peak.Load() {
						peak.Store(ms.HeapInuse)
					}
					select {
					case <-stop:
						return
					case <-tick.C:
					}
				}
			}()
			cpu0 := cpuTime()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, _, err := s.Loss(ctx, pre, batch); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			cpuPerStep := (cpuTime() - cpu0).Seconds() / float64(b.N)
			close(stop)
			wg.Wait()
			b.ReportMetric(float64(tokens)*float64(b.N)/b.Elapsed().Seconds(), "tok/s")
			b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MiB")
			b.ReportMetric(float64(maxRSS())/(1<<20), "maxrss-MiB")
			b.ReportMetric(cpuPerStep, "cpu-s/step")
			if a := s.spare.Load(); a != nil {
				b.ReportMetric(float64(a.bytes())/(1<<20), "step-buffers-MiB")
			}
		})
	}
}
