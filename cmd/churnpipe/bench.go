package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/churnpipe/churnpipe/jobs"
	"github.com/churnpipe/churnpipe/jobs/bench"
	"github.com/churnpipe/churnpipe/jobs/realdata"
	"github.com/churnpipe/churnpipe/pipeline"
)

func init() {
	extraCommands = append(extraCommands,
		command{"bench", "run the nightly job on a synthetic tier (S, M, L) and print timings and peak RSS as JSON", runBench})
}

func runBench(ctx context.Context, args []string, stdout io.Writer) error {
	fs, lf := newFlags("bench", "bench --tier S|M|L [--dir DIR] [--db DSN] [--keep=false] [--read-pass] [--feature-pass] [--csv] [--cpuprofile FILE] [--heapprofile PREFIX] [--shards N] [--registry DIR]\n       bench --real DIR [--quick] [--postgres URL] [--only NAME,…] [--json]   (the real-data acceptance table)")
	var c bench.Config
	fs.StringVar(&c.Tier, "tier", "S", "tier: S (10 k customers, ~1 M events), M (1 M, ~50 M), L (10 M, ~500 M)")
	fs.StringVar(&c.Dir, "dir", bench.DefaultDir, "folder for the generated history (reused when present), the database and the quarantine")
	fs.StringVar(&c.DB, "db", "", "sink DSN (default: a fresh SQLite file in --dir)")
	fs.BoolVar(&c.Keep, "keep", true, "keep the generated history for later runs (false: remove what this run generated)")
	fs.BoolVar(&c.ReadPass, "read-pass", false, "also time a pure read pass, to split read_features into read and features")
	fs.BoolVar(&c.FeaturePass, "feature-pass", false, "also time the feature builder alone on the history held in memory (~2 GB for M; not for L)")
	fs.BoolVar(&c.CSV, "csv", false, "also write the history as CSV beside the Parquet file (for the pandas peer)")
	fs.StringVar(&c.CPUProfile, "cpuprofile", "", "write the CPU profile of the nightly run to this file")
	fs.StringVar(&c.HeapProfile, "heapprofile", "", "after each step of the nightly run, write the live heap to PREFIX-<step>.pprof (forces a GC per step)")
	fs.StringVar(&c.Registry, "registry", "", "apply this registry's champion churn model, as a production night does (train it first, e.g. on one partition: churnpipe train --input …/part-00000-of-00004.parquet)")
	fs.IntVar(&c.Shards, "shards", 0, "run the night sharded: partition the history into N files (cached), run the N workers one after another, then the finalize step")
	real := fs.String("real", "", "run the real-data acceptance suite on this data folder (e.g. ../shared/data): train, then nightly with that registry, per history; prints one table")
	quick := fs.Bool("quick", false, "with --real: train a small model (2 snapshots, logit and recency), as the CI test does")
	pg := fs.String("postgres", "", "with --real: also publish each history into a fresh schema of this PostgreSQL database (dropped afterwards)")
	only := fs.String("only", "", "with --real: comma-separated history names (cdnow_sample, cdnow_master, dunnhumby)")
	asJSON := fs.Bool("json", false, "with --real: print the rows as JSON instead of a Markdown table")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	log, err := lf.setup()
	if err != nil {
		return err
	}
	if *real != "" {
		rc := realdata.Config{Dir: *real, Quick: *quick, Postgres: *pg}
		if *only != "" {
			rc.Only = strings.Split(*only, ",")
		}
		if err := realdata.Available(*real); err != nil && *only == "" {
			return &jobs.UsageError{Err: err}
		}
		rows, err := realdata.Run(ctx, rc, pipeline.Options{Logger: log})
		if *asJSON {
			enc := json.NewEncoder(stdout)
			enc.SetIndent("", "  ")
			if jerr := enc.Encode(rows); jerr != nil {
				return jerr
			}
		} else {
			fmt.Fprint(stdout, realdata.Markdown(rows))
		}
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
