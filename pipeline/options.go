package pipeline

import (
	"io"
	"log/slog"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/churnpipe/churnpipe/features/lifecycle"
	"github.com/churnpipe/churnpipe/features/rfm"
)

// Options are the knobs shared by every step of a run.
type Options struct {
	Alloc  memory.Allocator // nil = memory.DefaultAllocator
	Logger *slog.Logger     // nil = discard
	Rules  lifecycle.Rules  // zero value = lifecycle.DefaultRules()
	// Segments is the RFM segment rule table; nil = rfm.DefaultRules().
	Segments rfm.Rules
	// Progress receives progress bars (counts and rates); they are drawn
	// only when it is a terminal. nil = none.
	Progress io.Writer
	// OnStep, if set, is called when a step of a nightly run ends, with the
	// step's name as in NightlyResult.Seconds (benchmarks read the peak
	// memory of each step there).
	OnStep func(step string)

	// tap, when set, receives every deduplicated event record a night
	// reads (the subscriber state of the contractual setting).
	tap func(arrow.RecordBatch) error
}

func (o Options) progressWriter() io.Writer {
	if o.Progress == nil {
		return io.Discard
	}
	return o.Progress
}

func (o Options) withDefaults() Options {
	if o.Alloc == nil {
		o.Alloc = memory.DefaultAllocator
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.Rules == (lifecycle.Rules{}) {
		o.Rules = lifecycle.DefaultRules()
	}
	if o.Segments == nil {
		o.Segments = rfm.DefaultRules()
	}
	return o
}

func (o Options) withLogger(l *slog.Logger) Options {
	o.Logger = l
	return o
}
