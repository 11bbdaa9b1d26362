package jobs

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"time"

	"github.com/churnpipe/churnpipe/features/lifecycle"
	"github.com/churnpipe/churnpipe/features/rfm"
	"github.com/churnpipe/churnpipe/internal/metrics"
	"github.com/churnpipe/churnpipe/jobs/config"

	"github.com/churnpipe/churnpipe/pipeline"
)

// DefaultDB is the sink used when none is given: a SQLite file in the
// working folder.
const DefaultDB = "sqlite:churnpipe.db"

// DefaultRegistry is the model registry folder used when none is given
// (config.DefaultRegistry, the same for every command).
const DefaultRegistry = config.DefaultRegistry

// NightlyConfig is the nightly job's configuration as a scheduler gives it.
type NightlyConfig struct {
	pipeline.NightlyConfig
	// TimeZone decides which day "yesterday" is when AsOf is zero.
	TimeZone *time.Location
	// Rules are the lifecycle thresholds; zero = the defaults.
	Rules lifecycle.Rules
	// Segments is the RFM segment rule table; nil = the default.
	Segments rfm.Rules
	// MetricsFile, if set, receives the run's metrics in the Prometheus text
	// format (node_exporter textfile collector); Pushgateway, if set, gets
	// them pushed under job MetricsJob.
	MetricsFile, Pushgateway, MetricsJob string
}

// Yesterday returns the calendar day before now in loc, as a UTC day.
func Yesterday(now time.Time, loc *time.Location) time.Time {
	y, m, d := now.In(loc).AddDate(0, 0, -1).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// Nightly runs the nightly job with defaults filled in: the as-of day is
// yesterday in TimeZone, the database DefaultDB, and rejected rows go to
// quarantine/<as-of>-<run id>.csv beside the SQLite file (or in the working
// folder for a server database).
func Nightly(ctx context.Context, cfg NightlyConfig, opt pipeline.Options) (pipeline.NightlyResult, error) {
	if cfg.Input.Path == "" && cfg.FromShards == "" {
		return pipeline.NightlyResult{}, &UsageError{fmt.Errorf("no input: give --input PATH (a file or a folder)")}
	}
	if cfg.FromShards != "" && cfg.Shards < 2 {
		return pipeline.NightlyResult{}, &UsageError{fmt.Errorf("--finalize-shards N: N must be at least 2")}
	}
	if cfg.DB == "" {
		cfg.DB = DefaultDB
	}
	if cfg.TimeZone == nil {
		cfg.TimeZone = time.Local
	}
	if cfg.AsOf.IsZero() {
		cfg.AsOf = Yesterday(time.Now(), cfg.TimeZone)
	}
	if cfg.Input.MaxReject < 0 || cfg.Input.MaxReject > 1 {
		return pipeline.NightlyResult{}, &UsageError{fmt.Errorf("--max-reject %g: must be a fraction between 0 and 1", cfg.Input.MaxReject)}
	}
	if cfg.RunID == "" {
		cfg.RunID = pipeline.NewRunID(time.Now())
	}
	if err := checkNightly(&cfg); err != nil {
		return pipeline.NightlyResult{}, err
	}
	if cfg.Input.Quarantine == "" {
		// Created (with the folder) only when a row is rejected.
		dir := "quarantine"
		if p, ok := sqlitePath(cfg.DB); ok {
			dir = filepath.Join(filepath.Dir(p), "quarantine")
		}
		cfg.Input.Quarantine = filepath.Join(dir, cfg.AsOf.Format(time.DateOnly)+"-"+cfg.RunID+".csv")
	} else if err := checkOutputDir("--quarantine", cfg.Input.Quarantine); err != nil {
		return pipeline.NightlyResult{}, err
	}
	if cfg.Rules != (lifecycle.Rules{}) {
		opt.Rules = cfg.Rules
	}
	if cfg.Segments != nil {
		opt.Segments = cfg.Segments
	}
	start := time.Now()
	res, err := pipeline.Nightly(ctx, cfg.NightlyConfig, opt)
	if merr := writeMetrics(ctx, cfg, res, err, start); merr != nil && opt.Logger != nil {
		// Metrics are for the operator's dashboards: failing to write them must not fail the night.
		opt.Logger.Warn("metrics not written", "err", merr)
	}
	return res, err
}

// writeMetrics writes and pushes the run's metrics where configured.
func writeMetrics(ctx context.Context, cfg NightlyConfig, res pipeline.NightlyResult, runErr error, start time.Time) error {
	if cfg.MetricsFile == "" && cfg.Pushgateway == "" {
		return nil
	}
	r := res.Run
	m := metrics.Run{Command: "nightly", RunID: r.ID, AsOf: r.AsOf, Status: r.Status, ExitCode: ExitCode(runErr),
		Start: start, End: time.Now(), RowsRead: r.RowsRead, RowsRejected: r.RowsRejected, RowsExcluded: r.RowsExcluded,
		RowsDuplicate: r.RowsDuplicate, RowsIdentical: r.RowsIdentical, Customers: r.Customers}
	if runErr == nil {
		m.Status, m.LastSuccess, m.Published = "succeeded", m.End, r.Customers
		if cfg.DryRun {
			m.Status, m.Published = "dry_run", 0
		}
	} else if m.Status == "" || m.Status == "running" {
		m.Status = "failed"
	}
	steps := make([]string, 0, len(res.Seconds))
	for k := range res.Seconds {
		steps = append(steps, k)
	}
	sort.Strings(steps)
	for _, k := range steps {
		m.Steps = append(m.Steps, metrics.Step{Name: k, Duration: time.Duration(res.Seconds[k] * float64(time.Second))})
	}
	newest := map[string]int{} // model version → index of its newest evaluated night
	var versions []string
	for i, o := range res.Outcomes {
		k, ok := newest[o.ModelVersion]
		if !ok {
			versions = append(versions, o.ModelVersion)
		}
		if !ok || o.AsOf.After(res.Outcomes[k].AsOf) {
			newest[o.ModelVersion] = i
		}
	}
	sort.Strings(versions)
	for _, v := range versions {
		o := res.Outcomes[newest[v]]
		m.Outcomes = append(m.Outcomes, metrics.Outcome{ModelVersion: v, AsOf: o.AsOf, AUC: o.AUC, Brier: o.Brier,
			ECE: o.ECE, Lift10: o.Lift10, RealizedChurnRate: o.RealChurnRate})
	}
	m.RetrainRecommended = res.Retrain.Recommended
	for _, g := range res.Gates.Results {
		m.Gates = append(m.Gates, metrics.Gate{Name: g.Name, Value: g.Value, Status: g.Status})
	}
	var errs []error
	if cfg.MetricsFile != "" {
		errs = append(errs, metrics.WriteFile(cfg.MetricsFile, m))
	}
	if cfg.Pushgateway != "" {
		job := cfg.MetricsJob
		if job == "" {
			job = "churnpipe"
		}
		pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		errs = append(errs, metrics.Push(pctx, nil, cfg.Pushgateway, job, m))
	}
	return errors.Join(errs...)
}

// ParseShard parses "i/N" (0 ≤ i < N, N ≥ 2).
func ParseShard(s string) (i, n int, err error) {
	if _, err := fmt.Sscanf(s, "%d/%d", &i, &n); err != nil || n < 2 || i < 0 || i >= n {
		return 0, 0, &UsageError{fmt.Errorf("--shard %q: want i/N with 0 ≤ i < N and N ≥ 2, e.g. 0/4", s)}
	}
	return i, n, nil
}

// Shard is one worker of a sharded night: it builds the features of its
// customers and writes them to dir for the finalize run (pipeline.WriteShard).
func Shard(ctx context.Context, cfg NightlyConfig, dir string, opt pipeline.Options) (pipeline.IngestStats, string, error) {
	if cfg.Input.Path == "" || dir == "" {
		return pipeline.IngestStats{}, "", &UsageError{fmt.Errorf("a shard worker needs --input and --shard-dir")}
	}
	if cfg.TimeZone == nil {
		cfg.TimeZone = time.Local
	}
	if cfg.AsOf.IsZero() {
		cfg.AsOf = Yesterday(time.Now(), cfg.TimeZone)
	}
	if cfg.Input.Quarantine == "" {
		cfg.Input.Quarantine = filepath.Join(dir, fmt.Sprintf("quarantine-%s-%d-of-%d.csv",
			cfg.AsOf.Format(time.DateOnly), cfg.Input.Shard, cfg.Input.Shards))
	}
	if cfg.Rules != (lifecycle.Rules{}) {
		opt.Rules = cfg.Rules
	}
	return pipeline.WriteShardWith(ctx, cfg.Input, cfg.AsOf, dir, cfg.Subscriptions, opt)
}
