package churnreport_test

import (
	"math"
	"math/rand/v2"

	"github.com/churnpipe/churnpipe/models/churn/churnreport"
	"github.com/churnpipe/churnpipe/models/metrics"
)

// stageCodes are the lifecycle stages of package features/lifecycle, in
// the order of pipeline.StageCodes.
var stageCodes = []string{"prospect", "churned", "dormant", "reactivated", "new", "declining", "mature", "growing"}

// featureNames are the churn model's features (package features and the
// BTYD extras of models/churn), most important first in synthInput.
var featureNames = []string{
	"days_since_last_purchase", "bgnbd_p_alive", "purchase_days_90", "gap_mean_days", "bgnbd_prob_no_purchase",
	"days_since_last_event", "spend_90", "visit_count_90", "purchase_days_180", "tenure_days",
	"gap_before_recent_days", "bgnbd_expected_purchases", "activity_m1", "purchase_days_30", "net_spend",
	"repeat_purchases", "gap_std_days", "activity_m2", "support_count_90", "spend_mean",
	"purchase_days_365", "activity_earlier_mean", "activity_m3", "first_to_last_days", "return_count",
	"spend_max", "repeat_spend_mean", "activity_m6", "visit_count", "season_sin",
	"season_cos", "return_amount", "activity_m12", "support_count", "tenure_months",
}

func sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

// synthInput returns a realistic report input for n customers: churn
// driven by recency and frequency plus unobserved noise (churn rate near
// 30 %), a model that sees most of the signal and is mildly overconfident,
// two weaker baselines, 8 lifecycle stages predicted with about 75 %
// accuracy, and decreasing feature importances. Deterministic for a seed.
func synthInput(seed uint64, n int) churnreport.Input {
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	in := churnreport.Input{
		ModelVersion: "v0042-gbt-20240630", ModelKind: "gbt", TestSnapshot: "2024-06-30", HorizonDays: 90,
		Y: make([]float64, n), P: make([]float64, n),
		Baselines:  map[string][]float64{"recency": make([]float64, n), "bgnbd": make([]float64, n)},
		Stage:      make([]int, n),
		StageHat:   make([]int, n),
		StageCodes: stageCodes,
		Features:   featureNames,
	}
	stageP := []float64{0.02, 0.14, 0.16, 0.06, 0.12, 0.15, 0.25, 0.10}
	for i := range n {
		recency := math.Round(r.ExpFloat64() * 70)
		freq := math.Floor(r.ExpFloat64() * 4)
		hidden := r.NormFloat64()
		z := -2.0 + 0.022*recency - 0.35*math.Log1p(freq) + 0.7*hidden
		if r.Float64() < sigmoid(z) {
			in.Y[i] = 1
		}
		seen := z - 0.7*hidden + 0.45*hidden + 0.35*r.NormFloat64()
		in.P[i] = sigmoid(1.15*seen + 0.1)
		in.Baselines["recency"][i] = recency
		in.Baselines["bgnbd"][i] = sigmoid(-1.2 + 0.015*recency - 0.5*math.Log1p(freq) + 0.9*r.NormFloat64())

		s := pick(r, stageP)
		in.Stage[i] = s
		switch u := r.Float64(); {
		case u < 0.75:
			in.StageHat[i] = s
		case u < 0.92:
			in.StageHat[i] = max(0, min(len(stageCodes)-1, s+1-2*r.IntN(2)))
		default:
			in.StageHat[i] = r.IntN(len(stageCodes))
		}
	}
	in.Importance = make([]float64, len(featureNames))
	var sum float64
	for j := range in.Importance {
		in.Importance[j] = math.Exp(-0.22*float64(j)) * (0.7 + 0.6*r.Float64())
		sum += in.Importance[j]
	}
	for j := range in.Importance {
		in.Importance[j] /= sum
	}
	in.Metrics = map[string]float64{
		"auc":            metrics.AUC(in.Y, in.P),
		"pr_auc":         metrics.AveragePrecision(in.Y, in.P),
		"brier":          metrics.Brier(in.Y, in.P),
		"log_loss":       metrics.LogLoss(in.Y, in.P),
		"ece":            metrics.ECE(in.Y, in.P),
		"lift_top10":     metrics.Lift(in.Y, in.P, 0.1),
		"recency_auc":    metrics.AUC(in.Y, in.Baselines["recency"]),
		"bgnbd_auc":      metrics.AUC(in.Y, in.Baselines["bgnbd"]),
		"stage_accuracy": metrics.Accuracy(in.Stage, in.StageHat),
		"stage_macro_f1": metrics.MacroF1(in.Stage, in.StageHat, len(stageCodes)),
		"test_customers": float64(n),
	}
	return in
}

// pick draws an index with the given probabilities (summing to 1).
func pick(r *rand.Rand, p []float64) int {
	u := r.Float64()
	for i, v := range p {
		if u < v {
			return i
		}
		u -= v
	}
	return len(p) - 1
}
