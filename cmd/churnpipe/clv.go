package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/churnpipe/churnpipe/jobs"
	"github.com/churnpipe/churnpipe/pipeline"
)

func init() {
	extraCommands = append(extraCommands,
		command{"clv", "fit and report the probabilistic CLV models (BG/NBD, MBG/NBD, Pareto/NBD, Gamma-Gamma)", runCLV})
}

const clvUsage = `Usage:
  churnpipe clv fit    --input PATH --model bgnbd|mbgnbd|paretonbd|gammagamma --calibration-end DAY [--time-unit week] [--json]
  churnpipe clv fit    --model sbg|bdw|auto-retention --survival CSV --column COHORT --periods N [--json]
  churnpipe clv report --input PATH --calibration-end DAY --holdout-end DAY --out DIR [--model bgnbd]

fit     maximum-likelihood fit on the history up to the calibration end (inclusive);
        prints parameters, log-likelihood and standard errors.
        sbg/bdw (contractual setting): shifted-beta-geometric or beta-discrete-Weibull
        fitted on a cohort's survivors at the start of periods 0..N; auto-retention
        fits both and keeps the one that predicts the later rows better.
report  fits on the calibration period, compares with the holdout period and writes PNG plots
        (cumulative repeat purchases, conditional expectations, P(alive) heat map) and report.json.
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
	case "-h", "--help", "help":
		fmt.Fprint(stdout, clvUsage)
		return nil
	}
	return &jobs.UsageError{Err: fmt.Errorf("clv: unknown subcommand %q (want fit or report)", args[0])}
}

func runCLVFit(ctx context.Context, args []string, stdout io.Writer) error {
	fs, lf := newFlags("clv fit", "clv fit --input PATH --model bgnbd|mbgnbd|paretonbd|gammagamma --calibration-end DAY [flags]")
	var in inputFlags
	in.register(fs)
	model := fs.String("model", "bgnbd", "model: bgnbd, mbgnbd, paretonbd or gammagamma; contractual: sbg, bdw or auto-retention")
	calEnd := fs.String("calibration-end", "", "last day of the calibration period, inclusive (YYYY-MM-DD)")
	unit := fs.String("time-unit", "week", "time unit of t_x, T and the rates: day, week or month (365.25/12 days)")
	asJSON := fs.Bool("json", false, "print one JSON object instead of a table")
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
	fit, err := jobs.FitCLV(ctx, c, pipeline.Options{Logger: log})
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		return enc.Encode(fit)
	}
	fmt.Fprintf(stdout, "%s on %d customers, time unit %s: log-likelihood %.4f, %d iterations, converged %v\n",
		fit.Model, fit.Customers, *unit, fit.LogLik, fit.Iterations, fit.Converged)
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
	return nil
}

func runCLVReport(ctx context.Context, args []string, stdout io.Writer) error {
	fs, lf := newFlags("clv report", "clv report --input PATH --calibration-end DAY --holdout-end DAY --out DIR [flags]")
	var in inputFlags
	in.register(fs)
	model := fs.String("model", "bgnbd", "model: bgnbd, mbgnbd or paretonbd")
	calEnd := fs.String("calibration-end", "", "last day of the calibration period, inclusive (YYYY-MM-DD)")
	holdEnd := fs.String("holdout-end", "", "last day of the holdout period, inclusive (YYYY-MM-DD)")
	unit := fs.String("time-unit", "week", "time unit: day, week or month")
	out := fs.String("out", "", "output folder for the PNG plots and report.json")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	log, err := lf.setup()
	if err != nil {
		return err
	}
	c := jobs.CLVReportConfig{Model: *model, Out: *out}
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
	rep, fit, err := jobs.CLVReport(ctx, c, pipeline.Options{Logger: log})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s fitted on %d customers (log-likelihood %.3f); wrote %s to %s\n",
		fit.Model, fit.Customers, fit.LogLik, strings.Join(rep.Files, ", "), *out)
	return nil
}
