package pipeline

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/churnpipe/churnpipe/data/store"
	"github.com/churnpipe/churnpipe/models/metrics"
	"github.com/churnpipe/churnpipe/models/registry"
)

// OutcomeOptions configure how published predictions are checked against
// what happened (prediction_outcomes).
type OutcomeOptions struct {
	Disabled    bool
	HorizonDays int     // 0 = 90: the churn label's and expected_purchases_90d's horizon
	MaxNights   int     // nights evaluated per run, newest first; 0 = 7 (the rest wait for later runs)
	MaxAUCDrop  float64 // retrain recommended when realized AUC < champion's test AUC − this; 0 = 0.05
	MaxECERise  float64 // … or realized ECE > champion's test ECE + this; 0 = 0.05
}

func (o OutcomeOptions) withDefaults() OutcomeOptions {
	if o.HorizonDays == 0 {
		o.HorizonDays = 90
	}
	if o.MaxNights == 0 {
		o.MaxNights = 7
	}
	if o.MaxAUCDrop == 0 {
		o.MaxAUCDrop = 0.05
	}
	if o.MaxECERise == 0 {
		o.MaxECERise = 0.05
	}
	return o
}

// Realized is what a customer did by the end of a night's horizon: the
// cumulative purchase days and net spend, and the lifecycle stage then.
type Realized struct {
	PurchaseDays int64
	NetSpend     float64
	Stage        string
}

// RealizedAt builds the feature table at day and returns every customer's
// cumulative figures and stage there.
func RealizedAt(ctx context.Context, in Input, day time.Time, opt Options) (map[string]Realized, error) {
	opt = opt.withDefaults()
	feat, _, err := BuildFeatures(ctx, in, day, opt)
	if err != nil {
		return nil, err
	}
	defer feat.Release()
	rules, err := ApplyRulesWith(feat, opt.Rules, opt.Segments)
	if err != nil {
		return nil, err
	}
	fc, err := newFeatureCols(feat)
	if err != nil {
		return nil, err
	}
	out := make(map[string]Realized, feat.NumRows())
	for i := 0; i < int(feat.NumRows()); i++ {
		out[fc.id.Value(i)] = Realized{PurchaseDays: int64(fc.pdays.Value(i)), NetSpend: fc.net.Value(i), Stage: string(rules.Stages[i])}
	}
	return out, nil
}

// ComputeOutcomes measures the predictions of night asOf (rows, as
// published) against what the customers did in the h days after it (real,
// the cumulative figures at asOf + h). Only buyers of the night count; a
// customer churned when it had no purchase day in (asOf, asOf + h] — the
// churn label of training. Rows are grouped by model_version ("none" without
// a churn model); each group gets an all-buyers row (clv_decile 0) and one
// row per CLV decile 1–10 (over all buyers of the night with a predicted
// CLV, equal values sharing a decile: ⌊10·L/n⌋+1 with L buyers of strictly
// lower CLV). Buyers missing from real are left out. Lift@10 % ranks by
// churn probability, ties by customer_id.
func ComputeOutcomes(rows []store.NightRow, real map[string]Realized, asOf time.Time, h int) []store.Outcome {
	var buyers []store.NightRow
	for _, r := range rows {
		if _, ok := real[r.CustomerID]; ok && r.Buyer {
			buyers = append(buyers, r)
		}
	}
	// Customer order decides the ties of lift@10 % (metrics.Lift keeps input order).
	slices.SortFunc(buyers, func(a, b store.NightRow) int { return strings.Compare(a.CustomerID, b.CustomerID) })
	decile := clvDeciles(buyers)
	type key struct {
		version string
		dec     int
	}
	groups := map[key][]int{}
	var versions []string
	for i, r := range buyers {
		v := r.ModelVersion
		if v == "" {
			v = "none"
		}
		if _, ok := groups[key{v, 0}]; !ok {
			versions = append(versions, v)
		}
		groups[key{v, 0}] = append(groups[key{v, 0}], i)
		if decile[i] > 0 {
			groups[key{v, decile[i]}] = append(groups[key{v, decile[i]}], i)
		}
	}
	slices.Sort(versions)
	var out []store.Outcome
	for _, v := range versions {
		for d := 0; d <= 10; d++ {
			idx, ok := groups[key{v, d}]
			if !ok {
				continue
			}
			o := outcomeOf(buyers, idx, real)
			o.AsOf, o.EvaluatedAsOf, o.HorizonDays, o.ModelVersion, o.CLVDecile = asOf, asOf.AddDate(0, 0, h), h, v, d
			out = append(out, o)
		}
	}
	return out
}

func clvDeciles(buyers []store.NightRow) []int {
	out := make([]int, len(buyers))
	var idx []int
	for i, r := range buyers {
		if !math.IsNaN(r.CLV) {
			idx = append(idx, i)
		}
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		switch {
		case buyers[a].CLV < buyers[b].CLV:
			return -1
		case buyers[a].CLV > buyers[b].CLV:
			return 1
		}
		return 0
	})
	n := len(idx)
	for lo := 0; lo < n; {
		hi := lo + 1
		for hi < n && buyers[idx[hi]].CLV == buyers[idx[lo]].CLV {
			hi++
		}
		for _, i := range idx[lo:hi] {
			out[i] = lo*10/n + 1
		}
		lo = hi
	}
	return out
}

func outcomeOf(buyers []store.NightRow, idx []int, real map[string]Realized) store.Outcome {
	nan := math.NaN()
	o := store.Outcome{Customers: int64(len(idx)), AUC: nan, Brier: nan, ECE: nan, Lift10: nan, PredChurnRate: nan,
		RealChurnRate: nan, PredPurchases: nan, RealPurchases: nan, PredSpend: nan, RealSpend: nan, StageAccuracy: nan}
	var y, p []float64
	var churned float64
	var predP, realP, predS, realS float64
	var nP, nS, stageHit int
	for _, i := range idx {
		r := buyers[i]
		got := real[r.CustomerID]
		bought := got.PurchaseDays - r.PurchaseDays
		label := 0.0
		if bought <= 0 {
			label = 1
		}
		churned += label
		if !math.IsNaN(r.ChurnProb) {
			y, p = append(y, label), append(p, r.ChurnProb)
		}
		if !math.IsNaN(r.ExpPurchases) {
			nP++
			predP += r.ExpPurchases
			realP += float64(max(bought, 0))
			if !math.IsNaN(r.AvgSpend) && !math.IsNaN(r.HistoricValue) {
				nS++
				predS += r.ExpPurchases * r.AvgSpend
				realS += got.NetSpend - r.HistoricValue
			}
		}
		if r.PredictedStage != "" {
			o.StageCustomers++
			if r.PredictedStage == got.Stage {
				stageHit++
			}
		}
	}
	o.RealChurnRate = churned / float64(len(idx))
	if o.ChurnCustomers = int64(len(p)); len(p) > 0 {
		o.AUC, o.Brier, o.ECE, o.Lift10 = metrics.AUC(y, p), metrics.Brier(y, p), metrics.ECE(y, p), metrics.Lift(y, p, 0.1)
		var s float64
		for _, x := range p {
			s += x
		}
		o.PredChurnRate = s / float64(len(p))
	}
	if nP > 0 {
		o.PredPurchases, o.RealPurchases = predP, realP
	}
	if nS > 0 {
		o.PredSpend, o.RealSpend = predS, realS
	}
	if o.StageCustomers > 0 {
		o.StageAccuracy = float64(stageHit) / float64(o.StageCustomers)
	}
	return o
}

// EvaluateOutcomes computes prediction_outcomes for the history nights at
// least one horizon before asOf that have none yet (newest first, at most
// MaxNights of them), reading the events that have arrived since from in,
// and stores them. It returns the all-buyers rows it stored.
func EvaluateOutcomes(ctx context.Context, st store.Store, in Input, asOf time.Time, o OutcomeOptions, runID string, opt Options) ([]store.Outcome, int, error) {
	o = o.withDefaults()
	nights, err := st.OutcomeNights(ctx, asOf.AddDate(0, 0, -o.HorizonDays))
	if err != nil {
		return nil, 0, fmt.Errorf("%w: %w", ErrSink, err)
	}
	pending := len(nights)
	if len(nights) > o.MaxNights {
		nights = nights[:o.MaxNights]
	}
	var out []store.Outcome
	for _, n := range nights {
		rows, err := st.NightRows(ctx, n)
		if err != nil {
			return out, pending, fmt.Errorf("%w: %w", ErrSink, err)
		}
		real, err := RealizedAt(ctx, in, n.AddDate(0, 0, o.HorizonDays), opt)
		if err != nil {
			return out, pending, fmt.Errorf("outcomes of %s: %w", n.Format(time.DateOnly), err)
		}
		res := ComputeOutcomes(rows, real, n, o.HorizonDays)
		for i := range res {
			res[i].RunID = runID
		}
		if err := st.PutOutcomes(ctx, n, res); err != nil {
			return out, pending, fmt.Errorf("%w: %w", ErrSink, err)
		}
		pending--
		for _, r := range res {
			if r.CLVDecile == 0 {
				out = append(out, r)
			}
		}
	}
	return out, pending, nil
}

// RetrainAdvice compares the newest realized figures of a model version
// with the model's own test figures.
type RetrainAdvice struct {
	Recommended bool
	Reason      string
	Night       time.Time // the evaluated night the advice rests on; zero = none
}

// AdviseRetrain looks at the newest all-buyers outcome of version in
// outcomes and recommends retraining when its AUC fell below test.AUC −
// MaxAUCDrop or its ECE rose above test.ECE + MaxECERise.
func AdviseRetrain(outcomes []store.Outcome, version string, test registry.Metrics, o OutcomeOptions) RetrainAdvice {
	o = o.withDefaults()
	var last *store.Outcome
	for i := range outcomes {
		if r := &outcomes[i]; r.ModelVersion == version && r.CLVDecile == 0 && !math.IsNaN(r.AUC) {
			if last == nil || r.AsOf.After(last.AsOf) {
				last = r
			}
		}
	}
	if last == nil {
		return RetrainAdvice{Reason: fmt.Sprintf("no realized outcome of %s yet", version)}
	}
	a := RetrainAdvice{Night: last.AsOf}
	night := last.AsOf.Format(time.DateOnly)
	switch {
	case last.AUC < test.AUC-o.MaxAUCDrop:
		a.Recommended = true
		a.Reason = fmt.Sprintf("realized AUC %.4f of %s's predictions of %s is below its test AUC %.4f − %.2f", last.AUC, version, night, test.AUC, o.MaxAUCDrop)
	case last.ECE > test.ECE+o.MaxECERise:
		a.Recommended = true
		a.Reason = fmt.Sprintf("realized ECE %.4f of %s's predictions of %s is above its test ECE %.4f + %.2f", last.ECE, version, night, test.ECE, o.MaxECERise)
	default:
		a.Reason = fmt.Sprintf("realized AUC %.4f, ECE %.4f of %s's predictions of %s are within the margins of its test AUC %.4f, ECE %.4f",
			last.AUC, last.ECE, version, night, test.AUC, test.ECE)
	}
	return a
}

// NoBuyerOutcomes is the retrain advice's reason for a cancel-only
// champion: its buyers have no churn probabilities to compare.
func NoBuyerOutcomes(version string) string {
	return fmt.Sprintf("retrain check skipped: champion %s holds no buyer churn model (only the subscribers' cancel model), so its prediction outcomes have no buyer churn figures to compare", version)
}

// ModelMetrics returns the test figures the registry holds for version.
func ModelMetrics(dir, version string) (registry.Metrics, error) {
	reg, err := registry.Open(dir)
	if err != nil {
		return registry.Metrics{}, err
	}
	es, err := reg.List()
	if err != nil {
		return registry.Metrics{}, err
	}
	for _, e := range es {
		if e.Version == version {
			return e.Metrics, nil
		}
	}
	return registry.Metrics{}, fmt.Errorf("registry %s: no version %s", dir, version)
}

// nightOutcomes is the outcome step of a nightly run: evaluate the pending
// nights and warn when the champion's realized figures fell behind its test
// figures. Its failures are logged, not fatal: the night is published.
func nightOutcomes(ctx context.Context, st store.Store, cfg NightlyConfig, asOf time.Time, ch *Champion, opt Options, res *NightlyResult) {
	if cfg.Outcomes.Disabled || cfg.FromShards != "" || cfg.DryRun {
		return
	}
	log := opt.Logger
	got, pending, err := EvaluateOutcomes(ctx, st, cfg.Input, asOf, cfg.Outcomes, cfg.RunID, opt)
	res.Outcomes = got
	if len(got) > 0 || pending > 0 {
		res.Run.Details["outcomes"] = map[string]any{"nights": len(got), "pending": pending}
	}
	if err != nil {
		log.Warn("prediction outcomes not computed", "err", err)
		res.Run.Details["outcomes_error"] = err.Error()
		return
	}
	for _, o := range got {
		log.Info("prediction outcome", "night", o.AsOf.Format(time.DateOnly), "model_version", o.ModelVersion,
			"auc", o.AUC, "brier", o.Brier, "ece", o.ECE, "lift10", o.Lift10, "realized_churn", o.RealChurnRate)
	}
	if ch == nil || cfg.Registry == "" {
		return
	}
	if !ch.HasBuyerModel() {
		res.Retrain = RetrainAdvice{Reason: NoBuyerOutcomes(ch.Version)}
		res.Run.Details["retrain_check"] = res.Retrain.Reason
		return
	}
	all, err := st.Outcomes(ctx, false)
	if err != nil {
		log.Warn("prediction outcomes not read", "err", err)
		return
	}
	test, err := ModelMetrics(cfg.Registry, ch.Version)
	if err != nil {
		log.Warn("champion test figures not read", "err", err)
		return
	}
	adv := AdviseRetrain(all, ch.Version, test, cfg.Outcomes)
	res.Retrain = adv
	if adv.Recommended {
		log.Warn("retrain recommended", "reason", adv.Reason)
		res.Run.Details["retrain_recommended"] = adv.Reason
	}
}
