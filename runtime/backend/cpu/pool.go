package cpu

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// Pool is a fixed set of worker goroutines that run the chunks of a parallel
// loop together with the calling goroutine.
//
// Each Run publishes an immutable job (an atomic pointer swap); idle workers
// poll for it for spinFor before they park on their channel, so the many
// back-to-back calls of a forward pass never pay a futex wake-up. Chunks are
// claimed with an atomic counter and Run returns when every chunk is done: it
// never waits for a worker that arrives too late to claim one.
type Pool struct {
	threads int
	mu      sync.Mutex // one Run at a time; a nested or concurrent Run runs inline
	cur     atomic.Pointer[poolJob]
	closed  atomic.Bool
	solo    atomic.Int64 // until this time (UnixNano) Run runs inline
	stalls  atomic.Int64 // times solo mode was entered
	workers []*poolWorker
	wg      sync.WaitGroup
}

// poolJob is one Run: fixed fields set before publication, then counters.
type poolJob struct {
	fn      func(lo, hi int)
	n       int64
	chunk   int64
	nchunks int64
	next    atomic.Int64 // start of the next unclaimed chunk
	done    atomic.Int64 // chunks finished
}

type poolWorker struct {
	parked atomic.Bool
	wake   chan struct{} // capacity 1
}

// spinFor is how long an idle worker polls for new work before it parks.
const spinFor = 200 * time.Microsecond

// When a Run's caller has to wait longer than stallWait (plus twice its own
// mean chunk time) for a worker to finish its chunk, the worker's OS thread was most likely preempted by
// another process. Barrier-heavy work then runs slower on two contended
// threads than on one, so the pool runs every Run inline for soloFor before
// it tries its workers again.
const (
	stallWait = time.Millisecond
	soloFor   = 50 * time.Millisecond
)

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
	p.cur.Store(&poolJob{}) // an empty job: workers start past it
	for i := 0; i < threads-1; i++ {
		w := &poolWorker{wake: make(chan struct{}, 1)}
		p.workers = append(p.workers, w)
		p.wg.Add(1)
		go p.loop(w, p.cur.Load())
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

// Stalls counts how often a worker stalled (most likely preempted by another
// process) and the pool fell back to running inline for a while.
func (p *Pool) Stalls() int64 {
	if p == nil {
		return 0
	}
	return p.stalls.Load()
}

// Close stops the workers. Run after Close runs inline.
func (p *Pool) Close() {
	if p == nil || p.closed.Swap(true) {
		return
	}
	p.mu.Lock()
	p.publish(&poolJob{})
	p.mu.Unlock()
	p.wg.Wait()
}

// publish makes j the current job and wakes parked workers.
func (p *Pool) publish(j *poolJob) {
	p.cur.Store(j)
	for _, w := range p.workers {
		if w.parked.Load() && w.parked.CompareAndSwap(true, false) {
			w.wake <- struct{}{}
		}
	}
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
	if p == nil || p.threads == 1 || n <= chunk || p.closed.Load() {
		fn(0, n)
		return
	}
	if solo := p.solo.Load(); solo != 0 {
		if time.Now().UnixNano() < solo {
			fn(0, n)
			return
		}
		p.solo.Store(0)
	}
	if !p.mu.TryLock() {
		fn(0, n)
		return
	}
	j := &poolJob{fn: fn, n: int64(n), chunk: int64(chunk), nchunks: int64((n + chunk - 1) / chunk)}
	p.publish(j)
	t0 := time.Now()
	mine := j.work()
	var t1 time.Time
	for i := 0; j.done.Load() != j.nchunks; i++ {
		if i < 64 {
			continue
		}
		runtime.Gosched()
		if i&63 != 0 {
			continue
		}
		if t1.IsZero() {
			t1 = time.Now()
			continue
		}
		// A worker chunk should take about as long as ours did.
		avg := t1.Sub(t0) / time.Duration(max(mine, 1))
		if time.Since(t1) > stallWait+2*avg && p.solo.Load() == 0 {
			p.solo.Store(time.Now().Add(soloFor).UnixNano())
			p.stalls.Add(1)
		}
	}
	p.mu.Unlock()
}

// work claims and runs chunks of j until none are left; it returns how
// many it ran.
func (j *poolJob) work() int {
	ran := 0
	for {
		lo := j.next.Add(j.chunk) - j.chunk
		if lo >= j.n {
			return ran
		}
		j.fn(int(lo), int(min(lo+j.chunk, j.n)))
		j.done.Add(1)
		ran++
	}
}

func (p *Pool) loop(w *poolWorker, seen *poolJob) {
	defer p.wg.Done()
	for {
		// Wait for a new job: spin, then park.
		start := time.Now()
		for i := 0; p.cur.Load() == seen; i++ {
			if i&63 != 63 {
				continue
			}
			if time.Since(start) < spinFor {
				runtime.Gosched()
				continue
			}
			w.parked.Store(true)
			if p.cur.Load() != seen {
				// Work arrived meanwhile: unpark ourselves, or eat the
				// token publish is sending if it saw us parked first.
				if !w.parked.CompareAndSwap(true, false) {
					<-w.wake
				}
				break
			}
			<-w.wake
			start = time.Now()
		}
		if p.closed.Load() {
			return
		}
		seen = p.cur.Load()
		seen.work()
	}
}
