package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"sort"

	"github.com/churnpipe/churnpipe/jobs"
)

// retentionFlags are the flags of `clv fit` for the contractual models
// (sbg, bdw), fitted on a cohort survival table instead of a history.
type retentionFlags struct {
	survival, column *string
	periods          *int
}

func registerRetentionFlags(fs *flag.FlagSet) retentionFlags {
	return retentionFlags{
		survival: fs.String("survival", "", "contractual models (--model sbg|bdw|auto-retention): CSV of survivors at the start of periods 0,1,2,… (first column the period, one column per cohort)"),
		column:   fs.String("column", "", "contractual models: the cohort column of --survival"),
		periods:  fs.Int("periods", 0, "contractual models: renewal opportunities fitted (rows 0..N); auto-retention scores the later rows as holdout"),
	}
}

func runRetentionFit(ctx context.Context, model string, f retentionFlags, asJSON bool, stdout io.Writer) error {
	fit, err := jobs.FitRetention(ctx, jobs.RetentionFitConfig{Model: model, Survival: *f.survival, Column: *f.column, Periods: *f.periods})
	if err != nil {
		return err
	}
	if asJSON {
		return json.NewEncoder(stdout).Encode(fit)
	}
	fmt.Fprintf(stdout, "%s on cohort %s (%.0f customers, %d renewal opportunities): log-likelihood %.4f, %d iterations, converged %v\n",
		fit.Model, fit.Column, fit.Customers, fit.Periods, fit.LogLik, fit.Iterations, fit.Converged)
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
	if s := fit.Selection; s != nil {
		fmt.Fprintf(stdout, "holdout log-likelihood: sbg %.3f, bdw %.3f → %s (%s)\n", s.Holdout[0], s.Holdout[1], s.Chosen, s.Rule)
	}
	fmt.Fprintln(stdout, "period  survivors  projected")
	for t, s := range fit.Survivors {
		mark := ""
		if t > fit.Periods {
			mark = "  (not fitted)"
		}
		fmt.Fprintf(stdout, "%6d %10.0f %10.1f%s\n", t, s, fit.Projected[t], mark)
	}
	return nil
}
