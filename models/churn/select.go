package churn

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"

	"gonum.org/v1/gonum/mat"

	"github.com/churnpipe/churnpipe/models/metrics"
	"github.com/churnpipe/churnpipe/models/season"
)

// Fold is one origin of the rolling-origin evaluation: training snapshots
// whose label windows end on or before the validation snapshot, the
// validation snapshot whose label window ends on the test snapshot, and the
// test snapshot. No label window of Train or Val overlaps Test's.
type Fold struct {
	Test    string // the test snapshot's day, for reports
	Train   Set
	Val     Set
	TestSet Set
	// Refit, when it has rows, are the training snapshots moved forward to
	// end on the validation snapshot (label windows ending on or before the
	// test snapshot): the learnt candidates chosen on Val are refitted on
	// them before they are tested (RefitCandidates).
	Refit Set
	// Season is the month index estimated from the history known at the
	// test snapshot; with it, the sets carry their LogExposure and every
	// candidate gets a Season referred to the validation snapshot, its
	// exponent fitted on the training snapshots (see seasonal).
	Season *season.Index
}

// TestMetrics are one model's figures on one test snapshot.
type TestMetrics struct {
	Snapshot  string  `json:"snapshot"`
	N         int     `json:"n"`
	ChurnRate float64 `json:"churn_rate"`
	MeanP     float64 `json:"mean_probability"` // calibration in the large: compare with ChurnRate
	AUC       float64 `json:"auc"`
	Brier     float64 `json:"brier"`
	ECE       float64 `json:"ece"`
	LogLoss   float64 `json:"log_loss"`
}

// KindResult is one candidate across the folds: validation AUC (used for
// the choice) and test metrics (used only for the baseline comparison).
type KindResult struct {
	Kind       string    `json:"kind"`
	Baseline   bool      `json:"baseline,omitempty"`
	ValAUC     []float64 `json:"validation_auc"`
	MeanValAUC float64   `json:"mean_validation_auc"`
	// ValLogLoss is each fold's validation log loss of the calibrated
	// probability (Fitted.ValLogLoss), MeanValLogLoss their mean.
	ValLogLoss     []float64     `json:"validation_log_loss"`
	MeanValLogLoss float64       `json:"mean_validation_log_loss"`
	Test           []TestMetrics `json:"test"`
	MeanAUC        float64       `json:"mean_test_auc"`
	AUCCI          [2]float64    `json:"mean_test_auc_ci95"`
	MeanBrier      float64       `json:"mean_test_brier"`
	MeanECE        float64       `json:"mean_test_ece"`
	Seconds        float64       `json:"seconds"`
	// Refitted: the newest fold's model was refitted on the training window
	// moved forward to the validation snapshot (RefitCandidates).
	Refitted bool `json:"refitted,omitempty"`
}

// Selection is the outcome of RollingOrigin.
type Selection struct {
	Folds        []string     `json:"test_snapshots"` // newest first
	Kinds        []KindResult `json:"kinds"`
	Chosen       string       `json:"chosen"`        // best mean validation AUC
	BestBaseline string       `json:"best_baseline"` // best mean test AUC among the baselines
	// BaselineChampion is the baseline with the lowest mean test Brier
	// score: the champion when no candidate beats every baseline. The night
	// publishes probabilities, so the fallback is judged by a proper score
	// (AUC alone chose a recency baseline 0.0001 above BTYD in AUC with
	// ECE 0.045 against BTYD's 0.026 on CDNOW at 1998-06-29).
	BaselineChampion string `json:"baseline_champion"`
	// SeasonShift is, fold by fold (in the order of Folds), the exponent
	// the calibrated test probabilities were raised to: the ratio of the
	// test window's exposure to the validation window's under the fold's
	// month index, to the fitted power Season.Beta; 1 = no index, or a
	// calendar the training labels do not follow.
	SeasonShift []float64 `json:"season_shift"`
	Champion    string    `json:"champion_kind"` // Chosen if it beats every baseline, else BaselineChampion
	Beats       bool      `json:"beats_baselines"`
	Verdict     string    `json:"verdict"` // in words
	// Models are the candidates of the newest fold (trained on the most
	// recent data, calibrated on the most recent labelled window).
	Models map[string]*Model `json:"-"`
	// TestP are the calibrated test probabilities per kind, per fold.
	TestP map[string][][]float64 `json:"-"`
}

// Kind returns the result of kind, or nil.
func (s *Selection) Kind(kind string) *KindResult {
	for i := range s.Kinds {
		if s.Kinds[i].Kind == kind {
			return &s.Kinds[i]
		}
	}
	return nil
}

// bootstrapReplicates is the number of bootstrap replicates of the mean
// test AUC's interval.
const bootstrapReplicates = 400

// RollingOrigin fits every candidate on every fold (folds[0] the newest),
// chooses the kind with the best mean validation AUC, and compares it with
// the baselines on the same test snapshots: the champion is the chosen kind
// only if its mean test AUC is above, and its mean test Brier score below,
// those of every baseline; otherwise the baseline with the lowest mean test
// Brier score is the champion. The champion returned is the newest fold's model of that
// kind, with the predicted-stage model fitted on the newest fold. Folds
// other than the newest that lack data are dropped.
func RollingOrigin(folds []Fold, names, extra, stageCodes []string, o TrainOptions) (*Selection, *Model, error) {
	if len(folds) == 0 {
		return nil, nil, fmt.Errorf("%w: no fold", ErrTooFewData)
	}
	o = o.withDefaults()
	sel := &Selection{Models: map[string]*Model{}, TestP: map[string][][]float64{}}
	// The folds are independent: fit them two at a time (the machine's
	// cores; the boosted trees use all cores for their histograms anyway).
	fitted := make([][]Fitted, len(folds))
	var older []Fitted // the newest fold's fits before the refit
	errs := make([]error, len(folds))
	shifts := make([]float64, len(folds))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 2)
	for fi := range folds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			fitted[fi], errs[fi] = FitCandidates(folds[fi].Train, folds[fi].Val, names, extra, o)
			if errs[fi] == nil && folds[fi].Refit.rows() > 0 && !o.NoRefit {
				if fi == 0 {
					older = slices.Clone(fitted[0])
				}
				fitted[fi], errs[fi] = RefitCandidates(fitted[fi], folds[fi].Refit, folds[fi].Val, names, o)
			}
			shifts[fi] = 1
			if errs[fi] == nil && !o.NoSeason {
				shifts[fi] = seasonal(fitted[fi], folds[fi], o)
			}
		}()
	}
	wg.Wait()
	var kept []Fold
	results := map[string]*KindResult{}
	for fi, f := range folds {
		fs, err := fitted[fi], errs[fi]
		if errors.Is(err, ErrTooFewData) && fi > 0 {
			continue
		}
		if err != nil {
			return nil, nil, fmt.Errorf("fold with test snapshot %s: %w", f.Test, err)
		}
		kept = append(kept, f)
		sel.Folds = append(sel.Folds, f.Test)
		sel.SeasonShift = append(sel.SeasonShift, shifts[fi])
		for i, ft := range fs {
			k := ft.Model.Kind
			r := results[k]
			if r == nil {
				r = &KindResult{Kind: k, Baseline: IsBaseline(k)}
				results[k] = r
			}
			if fi == 0 {
				sel.Models[k] = ft.Model
				r.Refitted = older != nil && older[i].Model != ft.Model
			}
			m := ft.Model
			if f.TestSet.LogExposure != nil {
				m = m.atLogExposure(f.TestSet.LogExposure[0])
			}
			p := m.PredictAll(f.TestSet.X)
			sel.TestP[k] = append(sel.TestP[k], p)
			r.ValAUC = append(r.ValAUC, ft.ValAUC)
			r.ValLogLoss = append(r.ValLogLoss, ft.ValLogLoss)
			r.Seconds += ft.Seconds
			r.Test = append(r.Test, testMetrics(f.Test, f.TestSet.Churn, p))
		}
	}
	for _, k := range o.Candidates {
		r := results[k]
		if r == nil {
			continue
		}
		var ys, ps [][]float64
		for fi := range kept {
			ys, ps = append(ys, kept[fi].TestSet.Churn), append(ps, sel.TestP[k][fi])
		}
		r.MeanValAUC, r.MeanValLogLoss = mean(r.ValAUC), mean(r.ValLogLoss)
		r.MeanAUC, r.MeanBrier, r.MeanECE = meanOf(r.Test, func(t TestMetrics) float64 { return t.AUC }),
			meanOf(r.Test, func(t TestMetrics) float64 { return t.Brier }), meanOf(r.Test, func(t TestMetrics) float64 { return t.ECE })
		r.AUCCI[0], r.AUCCI[1] = metrics.BootstrapMeanAUC(ys, ps, bootstrapReplicates, o.Seed+7)
		sel.Kinds = append(sel.Kinds, *r)
	}
	for _, r := range sel.Kinds {
		if sel.Chosen == "" || r.MeanValAUC > sel.Kind(sel.Chosen).MeanValAUC {
			sel.Chosen = r.Kind
		}
		if r.Baseline && (sel.BestBaseline == "" || r.MeanAUC > sel.Kind(sel.BestBaseline).MeanAUC) {
			sel.BestBaseline = r.Kind
		}
		if r.Baseline && (sel.BaselineChampion == "" || r.MeanBrier < sel.Kind(sel.BaselineChampion).MeanBrier) {
			sel.BaselineChampion = r.Kind
		}
	}
	if sel.BestBaseline == "" {
		return nil, nil, fmt.Errorf("churn: no baseline (btyd, recency) among the candidates %v: a model cannot be judged", o.Candidates)
	}
	sel.decide()
	champ := sel.Models[sel.Champion]
	f := kept[0]
	if f.Train.Stage != nil && len(stageCodes) >= 2 {
		s, err := FitStage(f.Train, f.Val, names, stageCodes, o)
		if err != nil {
			return nil, nil, err
		}
		champ.Stage, champ.StageCodes = s, stageCodes
	}
	return sel, champ, nil
}

// seasonal gives every model of fs the fold's Season, with the validation
// snapshot's calendar as the reference (the candidates are calibrated on
// it) and one exponent for all: fitSeasonBeta with the BTYD baseline, which
// is calibrated out of time on the validation snapshot, on every training
// snapshot of the fold (Train and Refit, whose windows span the most
// calendar). It returns the exponent the test probabilities are raised to,
// exp(β·(e_test − e_val)); 1 when the fold has no index or β is 0 (a
// calendar the labels do not follow is not applied).
func seasonal(fs []Fitted, f Fold, o TrainOptions) float64 {
	if f.Season == nil || f.Val.LogExposure == nil || f.TestSet.LogExposure == nil || f.Train.LogExposure == nil {
		return 1
	}
	fit := f.Train
	if f.Refit.rows() > 0 && f.Refit.LogExposure != nil {
		fit = concat(f.Train, f.Refit)
	}
	ref := f.Val.LogExposure[0]
	var beta float64
	for _, ft := range fs {
		if ft.Model.Kind == KindBTYD {
			beta = fitSeasonBeta(ft.Model, fit, ref, o.Seed+13)
		}
	}
	if beta == 0 {
		return 1
	}
	for _, ft := range fs {
		ft.Model.Season = &Season{Index: *f.Season, Beta: beta, RefLogExposure: ref}
	}
	return math.Exp(beta * (f.TestSet.LogExposure[0] - ref))
}

// concat stacks the rows of a and b, which both have LogExposure.
func concat(a, b Set) Set {
	ra, c := a.X.Dims()
	rb, _ := b.X.Dims()
	X := mat.NewDense(ra+rb, c, nil)
	for i := 0; i < ra; i++ {
		copy(X.RawRowView(i), a.X.RawRowView(i))
	}
	for i := 0; i < rb; i++ {
		copy(X.RawRowView(ra+i), b.X.RawRowView(i))
	}
	return Set{X: X, Churn: append(slices.Clone(a.Churn), b.Churn...), LogExposure: append(slices.Clone(a.LogExposure), b.LogExposure...)}
}

// decide sets Champion, Beats and Verdict.
func (s *Selection) decide() {
	c := s.Kind(s.Chosen)
	n := len(s.Folds)
	fb := s.Kind(s.BaselineChampion)
	if c.Baseline {
		s.Champion, s.Beats = s.BaselineChampion, false
		s.Verdict = fmt.Sprintf("the best candidate on the validation folds is the %s baseline itself: the champion is the %s baseline (the baselines' lowest mean test Brier %.4f, AUC %.4f over %d test snapshots)",
			c.Kind, fb.Kind, fb.MeanBrier, fb.MeanAUC, n)
		return
	}
	var losses []string
	for _, b := range s.Kinds {
		if !b.Baseline {
			continue
		}
		if !(c.MeanAUC > b.MeanAUC) {
			losses = append(losses, fmt.Sprintf("AUC %.4f ≤ %s %.4f", c.MeanAUC, b.Kind, b.MeanAUC))
		}
		if !(c.MeanBrier < b.MeanBrier) {
			losses = append(losses, fmt.Sprintf("Brier %.4f ≥ %s %.4f", c.MeanBrier, b.Kind, b.MeanBrier))
		}
	}
	if len(losses) == 0 {
		s.Champion, s.Beats = c.Kind, true
		b := s.Kind(s.BestBaseline)
		s.Verdict = fmt.Sprintf("%s beats every baseline on the same %d test snapshots: mean AUC %.4f (95%% CI %.4f–%.4f) vs %s %.4f, Brier %.4f vs %.4f",
			c.Kind, n, c.MeanAUC, c.AUCCI[0], c.AUCCI[1], b.Kind, b.MeanAUC, c.MeanBrier, b.MeanBrier)
		return
	}
	s.Champion, s.Beats = s.BaselineChampion, false
	s.Verdict = fmt.Sprintf("LOSES TO A BASELINE: %s (chosen on validation) does not beat the baselines on the same %d test snapshots (%s); not promoted — the champion is the %s baseline, calibrated (the baselines' lowest mean test Brier, %.4f)",
		c.Kind, n, strings.Join(losses, "; "), fb.Kind, fb.MeanBrier)
}

func testMetrics(day string, y, p []float64) TestMetrics {
	var pos float64
	for _, v := range y {
		pos += v
	}
	return TestMetrics{Snapshot: day, N: len(y), ChurnRate: pos / float64(len(y)), MeanP: mean(p), AUC: metrics.AUC(y, p),
		Brier: metrics.Brier(y, p), ECE: metrics.ECE(y, p), LogLoss: metrics.LogLoss(y, p)}
}

func mean(v []float64) float64 {
	var s float64
	for _, x := range v {
		s += x
	}
	if len(v) == 0 {
		return math.NaN()
	}
	return s / float64(len(v))
}

func meanOf(t []TestMetrics, f func(TestMetrics) float64) float64 {
	v := make([]float64, len(t))
	for i := range t {
		v[i] = f(t[i])
	}
	return mean(v)
}
