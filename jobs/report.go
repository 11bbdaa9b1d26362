package jobs

import (
	"fmt"
	"os"

	"github.com/churnpipe/churnpipe/models/churn"
	"github.com/churnpipe/churnpipe/models/churn/churnreport"
	"github.com/churnpipe/churnpipe/models/registry"
	"github.com/churnpipe/churnpipe/pipeline"
)

// ChurnReport writes the HTML report of a registered model version (or
// alias) from the evaluation saved when it was trained.
func ChurnReport(registryDir, ref, out string) (churnreport.Report, error) {
	if out == "" {
		return churnreport.Report{}, &UsageError{fmt.Errorf("report needs --out DIR")}
	}
	if fi, err := os.Stat(registryDir); err != nil || !fi.IsDir() {
		// Never create a mistyped registry folder; say where we looked.
		return churnreport.Report{}, fmt.Errorf("%w: registry %s: not a folder (%v); train a model first: churnpipe train --registry %s",
			pipeline.ErrRegistry, registryDir, err, registryDir)
	}
	reg, err := registry.Open(registryDir)
	if err != nil {
		return churnreport.Report{}, err
	}
	a, err := reg.Load(ref)
	if err != nil {
		// A version or alias that is not there is a usage error (registry.ErrNotFound:
		// exit 2); a corrupt manifest, aliases file or artifact is a registry
		// that cannot be used (exit 7).
		return churnreport.Report{}, fmt.Errorf("registry %s: %w", registryDir, err)
	}
	if !a.HasBuyerModel() {
		return churnreport.Report{}, fmt.Errorf("registry %s: %w: %s holds only the subscribers' cancel model, so there is no buyer churn evaluation to report (see churnpipe models show %s)",
			registryDir, pipeline.ErrNoBuyerModel, a.Version, a.Version)
	}
	ev, err := pipeline.LoadEvaluation(registryDir, a.Version)
	if err != nil {
		return churnreport.Report{}, fmt.Errorf("%w: registry %s: %w", pipeline.ErrRegistry, registryDir, err)
	}
	r := ev.Report
	in := churnreport.Input{
		ModelVersion: a.Version, ModelKind: string(a.Kind), TestSnapshot: r.TestSnapshot, HorizonDays: r.HorizonDays,
		Y: ev.Y, P: ev.P, Baselines: ev.Baselines, Stage: ev.Stage, StageHat: ev.StageHat, StageCodes: ev.StageCodes,
		Features: ev.Features, Importance: ev.Importance,
		Verdict: r.Verdict, LosesToBaseline: r.ChosenKind != "" && !r.BeatsBaselines && !churn.IsBaseline(r.ChosenKind),
		Metrics: map[string]float64{
			"auc": r.AUC, "pr_auc": r.PRAUC, "brier": r.Brier, "log_loss": r.LogLoss, "ece": r.ECE,
			"lift_top10": r.LiftTop10, "recency_auc": r.Baselines.RecencyAUC, "bgnbd_auc": r.Baselines.BGNBDAUC,
			"stage_accuracy": r.StageAccuracy, "stage_macro_f1": r.StageMacroF1,
			"stage_baseline_accuracy": r.StageBaselineAccuracy, "stage_baseline_macro_f1": r.StageBaselineMacroF1,
			"test_churn_rate": r.TestChurnRate, "test_customers": float64(r.TestCustomers), "train_customers": float64(r.TrainCustomers),
		},
	}
	return churnreport.Write(out, in)
}
