package jobs

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/churnpipe/churnpipe/data"
	"github.com/churnpipe/churnpipe/data/synth"
	"github.com/churnpipe/churnpipe/pipeline"
)

// SynthConfig describes a synthetic history to write.
type SynthConfig struct {
	Customers  int
	Start, End time.Time
	Seed       uint64
	Out        string // .parquet, .arrow or .csv; a folder with Partitions
	// Partitions > 0 writes the history as that many Parquet files in the
	// folder Out, partitioned by customer (data.CreatePartitioned).
	Partitions int
	// Tier "S", "M" or "L" writes that benchmark tier (data/synth.Tier, the
	// history churnpipe bench runs on) instead of Customers over
	// [Start, End]; a Seed other than 0 replaces the tier's.
	Tier string
}

// Synth writes a synthetic interaction history (see package data/synth).
func Synth(ctx context.Context, c SynthConfig, mem memory.Allocator) (synth.Stats, error) {
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	var cfg synth.Config
	if c.Tier != "" {
		var err error
		if cfg, err = synth.Tier(c.Tier); err != nil {
			return synth.Stats{}, &UsageError{fmt.Errorf("--tier: %w", err)}
		}
		if c.Seed != 0 {
			cfg.Seed = c.Seed
		}
	} else {
		if c.Customers <= 0 {
			return synth.Stats{}, &UsageError{fmt.Errorf("--customers %d: must be positive", c.Customers)}
		}
		if !c.End.After(c.Start) {
			return synth.Stats{}, &UsageError{fmt.Errorf("--end %s must be after --start %s", c.End.Format(time.DateOnly), c.Start.Format(time.DateOnly))}
		}
		cfg = synth.DefaultConfig(c.Customers, c.Start, c.End, c.Seed)
	}
	if c.Out == "" {
		return synth.Stats{}, &UsageError{fmt.Errorf("no --out file")}
	}
	var w interface {
		Write(arrow.RecordBatch) error
		Close() error
		Abort()
	}
	if c.Partitions > 0 {
		pw, err := data.CreatePartitioned(c.Out, c.Partitions, data.WriteOptions{Alloc: mem})
		if err != nil {
			return synth.Stats{}, &UsageError{err}
		}
		w = pw
	} else {
		fw, err := data.CreateFile(c.Out, data.EventSchema, data.WriteOptions{Alloc: mem})
		if err != nil {
			return synth.Stats{}, err
		}
		w = fileWriter{fw}
	}
	st, err := synth.Generate(ctx, cfg, mem, func(rec arrow.RecordBatch) error { return w.Write(rec) })
	if err != nil {
		w.Abort()
		return st, err
	}
	return st, w.Close()
}

// fileWriter adapts data.FileWriter's Abort (which returns an error) to
// the writers Synth uses.
type fileWriter struct{ *data.FileWriter }

func (w fileWriter) Abort() { w.FileWriter.Abort() }

// DemoConfig is the self-contained demo: synthetic customers over two years,
// scored on the last day into a SQLite file.
type DemoConfig struct {
	Dir       string // where history.parquet and predictions.db go
	Customers int    // 0 = 5,000
	Seed      uint64
}

// DemoResult says what the demo produced.
type DemoResult struct {
	History  string
	DB       string
	Synth    synth.Stats
	Registry string
	Train    *pipeline.TrainReport
	Nightly  pipeline.NightlyResult
}

// Demo generates the sample history and runs the nightly job on its last day.
func Demo(ctx context.Context, c DemoConfig, opt pipeline.Options) (DemoResult, error) {
	if c.Customers == 0 {
		c.Customers = 5000
	}
	if c.Dir == "" {
		c.Dir = "churnpipe-demo"
	}
	if err := os.MkdirAll(c.Dir, 0o755); err != nil {
		return DemoResult{}, err
	}
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	end := time.Date(2025, 12, 31, 0, 0, 0, 0, time.UTC)
	res := DemoResult{History: filepath.Join(c.Dir, "history.parquet"), DB: filepath.Join(c.Dir, "predictions.db")}
	st, err := Synth(ctx, SynthConfig{Customers: c.Customers, Start: start, End: end, Seed: c.Seed, Out: res.History}, opt.Alloc)
	res.Synth = st
	if err != nil {
		return res, err
	}
	in := pipeline.Input{Path: res.History, MaxReject: 0.01}
	res.Registry = filepath.Join(c.Dir, "models")
	tc := TrainConfig{Input: in, TrainConfig: pipeline.TrainConfig{AsOf: end, Registry: res.Registry, Seed: c.Seed + 1}}
	tc.Input.Quarantine = filepath.Join(c.Dir, "quarantine-train.csv")
	if res.Train, err = Train(ctx, tc, opt); err != nil {
		return res, err
	}
	cfg := NightlyConfig{NightlyConfig: pipeline.NightlyConfig{
		Input: in, AsOf: end, DB: "sqlite:" + res.DB, Registry: res.Registry,
	}}
	res.Nightly, err = Nightly(ctx, cfg, opt)
	return res, err
}
