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

// Settings of `synth --setting` and `demo --setting`.
const (
	SettingNonContractual = "noncontractual" // buyers (the default)
	SettingContractual    = "contractual"    // subscribers: trials, renewals, cancellations
)

// ParseSetting checks a --setting value.
func ParseSetting(s string) (string, error) {
	switch s {
	case "", SettingNonContractual, "non-contractual":
		return SettingNonContractual, nil
	case SettingContractual:
		return SettingContractual, nil
	}
	return "", &UsageError{fmt.Errorf("--setting %q: want noncontractual or contractual", s)}
}

// SynthContractual writes a synthetic subscription history with known sBG
// parameters (synth.DefaultContractual) to c.Out.
func SynthContractual(ctx context.Context, c SynthConfig, mem memory.Allocator) (synth.ContractualStats, error) {
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	if c.Out == "" {
		return synth.ContractualStats{}, &UsageError{fmt.Errorf("no --out file")}
	}
	if c.Tier != "" || c.Partitions > 0 {
		return synth.ContractualStats{}, &UsageError{fmt.Errorf("--setting contractual cannot be combined with --tier or --partitions")}
	}
	cfg := synth.DefaultContractual(c.Customers, c.Start, c.End, c.Seed)
	if err := cfg.Validate(); err != nil {
		return synth.ContractualStats{}, &UsageError{err}
	}
	fw, err := data.CreateFile(c.Out, data.EventSchema, data.WriteOptions{Alloc: mem})
	if err != nil {
		return synth.ContractualStats{}, err
	}
	st, err := synth.GenerateContractual(ctx, cfg, mem, func(rec arrow.RecordBatch) error { return fw.Write(rec) })
	if err != nil {
		fw.Abort()
		return st, err
	}
	return st, fw.Close()
}

// DemoContractualResult says what the contractual demo produced.
type DemoContractualResult struct {
	History string
	DB      string
	Synth   synth.ContractualStats
	Nightly pipeline.NightlyResult
}

// DemoContractual generates a subscription business over two years and runs
// the nightly job on its last day: subscriber stages, sBG retention, the
// supervised cancel model, residual CLV (no buyer churn model: the few
// one-off buyers get the rule-based and CLV columns).
func DemoContractual(ctx context.Context, c DemoConfig, opt pipeline.Options) (DemoContractualResult, error) {
	if c.Customers == 0 {
		c.Customers = 5000
	}
	if c.Dir == "" {
		c.Dir = "churnpipe-demo"
	}
	if err := os.MkdirAll(c.Dir, 0o755); err != nil {
		return DemoContractualResult{}, err
	}
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	end := time.Date(2025, 12, 31, 0, 0, 0, 0, time.UTC)
	res := DemoContractualResult{History: filepath.Join(c.Dir, "history.parquet"), DB: filepath.Join(c.Dir, "predictions.db")}
	st, err := SynthContractual(ctx, SynthConfig{Customers: c.Customers, Start: start, End: end, Seed: c.Seed, Out: res.History}, opt.Alloc)
	res.Synth = st
	if err != nil {
		return res, err
	}
	in := pipeline.Input{Path: res.History, MaxReject: 0.01, Quarantine: filepath.Join(c.Dir, "quarantine.csv")}
	cfg := NightlyConfig{NightlyConfig: pipeline.NightlyConfig{Input: in, AsOf: end, DB: "sqlite:" + res.DB}}
	res.Nightly, err = Nightly(ctx, cfg, opt)
	return res, err
}
