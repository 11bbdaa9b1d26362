package pipeline

import (
	"sync"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/churnpipe/churnpipe/data"
)

// prefetchDepth is how many decoded batches the reading goroutine may be
// ahead of the consumer.
const prefetchDepth = 2

// prefetched reads src on its own goroutine — decoding, validation,
// quarantine and the feed counter of every wrapped Source run there — while
// the caller filters duplicates and folds records into the feature
// builder, so that a streaming pass keeps two cores busy. Records are
// retained before they cross the channel and released by Next or stop.
//
// Err and Stats of the wrapped source may only be read after stop, which
// waits for the goroutine to end (and is what orders its writes before the
// caller's reads).
type prefetched struct {
	src  Source
	ch   chan arrow.RecordBatch
	quit chan struct{}
	done chan struct{}
	once sync.Once
	cur  arrow.RecordBatch
}

func prefetch(src Source) *prefetched {
	p := &prefetched{src: src, ch: make(chan arrow.RecordBatch, prefetchDepth), quit: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(p.done)
		defer close(p.ch)
		for {
			// stop drains the channel while quit is closed, so a blocked send
			// may still win the select below (Go picks a ready case at random):
			// look at quit before reading on, or the reader would go on for a
			// random number of records after stop.
			select {
			case <-p.quit:
				return
			default:
			}
			if !src.Next() {
				return
			}
			rec := src.Record()
			rec.Retain()
			select {
			case p.ch <- rec:
			case <-p.quit:
				rec.Release()
				return
			}
		}
	}()
	return p
}

func (p *prefetched) Next() bool {
	if p.cur != nil {
		p.cur.Release()
		p.cur = nil
	}
	rec, ok := <-p.ch
	p.cur = rec
	return ok
}

func (p *prefetched) Record() arrow.RecordBatch { return p.cur }

// Err stops the reader and returns the wrapped source's error.
func (p *prefetched) Err() error {
	p.stop()
	return p.src.Err()
}

// Stats stops the reader and returns the wrapped source's counts.
func (p *prefetched) Stats() data.Stats {
	p.stop()
	return p.src.Stats()
}

// Release stops the reader and releases the wrapped source.
func (p *prefetched) Release() {
	p.stop()
	p.src.Release()
}

// stop ends the reading goroutine (at once if the consumer gave up early),
// releases every record still queued, and waits for the goroutine.
func (p *prefetched) stop() {
	p.once.Do(func() {
		close(p.quit)
		for rec := range p.ch {
			rec.Release()
		}
		<-p.done
		if p.cur != nil {
			p.cur.Release()
			p.cur = nil
		}
	})
}
