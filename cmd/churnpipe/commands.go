package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/churnpipe/churnpipe/data"
	"github.com/churnpipe/churnpipe/features"
	"github.com/churnpipe/churnpipe/features/lifecycle"
	"github.com/churnpipe/churnpipe/features/rfm"
	"github.com/churnpipe/churnpipe/jobs"
	"github.com/churnpipe/churnpipe/pipeline"
	"github.com/churnpipe/churnpipe/pipeline/gate"
)

func runNightly(ctx context.Context, args []string, stdout io.Writer) error {
	fs, lf := newFlags("nightly", "nightly [--config FILE] [--input PATH] [--as-of DAY] [--db DSN] [flags]")
	var in inputFlags
	in.register(fs)
	cfgPath := fs.String("config", "", "YAML configuration (see deploy/churnpipe.example.yaml); flags given on the command line win")
	asOf := fs.String("as-of", "", "score as of this day, inclusive (YYYY-MM-DD; default: yesterday in --tz)")
	tz := fs.String("tz", "Local", "time zone that decides which day is yesterday (IANA name, e.g. Asia/Shanghai)")
	db := fs.String("db", jobs.DefaultDB, "prediction store: sqlite:PATH (its folder must exist), postgres://user@host/db or mysql://user@host:3306/db (password via PGPASSWORD or ${ENV} in --config)")
	table := fs.String("table", "customer_predictions", "name of the prediction table, or SCHEMA.TABLE (history is TABLE_history); "+
		"PostgreSQL: at most 39 bytes (MySQL: 40 characters), so that TABLE_history_customer_id_idx is not truncated")
	schema := fs.String("schema", "", "PostgreSQL schema of every table, ledger included (MySQL: the database); default: the DSN's search_path, else public (MySQL: the DSN's database). "+
		"A --schema, a SCHEMA.TABLE and a search_path that disagree are refused (exit 2)")
	reg := fs.String("registry", jobs.DefaultRegistry, "churn model registry (from churnpipe train); its champion scores the night. "+
		"Named here or in --config it must exist and hold a champion (else exit 7); the default may be missing (churn columns NULL, warned)")
	attrs := fs.String("attributes", "", "customer-attribute file (CSV or Parquet keyed by customer_id) for a champion trained with churnpipe train --attributes")
	dbRetry := fs.Int("db-retry-seconds", 120, "how long transient database failures (connection refused or reset, a server restarting) are retried before the night fails with exit 5; 0: no retry")
	dry := fs.Bool("dry-run", false, "do everything but publish: the database is read, never migrated or written (no ledger row)")
	replace := fs.Bool("replace-current", false, "a night older than the current table's replaces the current night too (default: such a backfill goes to history only, recorded backfilled)")
	force := fs.Bool("force-publish", false, "publish even if a quality gate blocks (recorded in pipeline_runs)")
	metricsFile := fs.String("metrics-file", "", "write Prometheus metrics here (node_exporter textfile collector)")
	push := fs.String("pushgateway", "", "push metrics to this Prometheus Pushgateway URL")
	money := fs.Int("money-decimals", 2, "round historic_value, expected_avg_spend and predicted_clv_12m to this many decimals of the input's currency (0 for yen, -1 unrounded)")
	shard := fs.String("shard", "", "run as shard worker i/N: build the features of the customers with hash(customer_id) mod N = i into --shard-dir, publish nothing; a folder written by churnpipe partition is read only in part (its files j with j mod N = i)")
	finalize := fs.Int("finalize-shards", 0, "finalize a sharded night: read the N shard feature tables from --shard-dir, then fit, score and publish once")
	shardDir := fs.String("shard-dir", "", "folder shared by the shard workers and the finalize run")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	c, set, log, err := loadConfig(fs, lf, *cfgPath, &in)
	if err != nil {
		return err
	}
	for name, apply := range map[string]func(){
		"tz": func() { c.TimeZone = *tz }, "db": func() { c.DB = *db }, "table": func() { c.Table = *table },
		"schema":   func() { c.Schema = *schema },
		"registry": func() { c.Registry = *reg }, "metrics-file": func() { c.Metrics.Textfile = *metricsFile },
		"pushgateway": func() { c.Metrics.Pushgateway = *push }, "attributes": func() { c.Attributes = *attrs },
		"money-decimals":   func() { c.Publish.MoneyDecimals = *money },
		"db-retry-seconds": func() { c.DBRetrySeconds = *dbRetry },
	} {
		if set[name] {
			apply()
		}
	}
	cfg, err := jobs.FromConfig(c)
	if err != nil {
		return err
	}
	if set["registry"] && c.ChurnScoring {
		cfg.Registry, cfg.RegistryRequired = *reg, *reg != "" // named on the command line: it must be usable
	}
	if cfg.AsOf, err = parseDay("as-of", *asOf); err != nil {
		return err
	}
	cfg.DryRun, cfg.ForcePublish, cfg.ReplaceCurrent = *dry, *force, *replace
	if *shard != "" {
		if cfg.Input.Shard, cfg.Input.Shards, err = jobs.ParseShard(*shard); err != nil {
			return err
		}
		st, path, err := jobs.Shard(ctx, cfg, *shardDir, pipeline.Options{Logger: log, Progress: os.Stderr})
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "shard %s: %d customers (files read %d, skipped %d; rows read %d, rejected %d, after as-of %d) → %s\n",
			*shard, st.Customers, st.Files, st.FilesSkipped, st.RowsRead, st.RowsRejected, st.RowsExcluded, path)
		return nil
	}
	if *finalize != 0 {
		cfg.FromShards, cfg.Shards = *shardDir, *finalize
		if cfg.FromShards == "" {
			return &jobs.UsageError{Err: fmt.Errorf("--finalize-shards needs --shard-dir")}
		}
	}
	res, err := jobs.Nightly(ctx, cfg, pipeline.Options{Logger: log, Progress: os.Stderr})
	if res.Run.ID != "" {
		printRunSummary(stdout, res, err)
	}
	return err
}

func printRunSummary(w io.Writer, res pipeline.NightlyResult, runErr error) {
	r := res.Run
	fmt.Fprintf(w, "run %s  as-of %s  status %s\n", r.ID, r.AsOf.Format(time.DateOnly), statusOf(r.Status, runErr))
	fmt.Fprintf(w, "rows read %d · rejected %d · after as-of %d · customers %d\n",
		res.Ingest.RowsRead, res.Ingest.RowsRejected, res.Ingest.RowsExcluded, res.Ingest.Customers)
	if res.Ingest.Quarantine != "" {
		fmt.Fprintf(w, "rejected rows: %s\n", res.Ingest.Quarantine)
	}
	if n := res.Ingest.RowsLongID; n > 0 {
		fmt.Fprintf(w, "rejected: %d rows with a customer_id over %d characters (the longest the prediction store keeps)\n", n, data.MaxIDLength)
	}
	printGates(w, res.Gates)
	printChanges(w, res)
	if len(res.Stages) > 0 {
		fmt.Fprint(w, "stages:")
		for _, l := range lifecycle.Labels() {
			if n := res.Stages[l.Code]; n > 0 {
				fmt.Fprintf(w, " %s %d", l.Code, n)
			}
		}
		fmt.Fprintln(w)
	}
}

// printGates prints the quality gates that warned or blocked, one a line.
func printGates(w io.Writer, rep gate.Report) {
	if rep.Status == "" {
		return
	}
	warned := append(rep.Failed(gate.Block), rep.Failed(gate.Warn)...)
	if len(warned) == 0 {
		fmt.Fprintf(w, "gates: all %d pass\n", len(rep.Results))
		return
	}
	forced := ""
	if rep.Forced {
		forced = " (publishing forced)"
	}
	fmt.Fprintf(w, "gates: %s%s\n", rep.Status, forced)
	for _, r := range warned {
		fmt.Fprintf(w, "  %s %s: %s\n", r.Status, r.Name, r.Message)
	}
}

// statusOf is the run's status as the ledger has it, or "failed" for a run
// that ended before the ledger could record it.
func statusOf(status string, runErr error) string {
	switch {
	case status != "" && status != "running":
		return status
	case runErr != nil:
		return "failed"
	}
	return "succeeded"
}

// printCrosstab prints customers by lifecycle stage (rows) × RFM segment.
func printCrosstab(w io.Writer, res pipeline.NightlyResult) {
	var segs []rfm.Segment
	for _, l := range rfm.Labels() {
		if res.Segments[l.Code] > 0 {
			segs = append(segs, l.Code)
		}
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	head := []string{"stage \\ segment"}
	for _, s := range segs {
		head = append(head, string(s))
	}
	fmt.Fprintln(tw, strings.Join(append(head, "total"), "\t")+"\t")
	for _, l := range lifecycle.Labels() {
		row := res.Crosstab[l.Code]
		if len(row) == 0 {
			continue
		}
		cells := []string{string(l.Code)}
		for _, s := range segs {
			cells = append(cells, fmt.Sprint(row[s]))
		}
		fmt.Fprintln(tw, strings.Join(append(cells, fmt.Sprint(res.Stages[l.Code])), "\t")+"\t")
	}
	cells := []string{"total"}
	total := 0
	for _, s := range segs {
		cells = append(cells, fmt.Sprint(res.Segments[s]))
		total += res.Segments[s]
	}
	fmt.Fprintln(tw, strings.Join(append(cells, fmt.Sprint(total)), "\t")+"\t")
	tw.Flush()
	var legend []string
	for _, l := range lifecycle.Labels() {
		if res.Stages[l.Code] > 0 {
			legend = append(legend, string(l.Code)+" "+l.Chinese)
		}
	}
	fmt.Fprintf(w, "stages: %s\n", strings.Join(legend, " · "))
	tiers := make([]string, 0, 3)
	for _, t := range []rfm.Tier{rfm.TierA, rfm.TierB, rfm.TierC} {
		tiers = append(tiers, fmt.Sprintf("%s %d", t, res.Tiers[t]))
	}
	sort.Strings(tiers)
	fmt.Fprintf(w, "value tiers: %s\n", strings.Join(tiers, " · "))
}

func runFeatures(ctx context.Context, args []string, stdout io.Writer) error {
	fs, lf := newFlags("features", "features --input PATH --as-of DAY --out FILE.parquet|FILE.arrow|FILE.csv | features --describe")
	var in inputFlags
	in.register(fs)
	asOf := fs.String("as-of", "", "feature day, inclusive (YYYY-MM-DD); events after it are ignored")
	out := fs.String("out", "", "output file; the format follows the extension (.parquet, .arrow, .csv)")
	horizon := fs.String("label-horizon", "", "export the labelled training snapshots for this churn horizon (e.g. 90d) instead of one day's features")
	describe := fs.Bool("describe", false, "print the data dictionary of the feature table (Markdown: column, type, null, meaning; docs/features.md) and exit")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *describe {
		return features.Describe(stdout)
	}
	log, err := lf.setup()
	if err != nil {
		return err
	}
	c := jobs.ExportConfig{Out: *out}
	if c.Input, err = in.input(); err != nil {
		return err
	}
	if c.AsOf, err = parseDay("as-of", *asOf); err != nil {
		return err
	}
	if *horizon != "" {
		if c.LabelHorizonDays, err = jobs.ParseHorizon(*horizon); err != nil {
			return err
		}
	}
	st, n, err := jobs.ExportFeatures(ctx, c, pipeline.Options{Logger: log})
	if err != nil {
		return err
	}
	what := "customers"
	if c.LabelHorizonDays > 0 {
		what = "labelled customer-snapshot rows"
	}
	fmt.Fprintf(stdout, "wrote %d %s to %s (rows read %d, rejected %d, after as-of %d)\n", n, what,
		*out, st.RowsRead, st.RowsRejected, st.RowsExcluded)
	return nil
}

func runSynth(ctx context.Context, args []string, stdout io.Writer) error {
	fs, lf := newFlags("synth", "synth --customers N --start DAY --end DAY --seed S --out PATH  |  synth --tier S|M|L --out PATH [--partitions N]")
	n := fs.Int("customers", 5000, "number of customers")
	start := fs.String("start", "2024-01-01", "first day of the history")
	end := fs.String("end", "2025-12-31", "last day of the history")
	seed := fs.Uint64("seed", 1, "random seed; the same seed writes the same history")
	out := fs.String("out", "", "output file: .parquet, .arrow or .csv (a folder with --partitions)")
	tier := fs.String("tier", "", "write a benchmark tier instead: S (10 k customers, ~1 M events), M (1 M, ~50 M) or L (10 M, ~500 M), over 2024-01-01 … 2025-12-31, seed 1 unless --seed is given")
	parts := fs.Int("partitions", 0, "write a folder of this many Parquet files partitioned by customer, for sharded nights (see churnpipe partition)")
	setting := fs.String("setting", "noncontractual", "noncontractual (buyers) or contractual (subscribers: trials, renewals, cancellations with known sBG α = 1, β = 6, and one-off buyers mixed in)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if _, err := lf.setup(); err != nil {
		return err
	}
	c := jobs.SynthConfig{Customers: *n, Seed: *seed, Out: *out, Partitions: *parts, Tier: *tier}
	if set, err := jobs.ParseSetting(*setting); err != nil {
		return err
	} else if set == jobs.SettingContractual {
		return runSynthContractual(ctx, c, *start, *end, stdout)
	}
	if *tier != "" {
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		for _, name := range []string{"customers", "start", "end"} {
			if set[name] {
				return &jobs.UsageError{Err: fmt.Errorf("--%s cannot be combined with --tier (a tier fixes it)", name)}
			}
		}
		if !set["seed"] {
			c.Seed = 0 // the tier's
		}
		st, err := jobs.Synth(ctx, c, nil)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "wrote tier %s: %d events of %d customers to %s\n", *tier, st.Events, st.Customers, *out)
		return nil
	}
	var err error
	if c.Start, err = parseDay("start", *start); err != nil {
		return err
	}
	if c.End, err = parseDay("end", *end); err != nil {
		return err
	}
	st, err := jobs.Synth(ctx, c, nil)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %d events of %d customers to %s (purchases %d, returns %d, visits %d, support %d)\n",
		st.Events, st.Customers, *out, st.Purchases, st.Returns, st.Visits, st.Support)
	return nil
}

func runPartition(ctx context.Context, args []string, stdout io.Writer) error {
	fs, lf := newFlags("partition", "partition --input PATH --partitions N --out DIR")
	var in inputFlags
	in.register(fs)
	n := fs.Int("partitions", 0, "number of Parquet files; make it a multiple of the number of shards (--shard i/N reads the files j with j mod N = i)")
	out := fs.String("out", "", "folder to write part-00000-of-0000N.parquet … into (created; must not hold partition files)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	log, err := lf.setup()
	if err != nil {
		return err
	}
	c := jobs.PartitionConfig{Partitions: *n, Out: *out}
	if c.Input, err = in.input(); err != nil {
		return err
	}
	st, err := jobs.Partition(ctx, c, pipeline.Options{Logger: log, Progress: os.Stderr})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %d events into %d partition files in %s (rows read %d, rejected %d)\n",
		st.RowsWritten, st.Partitions, *out, st.RowsRead, st.RowsRejected)
	return nil
}

func runDemo(ctx context.Context, args []string, stdout io.Writer) error {
	fs, lf := newFlags("demo", "demo [--dir DIR] [--customers N] [--seed S] [--setting contractual]")
	dir := fs.String("dir", "churnpipe-demo", "folder for the sample history and the prediction database")
	n := fs.Int("customers", 5000, "number of sample customers")
	seed := fs.Uint64("seed", 1, "random seed")
	setting := fs.String("setting", "noncontractual", "noncontractual (buyers) or contractual (a subscription business: subscriber stages, sBG retention, residual CLV)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	log, err := lf.setup()
	if err != nil {
		return err
	}
	if set, err := jobs.ParseSetting(*setting); err != nil {
		return err
	} else if set == jobs.SettingContractual {
		return runDemoContractual(ctx, jobs.DemoConfig{Dir: *dir, Customers: *n, Seed: *seed}, log, stdout)
	}
	res, err := jobs.Demo(ctx, jobs.DemoConfig{Dir: *dir, Customers: *n, Seed: *seed}, pipeline.Options{Logger: log})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "sample history: %s (%d customers, %d events)\n", res.History, res.Synth.Customers, res.Synth.Events)
	if t := res.Train; t != nil {
		fmt.Fprintf(stdout, "churn model %s (%s): test AUC %.3f (recency alone %.3f), ECE %.3f; stage accuracy %.3f (stays the same %.3f)\n",
			t.ModelVersion, t.ModelKind, t.AUC, t.Baselines.RecencyAUC, t.ECE, t.StageAccuracy, t.StageBaselineAccuracy)
	}
	printRunSummary(stdout, res.Nightly, nil)
	fmt.Fprintln(stdout)
	printCrosstab(stdout, res.Nightly)
	fmt.Fprintf(stdout, "\npredictions: %s (table customer_predictions)\n", res.DB)
	fmt.Fprintf(stdout, "try: sqlite3 %s \"SELECT lifecycle_stage, count(*) FROM customer_predictions GROUP BY 1\"\n", res.DB)
	return nil
}

// printChanges prints tonight's alerts and the outcomes this run evaluated.
func printChanges(w io.Writer, res pipeline.NightlyResult) {
	if len(res.Alerts) > 0 {
		var as []string
		for _, l := range pipeline.AlertLabels() {
			if n := res.Alerts[l.Code]; n > 0 {
				as = append(as, fmt.Sprintf("%s %d", l.Code, n))
			}
		}
		fmt.Fprintf(w, "alerts: %s\n", strings.Join(as, " · "))
	}
	for _, o := range res.Outcomes {
		if math.IsNaN(o.AUC) {
			fmt.Fprintf(w, "outcome of %s (%s): realized churn %.3f\n", o.AsOf.Format(time.DateOnly), o.ModelVersion, o.RealChurnRate)
			continue
		}
		fmt.Fprintf(w, "outcome of %s (%s): AUC %.4f · ECE %.4f · lift@10%% %.2f · churn predicted %.3f, realized %.3f\n",
			o.AsOf.Format(time.DateOnly), o.ModelVersion, o.AUC, o.ECE, o.Lift10, o.PredChurnRate, o.RealChurnRate)
	}
	if res.Retrain.Recommended {
		fmt.Fprintf(w, "retrain recommended: %s\n", res.Retrain.Reason)
	}
}
