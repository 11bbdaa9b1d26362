package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"

	"github.com/churnpipe/churnpipe/jobs"
	"github.com/churnpipe/churnpipe/jobs/bench"
	"github.com/churnpipe/churnpipe/pipeline"
)

func init() {
	extraCommands = append(extraCommands,
		command{"bench", "run the nightly job on a synthetic tier (S, M, L) and print timings and peak RSS as JSON", runBench})
}

func runBench(ctx context.Context, args []string, stdout io.Writer) error {
	fs, lf := newFlags("bench", "bench --tier S|M|L [--dir DIR] [--db DSN] [--keep=false] [--read-pass] [--feature-pass] [--csv] [--cpuprofile FILE] [--shards N] [--registry DIR]")
	var c bench.Config
	fs.StringVar(&c.Tier, "tier", "S", "tier: S (10 k customers, ~1 M events), M (1 M, ~50 M), L (10 M, ~500 M)")
	fs.StringVar(&c.Dir, "dir", bench.DefaultDir, "folder for the generated history (reused when present), the database and the quarantine")
	fs.StringVar(&c.DB, "db", "", "sink DSN (default: a fresh SQLite file in --dir)")
	fs.BoolVar(&c.Keep, "keep", true, "keep the generated history for later runs (false: remove what this run generated)")
	fs.BoolVar(&c.ReadPass, "read-pass", false, "also time a pure read pass, to split read_features into read and features")
	fs.BoolVar(&c.FeaturePass, "feature-pass", false, "also time the feature builder alone on the history held in memory (~2 GB for M; not for L)")
	fs.BoolVar(&c.CSV, "csv", false, "also write the history as CSV beside the Parquet file (for the pandas peer)")
	fs.StringVar(&c.CPUProfile, "cpuprofile", "", "write the CPU profile of the nightly run to this file")
	fs.StringVar(&c.Registry, "registry", "", "apply this registry's champion churn model, as a production night does (train it first, e.g. on one partition: churnpipe train --input …/part-00000-of-00004.parquet)")
	fs.IntVar(&c.Shards, "shards", 0, "run the night sharded: partition the history into N files (cached), run the N workers one after another, then the finalize step")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	log, err := lf.setup()
	if err != nil {
		return err
	}
	res, err := bench.Run(ctx, c, pipeline.Options{Logger: log})
	if errors.Is(err, bench.ErrConfig) {
		return &jobs.UsageError{Err: err}
	}
	if err != nil {
		return err
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(res)
}
