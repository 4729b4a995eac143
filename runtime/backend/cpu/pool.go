package cpu

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// Pool is a fixed set of worker goroutines that run the chunks of a parallel
// loop together with the calling goroutine. Run costs a few hundred
// nanoseconds when the workers are awake: after a job a worker spins for
// spinFor on an atomic generation counter before it parks on its channel, so
// the many back-to-back calls of a forward pass never pay a futex wake-up.
type Pool struct {
	threads int
	mu      sync.Mutex // one Run at a time; a nested or concurrent Run runs inline

	// The current job, published by gen.
	fn      func(lo, hi int)
	n       int
	chunk   int
	next    atomic.Int64 // start of the next unclaimed chunk
	pending atomic.Int32 // workers still inside the current job
	gen     atomic.Uint64
	closed  atomic.Bool

	workers []*poolWorker
	wg      sync.WaitGroup
}

type poolWorker struct {
	parked atomic.Bool
	wake   chan struct{} // capacity 1
}

// spinFor is how long an idle worker polls for new work before it parks.
const spinFor = 200 * time.Microsecond

// chunksPerThread sets the default chunk size of Run: [0, n) is cut into
// about threads·chunksPerThread pieces, claimed dynamically.
const chunksPerThread = 4

// NewPool starts threads-1 workers (the caller of Run is the last thread).
// threads < 1 means runtime.GOMAXPROCS(0).
func NewPool(threads int) *Pool {
	if threads < 1 {
		threads = runtime.GOMAXPROCS(0)
	}
	p := &Pool{threads: threads}
	for i := 0; i < threads-1; i++ {
		w := &poolWorker{wake: make(chan struct{}, 1)}
		p.workers = append(p.workers, w)
		p.wg.Add(1)
		go p.loop(w)
	}
	return p
}

// Threads is the number of threads Run uses, the caller included.
func (p *Pool) Threads() int {
	if p == nil {
		return 1
	}
	return p.threads
}

// Close stops the workers. Run after Close runs inline.
func (p *Pool) Close() {
	if p == nil || p.closed.Swap(true) {
		return
	}
	p.mu.Lock()
	p.gen.Add(1)
	for _, w := range p.workers {
		if w.parked.CompareAndSwap(true, false) {
			w.wake <- struct{}{}
		}
	}
	p.mu.Unlock()
	p.wg.Wait()
}

// Run calls fn on disjoint chunks [lo, hi) covering [0, n), concurrently on
// the pool's threads, and returns when all are done. A nil pool, a pool of one
// thread, a closed pool, or a Run nested inside another Run calls fn(0, n).
func (p *Pool) Run(n int, fn func(lo, hi int)) {
	if n <= 0 {
		return
	}
	chunk := 1
	if p != nil {
		chunk = (n + p.threads*chunksPerThread - 1) / (p.threads * chunksPerThread)
	}
	p.RunChunked(n, chunk, fn)
}

// RunChunked is Run with an explicit chunk size: fn receives ranges of chunk
// elements (the last one may be shorter).
func (p *Pool) RunChunked(n, chunk int, fn func(lo, hi int)) {
	if n <= 0 {
		return
	}
	if chunk < 1 {
		chunk = 1
	}
	if p == nil || p.threads == 1 || n <= chunk || p.closed.Load() || !p.mu.TryLock() {
		fn(0, n)
		return
	}
	p.fn, p.n, p.chunk = fn, n, chunk
	p.next.Store(0)
	p.pending.Store(int32(len(p.workers)))
	p.gen.Add(1) // publishes the job
	for _, w := range p.workers {
		if w.parked.Load() && w.parked.CompareAndSwap(true, false) {
			w.wake <- struct{}{}
		}
	}
	p.work()
	for i := 0; p.pending.Load() != 0; i++ {
		if i > 64 {
			runtime.Gosched()
		}
	}
	p.fn = nil
	p.mu.Unlock()
}

// work claims and runs chunks of the current job until none are left.
func (p *Pool) work() {
	n, chunk, fn := int64(p.n), int64(p.chunk), p.fn
	for {
		lo := p.next.Add(chunk) - chunk
		if lo >= n {
			return
		}
		fn(int(lo), int(min(lo+chunk, n)))
	}
}

func (p *Pool) loop(w *poolWorker) {
	defer p.wg.Done()
	seen := p.gen.Load()
	for {
		// Wait for a new generation: spin, then park.
		start := time.Now()
		for i := 0; p.gen.Load() == seen; i++ {
			if i&63 != 63 {
				continue
			}
			if time.Since(start) < spinFor {
				runtime.Gosched()
				continue
			}
			w.parked.Store(true)
			if p.gen.Load() != seen {
				// Work arrived meanwhile: unpark ourselves, or eat the
				// token Run is sending if it saw us parked first.
				if !w.parked.CompareAndSwap(true, false) {
					<-w.wake
				}
				break
			}
			<-w.wake
			start = time.Now()
		}
		seen = p.gen.Load()
		if p.closed.Load() {
			return
		}
		p.work()
		p.pending.Add(-1)
	}
}
