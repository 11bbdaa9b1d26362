package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/churnpipe/churnpipe/jobs"
	"github.com/churnpipe/churnpipe/models/cancel"
	"github.com/churnpipe/churnpipe/pipeline"
)

func init() {
	extraCommands = append(extraCommands,
		command{"train", "train, evaluate on a held-out later snapshot, and register the churn and stage models", runTrain})
}

func runTrain(ctx context.Context, args []string, stdout io.Writer) error {
	fs, lf := newFlags("train", "train --input PATH [--as-of DAY] [--horizon 90d] [--registry DIR] [--json]")
	var in inputFlags
	in.register(fs)
	tf := registerTrainFlags(fs, "last day of history to use (default: the last event's day)")
	snaps := fs.Int("snapshots", 6, "training snapshots per rolling origin (their labels end by the validation snapshot)")
	tests := fs.Int("test-snapshots", 3, "rolling origins: test snapshots, newest first, each judged by a model chosen and calibrated without its label window")
	attrs := fs.String("attributes", "", "customer attributes (CSV or Parquet keyed by customer_id, else by the first column; NA = missing) joined to the design matrix; nightly then needs the same --attributes")
	step := fs.String("step", "30d", "days between training snapshots")
	reg := fs.String("registry", jobs.DefaultRegistry, "model registry folder (versions, champion/challenger aliases)")
	force := fs.Bool("force", false, "promote to champion even if the promotion rule says no (recorded)")
	seed := fs.Uint64("seed", 1, "random seed for row subsampling")
	asJSON := fs.Bool("json", false, "print one JSON object")
	noCal := fs.Bool("no-calendar", false, "keep each probability on the calendar of its calibration window: no month index (season_shift 1), for comparison")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	log, err := lf.setup()
	if err != nil {
		return err
	}
	c := jobs.TrainConfig{}
	c.Train.NoSeason = *noCal
	if c.Input, err = in.input(); err != nil {
		return err
	}
	if c.AsOf, c.HorizonDays, err = tf.parse(); err != nil {
		return err
	}
	c.TrainSnapshots, c.TestSnapshots, c.Registry, c.Force, c.Seed = *snaps, *tests, *reg, *force, *seed
	c.Attributes = *attrs
	if *step != "" {
		if c.StepDays, err = jobs.ParseHorizon(*step); err != nil {
			return err
		}
	}
	rep, err := jobs.Train(ctx, c, pipeline.Options{Logger: log})
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(rep)
	}
	printTrainReport(stdout, rep)
	if rep.Promotion != nil {
		fmt.Fprintf(stdout, "promotion: %v — %s; champion is %s\n", rep.Promotion.Promote, rep.Promotion.Reason, rep.Champion)
	}
	return nil
}

// printTrainReport prints the rolling-origin table and the verdict.
func printTrainReport(w io.Writer, rep *pipeline.TrainReport) {
	if rep.BuyerModel != "" {
		fmt.Fprintf(w, "model %s: buyer model: %s; the version holds only the subscribers' cancel model\n", rep.ModelVersion, rep.BuyerModel)
		printCancelReport(w, rep.CancelModel)
		return
	}
	fmt.Fprintf(w, "model %s (%s) — chosen on validation: %s; test snapshots %v\n", rep.ModelVersion, rep.ModelKind, rep.ChosenKind, rep.TestSnapshots)
	if !rep.BeatsBaselines {
		fmt.Fprintln(w, "WARNING: no candidate beats the baselines; the champion is a calibrated baseline")
	}
	fmt.Fprintf(w, "verdict: %s\n", rep.Verdict)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "kind\tmean val AUC\tmean test AUC\t95% CI\tmean Brier\tmean ECE\tper-snapshot test AUC\t")
	if rep.Rolling != nil {
		for _, k := range rep.Rolling.Kinds {
			var per []string
			for _, t := range k.Test {
				per = append(per, fmt.Sprintf("%s %.4f", t.Snapshot, t.AUC))
			}
			name := k.Kind
			if k.Baseline {
				name += " (baseline)"
			}
			fmt.Fprintf(tw, "%s\t%.4f\t%.4f\t%.4f–%.4f\t%.4f\t%.4f\t%s\t\n", name, k.MeanValAUC, k.MeanAUC, k.AUCCI[0], k.AUCCI[1],
				k.MeanBrier, k.MeanECE, strings.Join(per, ", "))
		}
	}
	tw.Flush()
	if sel := rep.Rolling; sel != nil {
		var shifts []string
		moved := false
		for k, r := range sel.SeasonShift {
			shifts = append(shifts, fmt.Sprintf("%s %.3f", sel.Folds[k], r))
			moved = moved || r != 1
		}
		if moved {
			fmt.Fprintf(w, "calendar: test probabilities moved from the validation window's month index to the test window's, p^r with r = %s\n", strings.Join(shifts, ", "))
		}
	}
	fmt.Fprintf(w, "champion on the newest test snapshot %s: %d customers, churn rate %.3f, AUC %.4f · Brier %.4f · ECE %.4f · lift@10%% %.2f; probabilities within [%g, %g]\n",
		rep.TestSnapshot, rep.TestCustomers, rep.TestChurnRate, rep.AUC, rep.Brier, rep.ECE, rep.LiftTop10, rep.ProbabilityBounds[0], rep.ProbabilityBounds[1])
	fmt.Fprintf(w, "predicted stage: accuracy %.4f (stays the same %.4f) · macro-F1 %.4f (%.4f)\n",
		rep.StageAccuracy, rep.StageBaselineAccuracy, rep.StageMacroF1, rep.StageBaselineMacroF1)
	printCancelReport(w, rep.CancelModel)
}

// printCancelReport prints the subscribers' cancel model against its baselines.
func printCancelReport(w io.Writer, r *cancel.Report) {
	if r == nil {
		return
	}
	if r.Skipped != "" {
		fmt.Fprintf(w, "cancel model (subscribers): none stored: %s\n", r.Skipped)
		return
	}
	fmt.Fprintf(w, "cancel model (subscribers, P(cancel within %d days)): %s — newest fold: train snapshots %v (%d rows, %d cancellations), calibrated on %s; test snapshots %v (%d active subscribers in all, %d cancellations)\n",
		r.HorizonDays, r.Kind, r.TrainSnapshots, r.TrainRows, r.TrainPositives, r.ValidationSnapshot, r.TestSnapshots, r.TestRows, r.TestPositives)
	if !r.BeatsBaselines {
		fmt.Fprintln(w, "WARNING: the cancel model does not beat the baselines; the stored cancel model is a calibrated baseline")
	}
	fmt.Fprintf(w, "cancel verdict: %s\n", r.Verdict)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "cancel kind\tmean val AUC\tmean test AUC\tmean Brier\tmean ECE\tper-snapshot test AUC\t")
	for _, c := range r.Candidates {
		name := c.Kind
		if c.Baseline {
			name += " (baseline)"
		}
		var per []string
		for _, f := range c.Folds {
			per = append(per, fmt.Sprintf("%s %.4f", f.TestSnapshot, f.AUC))
		}
		fmt.Fprintf(tw, "%s\t%.4f\t%.4f\t%.4f\t%.4f\t%s\t\n", name, c.ValAUC, c.AUC, c.Brier, c.ECE, strings.Join(per, ", "))
	}
	tw.Flush()
}

func init() {
	extraCommands = append(extraCommands,
		command{"backtest", "train and evaluate at several past as-of days and print the metrics table", runBacktest})
}

func runBacktest(ctx context.Context, args []string, stdout io.Writer) error {
	fs, lf := newFlags("backtest", "backtest --input PATH [--as-of DAY] [--horizon 90d] [--runs 4] [--json]")
	var in inputFlags
	in.register(fs)
	tf := registerTrainFlags(fs, "newest as-of day (default: the last event's day)")
	runs := fs.Int("runs", 4, "number of as-of days, one horizon apart")
	asJSON := fs.Bool("json", false, "print a JSON array")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	log, err := lf.setup()
	if err != nil {
		return err
	}
	c := jobs.BacktestConfig{Runs: *runs}
	if c.Input, err = in.input(); err != nil {
		return err
	}
	if c.AsOf, c.HorizonDays, err = tf.parse(); err != nil {
		return err
	}
	reps, err := jobs.Backtest(ctx, c, pipeline.Options{Logger: log})
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(reps)
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "test snapshot\tcustomers\tchurn rate\tmodel\tchosen\tAUC\trecency AUC\tBG/NBD AUC\tPR-AUC\tBrier\tECE\tlift@10%\tstage acc\tstays-same acc\tagainst the baselines\t")
	for _, r := range reps {
		verdict := "beats them"
		if !r.BeatsBaselines {
			verdict = "LOSES: " + r.ChosenKind + " not promoted, champion = " + r.ModelKind + " baseline"
		}
		fmt.Fprintf(tw, "%s\t%d\t%.3f\t%s\t%s\t%.4f\t%.4f\t%.4f\t%.4f\t%.4f\t%.4f\t%.2f\t%.4f\t%.4f\t%s\t\n", r.TestSnapshot, r.TestCustomers,
			r.TestChurnRate, r.ModelKind, r.ChosenKind, r.AUC, r.Baselines.RecencyAUC, r.Baselines.BGNBDAUC, r.PRAUC, r.Brier, r.ECE,
			r.LiftTop10, r.StageAccuracy, r.StageBaselineAccuracy, verdict)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, r := range reps {
		if !r.BeatsBaselines {
			fmt.Fprintf(stdout, "as of %s: %s\n", r.TestSnapshot, r.Verdict)
		}
	}
	return nil
}

func init() {
	extraCommands = append(extraCommands,
		command{"retrain", "the weekly job: train a challenger from the configuration and promote it by the rules", runRetrain})
}

func runRetrain(ctx context.Context, args []string, stdout io.Writer) error {
	fs, lf := newFlags("retrain", "retrain [--config FILE] [--input PATH] [--registry DIR] [--horizon 90d] [flags]")
	var in inputFlags
	in.register(fs)
	cfgPath := fs.String("config", "", "YAML configuration (the nightly job's); flags given on the command line win")
	reg := fs.String("registry", jobs.DefaultRegistry, "model registry folder")
	tf := registerTrainFlags(fs, "last day of history to use (default: the last event's day)")
	force := fs.Bool("force", false, "promote even if the rule says no (recorded)")
	check := fs.Bool("check", false, `only compare the champion's realized AUC and ECE (prediction_outcomes in the configured db) with its test figures: exit 10 and "retrain recommended" when they fell behind by outcomes.max_auc_drop / max_ece_rise, else exit 0; nothing is trained`)
	db := fs.String("db", "", "prediction store holding prediction_outcomes: sqlite:PATH, postgres://user@host/db or mysql://user@host:3306/db (default: the configuration's db)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	c, set, log, err := loadConfig(fs, lf, *cfgPath, &in)
	if err != nil {
		return err
	}
	if set["registry"] || c.Registry == "" {
		c.Registry = *reg
	}
	if *db != "" {
		c.DB = *db
	}
	nc, err := jobs.FromConfig(c)
	if err != nil {
		return err
	}
	// The realized figures of the champion's published predictions.
	adv, aerr := jobs.CheckRetrain(ctx, nc)
	switch {
	case adv.Recommended:
		fmt.Fprintf(stdout, "retrain recommended: %s\n", adv.Reason)
	case aerr != nil:
		log.Warn("prediction outcomes not checked", "err", aerr)
	default:
		fmt.Fprintf(stdout, "outcomes: %s\n", adv.Reason)
	}
	if *check {
		return aerr
	}
	tc := jobs.TrainConfig{Input: nc.Input}
	tc.Registry, tc.Force, tc.Attributes = c.Registry, *force, nc.Attributes
	tc.Subscriptions = nc.Subscriptions
	if tc.AsOf, tc.HorizonDays, err = tf.parse(); err != nil {
		return err
	}
	rep, err := jobs.Train(ctx, tc, pipeline.Options{Logger: log, Rules: nc.Rules, Segments: nc.Segments})
	if err != nil {
		return err
	}
	if rep.BuyerModel != "" {
		fmt.Fprintf(stdout, "challenger %s: buyer model: %s; cancel model only; champion is %s", rep.ModelVersion, rep.BuyerModel, rep.Champion)
	} else {
		fmt.Fprintf(stdout, "challenger %s: AUC %.4f, ECE %.4f on %s; champion is %s", rep.ModelVersion, rep.AUC, rep.ECE, rep.TestSnapshot, rep.Champion)
	}
	if rep.Promotion != nil {
		fmt.Fprintf(stdout, " (%s)", rep.Promotion.Reason)
	}
	fmt.Fprintln(stdout)
	return nil
}

// trainFlags are the as-of day and horizon flags of train, backtest and
// retrain.
type trainFlags struct{ asOf, horizon *string }

func registerTrainFlags(fs *flag.FlagSet, asOfHelp string) trainFlags {
	return trainFlags{
		asOf:    fs.String("as-of", "", asOfHelp),
		horizon: fs.String("horizon", "90d", "churn horizon: churned = no purchase within this many days after a snapshot"),
	}
}

func (f trainFlags) parse() (time.Time, int, error) {
	day, err := parseDay("as-of", *f.asOf)
	if err != nil {
		return day, 0, err
	}
	h, err := jobs.ParseHorizon(*f.horizon)
	return day, h, err
}
