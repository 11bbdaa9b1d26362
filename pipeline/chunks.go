package pipeline

import (
	"errors"
	"runtime"
	"sync"
)

// inChunks calls f on [lo, hi) chunks that cover [0, n), one chunk per CPU
// but none smaller than minRows (a single call on the caller's goroutine
// when n < 2·minRows), and returns their errors joined. f must touch only
// its own rows: the result then does not depend on the split.
func inChunks(n, minRows int, f func(lo, hi int) error) error {
	workers := min(runtime.GOMAXPROCS(0), max(1, n/max(1, minRows)))
	if workers == 1 {
		return f(0, n)
	}
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[w] = f(w*n/workers, (w+1)*n/workers)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}
