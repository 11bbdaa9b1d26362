package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sort"
	"strings"

	"github.com/churnpipe/churnpipe/jobs"
	"github.com/churnpipe/churnpipe/models/btyd"
	"github.com/churnpipe/churnpipe/pipeline"
)

func init() {
	extraCommands = append(extraCommands,
		command{"clv", "fit and report the probabilistic CLV models (BG/NBD, MBG/NBD, Pareto/NBD, Gamma-Gamma)", runCLV})
}

const clvUsage = `Usage:
  churnpipe clv fit    --input PATH --model bgnbd|mbgnbd|paretonbd|gammagamma --calibration-end DAY [--time-unit week] [--json]
  churnpipe clv fit    --input PATH --compare --calibration-end DAY [--holdout-days 90] [--json]
  churnpipe clv fit    --model sbg|bdw|auto-retention --survival CSV --column COHORT --periods N [--json]
  churnpipe clv report --input PATH --calibration-end DAY --holdout-end DAY --out DIR [--model auto] [--json]
  churnpipe clv predict --input PATH --as-of DAY --out FILE.parquet|.csv [--model auto]

fit     maximum-likelihood fit on the history up to the calibration end (inclusive);
        prints parameters, log-likelihood and standard errors.
        --compare (or --model auto): the model choice of clv.model: auto — BG/NBD, MBG/NBD and
        Pareto/NBD fitted up to calibration-end minus holdout-days, compared on the holdout
        (MAE of repeat transactions per customer, log-likelihood, AIC, boundary fits), the chosen
        one refitted on all data up to calibration-end.
        sbg/bdw (contractual setting): shifted-beta-geometric or beta-discrete-Weibull
        fitted on a cohort's survivors at the start of periods 0..N; auto-retention
        fits both and keeps the one that predicts the later rows better.
predict fits the models on the history up to the as-of day (inclusive) and writes the per-customer
        CLV columns of the prediction table (p_alive, expected purchases, spend, predicted_clv_12m and
        their p10/p90, clv_model) to a Parquet, Arrow or CSV file — no database needed.
report  fits the CLV models on the calibration period (--model auto: the count model chosen by
        holdout inside it, as the nightly does), compares with the holdout period and prints the
        holdout evaluation next to a naive baseline (last-period run rate): MAE of repeat
        transactions per customer, aggregate and tracking error, normalized Gini and top-20 %
        share of predicted vs realized holdout spend, decile table. Writes PNG plots (cumulative
        repeat purchases, conditional expectations, P(alive) heat map) and report.json.
`

func runCLV(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stdout, clvUsage)
		return &jobs.UsageError{Err: fmt.Errorf("clv: want a subcommand: fit or report")}
	}
	switch args[0] {
	case "fit":
		return runCLVFit(ctx, args[1:], stdout)
	case "report":
		return runCLVReport(ctx, args[1:], stdout)
	case "predict":
		return runCLVPredict(ctx, args[1:], stdout)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, clvUsage)
		return nil
	}
	return &jobs.UsageError{Err: fmt.Errorf("clv: unknown subcommand %q (want fit, report or predict)", args[0])}
}

func runCLVFit(ctx context.Context, args []string, stdout io.Writer) error {
	fs, lf := newFlags("clv fit", "clv fit --input PATH --model bgnbd|mbgnbd|paretonbd|gammagamma --calibration-end DAY [flags]")
	var in inputFlags
	in.register(fs)
	model := fs.String("model", "bgnbd", "model: bgnbd, mbgnbd, paretonbd or gammagamma; contractual: sbg, bdw or auto-retention")
	calEnd := fs.String("calibration-end", "", "last day of the calibration period, inclusive (YYYY-MM-DD)")
	unit := fs.String("time-unit", "week", "time unit of t_x, T and the rates: day, week or month (365.25/12 days)")
	asJSON := fs.Bool("json", false, "print one JSON object instead of a table")
	compare := fs.Bool("compare", false, "compare bgnbd, mbgnbd and paretonbd on a holdout and fit the chosen one (as clv.model: auto)")
	holdoutDays := fs.Int("holdout-days", 90, "with --compare: the last days before the calibration end that form the holdout")
	rf := registerRetentionFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	log, err := lf.setup()
	if err != nil {
		return err
	}
	if jobs.IsRetentionModel(*model) {
		return runRetentionFit(ctx, *model, rf, *asJSON, stdout)
	}
	c := jobs.CLVFitConfig{Model: *model}
	if c.Input, err = in.input(); err != nil {
		return err
	}
	if c.Input.Quarantine == "" {
		c.Input.Quarantine = "quarantine-clv.csv"
	}
	if c.CalibrationEnd, err = parseDay("calibration-end", *calEnd); err != nil {
		return err
	}
	if c.Unit, err = jobs.ParseTimeUnit(*unit); err != nil {
		return err
	}
	if *compare || *model == pipeline.ModelAuto {
		mc, fit, err := jobs.CompareCLV(ctx, c, *holdoutDays, pipeline.Options{Logger: log})
		if err != nil {
			return err
		}
		if *asJSON {
			return json.NewEncoder(stdout).Encode(map[string]any{"comparison": mc, "fit": fit})
		}
		printComparison(stdout, mc)
		printFit(stdout, fit, *unit)
		return nil
	}
	fit, err := jobs.FitCLV(ctx, c, pipeline.Options{Logger: log})
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		return enc.Encode(fit)
	}
	printFit(stdout, fit, *unit)
	return nil
}

// printComparison prints the model choice of clv.model: auto as a table.
func printComparison(w io.Writer, mc *pipeline.ModelComparison) {
	if mc == nil {
		return
	}
	fmt.Fprintf(w, "model comparison: calibration to %s, holdout %d days, %d customers", mc.CalibrationEnd, mc.HoldoutDays, mc.Customers)
	if mc.Subsampled {
		fmt.Fprint(w, " (subsample)")
	}
	fmt.Fprintf(w, "\n  %-10s %12s %12s %9s %9s %12s %12s  %s\n", "model", "holdout MAE", "loglik", "ΔAIC", "LR", "pred. total", "actual", "notes")
	for _, c := range mc.Candidates {
		var notes []string
		if c.Boundary {
			notes = append(notes, "BOUNDARY: "+strings.Join(c.BoundaryParams, ", "))
		}
		if c.Note != "" {
			notes = append(notes, c.Note)
		}
		if c.Error != "" {
			notes = append(notes, "error: "+c.Error)
		}
		mark := " "
		if c.Model == mc.Chosen {
			mark = "*"
		}
		fmt.Fprintf(w, "%s %-10s %12.4f %12.3f %9.2f %9.2f %12.1f %12.1f  %s\n", mark, c.Model, c.HoldoutMAE, c.LogLik, c.DeltaAIC, c.LR,
			c.HoldoutPredicted, c.HoldoutActual, strings.Join(notes, "; "))
	}
	fmt.Fprintf(w, "chosen: %s — %s\nrule: %s\n", mc.Chosen, mc.Reason, mc.Rule)
}

func printFit(stdout io.Writer, fit btyd.FitResult, unit string) {
	fmt.Fprintf(stdout, "%s on %d customers, time unit %s: log-likelihood %.4f, %d iterations, converged %v\n",
		fit.Model, fit.Customers, unit, fit.LogLik, fit.Iterations, fit.Converged)
	names := make([]string, 0, len(fit.Params))
	for k := range fit.Params {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		fmt.Fprintf(stdout, "  %-6s %12.6f", k, fit.Params[k])
		if se, ok := fit.StdErr[k]; ok {
			fmt.Fprintf(stdout, "  (s.e. %.6f)", se)
		}
		fmt.Fprintln(stdout)
	}
	for _, w := range fit.Warnings {
		fmt.Fprintf(stdout, "warning: %s\n", w)
	}
}

func runCLVReport(ctx context.Context, args []string, stdout io.Writer) error {
	fs, lf := newFlags("clv report", "clv report --input PATH --calibration-end DAY --holdout-end DAY --out DIR [flags]")
	var in inputFlags
	in.register(fs)
	model := fs.String("model", "auto", "count model: auto (chosen by holdout inside the calibration period), bgnbd, mbgnbd or paretonbd")
	calEnd := fs.String("calibration-end", "", "last day of the calibration period, inclusive (YYYY-MM-DD)")
	holdEnd := fs.String("holdout-end", "", "last day of the holdout period, inclusive (YYYY-MM-DD)")
	unit := fs.String("time-unit", "week", "time unit: day, week or month")
	holdoutDays := fs.Int("holdout-days", 90, "model auto: the last days of the calibration period that its comparison holds out")
	out := fs.String("out", "", "output folder for the PNG plots and report.json")
	asJSON := fs.Bool("json", false, "print the holdout evaluation as JSON instead of tables")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	log, err := lf.setup()
	if err != nil {
		return err
	}
	c := jobs.CLVReportConfig{Model: *model, Out: *out, HoldoutDays: *holdoutDays}
	if c.Input, err = in.input(); err != nil {
		return err
	}
	if c.CalibrationEnd, err = parseDay("calibration-end", *calEnd); err != nil {
		return err
	}
	if c.HoldoutEnd, err = parseDay("holdout-end", *holdEnd); err != nil {
		return err
	}
	if c.Unit, err = jobs.ParseTimeUnit(*unit); err != nil {
		return err
	}
	res, err := jobs.CLVReport(ctx, c, pipeline.Options{Logger: log})
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(res.Evaluation)
	}
	m := res.Models
	printComparison(stdout, m.Comparison)
	fmt.Fprintf(stdout, "%s fitted on %d customers (log-likelihood %.3f)", m.CountFit.Model, m.CountFit.Customers, m.CountFit.LogLik)
	if m.Spend != nil {
		fmt.Fprintf(stdout, ", gammagamma on %d repeat buyers", m.SpendFit.Customers)
	}
	fmt.Fprintln(stdout)
	for _, w := range m.Warnings {
		fmt.Fprintf(stdout, "warning: %s\n", w)
	}
	printEvaluation(stdout, res.Evaluation)
	fmt.Fprintf(stdout, "wrote %s to %s\n", strings.Join(res.Plots.Files, ", "), *out)
	return nil
}

// printEvaluation prints the holdout evaluation of clv report: the metrics
// of the model and the baseline side by side, then their decile tables.
func printEvaluation(w io.Writer, ev *pipeline.CLVEvaluation) {
	if ev == nil || len(ev.Predictors) == 0 {
		return
	}
	fmt.Fprintf(w, "holdout %s … %s (%.1f %ss), %d calibration customers: %.0f purchase days, spend %.2f\n",
		ev.CalibrationEnd, ev.HoldoutEnd, ev.HoldoutLength, ev.Unit, ev.Customers, float64(ev.ActualTransactions), float64(ev.ActualSpend))
	fmt.Fprintf(w, "  %-34s", "")
	for _, p := range ev.Predictors {
		fmt.Fprintf(w, " %18s", p.Name)
	}
	fmt.Fprintln(w)
	row := func(label, format string, get func(pipeline.PredictorEvaluation) pipeline.Num) {
		fmt.Fprintf(w, "  %-34s", label)
		for _, p := range ev.Predictors {
			fmt.Fprintf(w, " %18s", fmtNum(format, get(p)))
		}
		fmt.Fprintln(w)
	}
	row("MAE repeat transactions/customer", "%.4f", func(p pipeline.PredictorEvaluation) pipeline.Num { return p.TransactionsMAE })
	row("predicted repeat transactions", "%.1f", func(p pipeline.PredictorEvaluation) pipeline.Num { return p.PredictedTransactions })
	row("aggregate error", "%+.1f %%", func(p pipeline.PredictorEvaluation) pipeline.Num { return p.AggregateError * 100 })
	row("tracking error (MAPE, cumulative)", "%.1f %%", func(p pipeline.PredictorEvaluation) pipeline.Num { return p.TrackingMAPE * 100 })
	row("predicted spend", "%.2f", func(p pipeline.PredictorEvaluation) pipeline.Num { return p.PredictedSpend })
	row("normalized Gini (spend)", "%.4f", func(p pipeline.PredictorEvaluation) pipeline.Num { return p.NormalizedGini })
	row("top-20 % share of spend", "%.1f %%", func(p pipeline.PredictorEvaluation) pipeline.Num { return p.Top20Share * 100 })
	fmt.Fprintf(w, "  (best possible top-20 %% share: %s)\n", fmtNum("%.1f %%", ev.OracleTop20Share*100))
	fmt.Fprintf(w, "baseline: %s\n", ev.BaselineRule)
	for _, p := range ev.Predictors {
		if len(p.Deciles) == 0 {
			continue
		}
		fmt.Fprintf(w, "deciles by predicted holdout spend, %s:\n  %6s %9s %14s %14s %9s\n", p.Name, "decile", "customers", "predicted mean", "actual mean", "share")
		for _, g := range p.Deciles {
			fmt.Fprintf(w, "  %6d %9d %14.2f %14.2f %8.1f%%\n", g.Group, g.Customers, g.Predicted, g.Actual, g.Share*100)
		}
	}
}

// fmtNum formats v, or "—" when it is not finite.
func fmtNum(format string, v pipeline.Num) string {
	f := float64(v)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "—"
	}
	return fmt.Sprintf(format, f)
}

func runCLVPredict(ctx context.Context, args []string, stdout io.Writer) error {
	fs, lf := newFlags("clv predict", "clv predict --input PATH --as-of DAY --out FILE.parquet|.csv [flags]")
	var in inputFlags
	in.register(fs)
	model := fs.String("model", "auto", "count model: auto (chosen by holdout), bgnbd, mbgnbd or paretonbd")
	asOf := fs.String("as-of", "", "the scoring day: history up to this day, inclusive (YYYY-MM-DD)")
	unit := fs.String("time-unit", "week", "time unit the models are fitted in: day, week or month")
	holdoutDays := fs.Int("holdout-days", 90, "model auto: the last days before the as-of day that form the holdout")
	out := fs.String("out", "", "output file: .parquet, .arrow or .csv")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	log, err := lf.setup()
	if err != nil {
		return err
	}
	c := jobs.CLVPredictConfig{Model: *model, Out: *out, HoldoutDays: *holdoutDays}
	if c.Input, err = in.input(); err != nil {
		return err
	}
	if c.AsOf, err = parseDay("as-of", *asOf); err != nil {
		return err
	}
	if c.Unit, err = jobs.ParseTimeUnit(*unit); err != nil {
		return err
	}
	res, err := jobs.PredictCLV(ctx, c, pipeline.Options{Logger: log})
	if err != nil {
		return err
	}
	m := res.Models
	printComparison(stdout, m.Comparison)
	if m.Count != nil {
		fmt.Fprintf(stdout, "count model %s (log-likelihood %.3f)", m.CountFit.Model, m.CountFit.LogLik)
		if m.Spend != nil {
			fmt.Fprintf(stdout, ", spend model gammagamma on %d repeat buyers", m.SpendFit.Customers)
		}
		fmt.Fprintln(stdout)
	}
	for _, w := range m.Warnings {
		fmt.Fprintf(stdout, "warning: %s\n", w)
	}
	fmt.Fprintf(stdout, "wrote %d customers to %s\n", res.Rows, *out)
	return nil
}
