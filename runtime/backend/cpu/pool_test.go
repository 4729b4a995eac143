package cpu

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestPoolCoverage: every index of [0, n) is visited exactly once, for many
// sizes and back-to-back calls, including after the workers have parked.
func TestPoolCoverage(t *testing.T) {
	for _, threads := range []int{1, 2, 3, 8} {
		p := NewPool(threads)
		for iter := 0; iter < 2000; iter++ {
			n := iter % 97
			if iter == 1000 {
				time.Sleep(2 * spinFor) // let the workers park
			}
			seen := make([]int32, n)
			p.Run(n, func(lo, hi int) {
				if lo < 0 || hi > n || lo >= hi {
					t.Errorf("bad chunk [%d, %d) of %d", lo, hi, n)
				}
				for i := lo; i < hi; i++ {
					atomic.AddInt32(&seen[i], 1)
				}
			})
			for i, s := range seen {
				if s != 1 {
					t.Fatalf("threads %d n %d: index %d visited %d times", threads, n, i, s)
				}
			}
		}
		p.Close()
		p.Close() // idempotent
		ran := false
		p.Run(3, func(lo, hi int) { ran = lo == 0 && hi == 3 })
		if !ran {
			t.Fatalf("Run after Close did not run inline")
		}
	}
}

// TestPoolParallel: with 2 threads both take part, a nested Run runs inline,
// and concurrent callers are serialised safely.
func TestPoolParallel(t *testing.T) {
	p := NewPool(2)
	defer p.Close()
	var mu sync.Mutex
	ranges := 0
	p.RunChunked(100, 1, func(lo, hi int) {
		time.Sleep(10 * time.Microsecond)
		mu.Lock()
		ranges++
		mu.Unlock()
		inner := 0
		p.Run(10, func(lo, hi int) { inner += hi - lo })
		if inner != 10 {
			t.Errorf("nested Run covered %d", inner)
		}
	})
	if ranges != 100 {
		t.Fatalf("chunks %d", ranges)
	}
	var wg sync.WaitGroup
	var total atomic.Int64
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 500; i++ {
				p.Run(64, func(lo, hi int) { total.Add(int64(hi - lo)) })
			}
		}()
	}
	wg.Wait()
	if total.Load() != 4*500*64 {
		t.Fatalf("total %d", total.Load())
	}
	var nilPool *Pool
	if nilPool.Threads() != 1 {
		t.Fatal("nil pool threads")
	}
	nilPool.Run(5, func(lo, hi int) {
		if lo != 0 || hi != 5 {
			t.Fatal("nil pool chunk")
		}
	})
}

// BenchmarkPoolRun measures the cost of one Run with trivial work.
func BenchmarkPoolRun(b *testing.B) {
	for _, threads := range []int{1, 2} {
		b.Run(map[int]string{1: "threads=1", 2: "threads=2"}[threads], func(b *testing.B) {
			p := NewPool(threads)
			defer p.Close()

			for i := 0; i < b.N; i++ {
				p.Run(36, func(lo, hi int) {})
			}
		})
	}
}
