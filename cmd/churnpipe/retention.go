package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"sort"

	"github.com/churnpipe/churnpipe/features/lifecycle"
	"github.com/churnpipe/churnpipe/features/subscription"
	"github.com/churnpipe/churnpipe/jobs"
	"github.com/churnpipe/churnpipe/models/sbg"
	"github.com/churnpipe/churnpipe/pipeline"
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

func runSynthContractual(ctx context.Context, c jobs.SynthConfig, start, end string, stdout io.Writer) error {
	var err error
	if c.Start, err = parseDay("start", start); err != nil {
		return err
	}
	if c.End, err = parseDay("end", end); err != nil {
		return err
	}
	st, err := jobs.SynthContractual(ctx, c, nil)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %d events of %d customers to %s (subscribers %d, of whom %d started with a trial; one-off buyers %d; renewals %d, cancellations %d, win-backs %d)\n",
		st.Events, st.Customers, c.Out, st.Subscribers, st.Trials, st.Buyers, st.Renewals, st.Cancels, st.WinBacks)
	return nil
}

func runDemoContractual(ctx context.Context, c jobs.DemoConfig, log *slog.Logger, stdout io.Writer) error {
	res, err := jobs.DemoContractual(ctx, c, pipeline.Options{Logger: log})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "sample subscription history: %s (%d customers: %d subscribers, %d one-off buyers; %d events)\n",
		res.History, res.Synth.Customers, res.Synth.Subscribers, res.Synth.Buyers, res.Synth.Events)
	printRunSummary(stdout, res.Nightly, nil)
	if s, ok := res.Nightly.Run.Details["subscriptions"].(map[string]any); ok {
		if f, ok := s["retention"].(sbg.FitResult); ok {
			fmt.Fprintf(stdout, "retention %s: alpha %.3f (s.e. %.3f), beta %.3f (s.e. %.3f) on %.0f subscriptions (generator: alpha 1, beta 6)\n",
				f.Model, f.Params["alpha"], f.StdErr["alpha"], f.Params["beta"], f.StdErr["beta"], f.Customers)
		}
		if r, ok := s["cancel_model"].(pipeline.SubscriberChurnReport); ok && r.Skipped == "" {
			fmt.Fprintf(stdout, "cancel model (P(cancel within %d days)): holdout AUC %.3f (days to period end %.3f, sBG alone %.3f), ECE %.3f\n",
				r.HorizonDays, r.AUC, r.AUCDaysToEnd, r.AUCSBG, r.ECE)
		}
	}
	fmt.Fprintln(stdout, "subscriber stages:")
	for _, l := range subscription.Labels() {
		fmt.Fprintf(stdout, "  %-15s %6d  %s / %s\n", l.Code, res.Nightly.Stages[lifecycle.Stage(l.Code)], l.English, l.Chinese)
	}
	fmt.Fprintf(stdout, "\npredictions: %s (table customer_predictions)\n", res.DB)
	fmt.Fprintf(stdout, "try: sqlite3 %s \"SELECT lifecycle_stage, subscription_status, count(*), avg(residual_clv) FROM customer_predictions GROUP BY 1, 2\"\n", res.DB)
	return nil
}
