// Package cancel is the supervised cancel model of subscribers: P(cancel
// or end within a horizon) from usage and subscription features, trained on
// point-in-time snapshots, calibrated on a later validation snapshot and
// compared on a test snapshot with two baselines, "days to period end" and
// the retention model (sBG) alone. A candidate that does not beat both is
// never stored: the baseline of lowest mean test Brier score, calibrated the
// same way, is the model.
//
// The model is plain data that round-trips through encoding/json; the
// registry stores it next to the buyer churn model (docs/model-format.md).
package cancel

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/churnpipe/churnpipe/models/calibrate"
	"github.com/churnpipe/churnpipe/models/logit"
	"github.com/churnpipe/churnpipe/models/metrics"
)

// The model kinds: the logistic regression and the two baselines.
const (
	KindLogit     = "logit"
	KindDaysToEnd = "days_to_period_end" // fewer days to the period end = more likely to cancel
	KindSBG       = "sbg"                // the retention model's 1 − P(renew next)
)

// The feature columns the baselines read.
const (
	FeatureDaysToEnd = "days_to_period_end"
	FeatureSBG       = "sbg_p_cancel_next"
)

// The bounds of every probability the model returns (as the buyer model's).
const (
	ProbFloor = 0.001
	ProbCeil  = 0.999
)

// Errors.
var (
	ErrTooFewData = errors.New("cancel: not enough data")
	ErrFeatures   = errors.New("cancel: feature columns do not match the model")
)

// FoldFigures are one kind's figures on one test snapshot, after
// calibration on that fold's validation snapshot.
type FoldFigures struct {
	TestSnapshot string  `json:"test_snapshot"`
	ValAUC       float64 `json:"val_auc"`
	AUC          float64 `json:"auc"`
	Brier        float64 `json:"brier"`
	ECE          float64 `json:"ece"`
}

// Candidate is one kind's figures: the means over the test snapshots of
// the AUC on the validation snapshot and, after calibration on it, AUC,
// Brier score and ECE (10 bins) on the test snapshot; Folds has them per
// test snapshot, newest first.
type Candidate struct {
	Kind     string        `json:"kind"`
	Baseline bool          `json:"baseline"`
	ValAUC   float64       `json:"val_auc"`
	AUC      float64       `json:"auc"`
	Brier    float64       `json:"brier"`
	ECE      float64       `json:"ece"`
	Folds    []FoldFigures `json:"folds,omitempty"`
}

// Report is the comparison of the candidate with its baselines over the
// rolling origins (folds). The snapshot days and TrainRows, TrainPositives
// and ValRows are the newest fold's (whose models are stored); TestRows and
// TestPositives add up over the test snapshots.
type Report struct {
	HorizonDays        int         `json:"horizon_days"`
	TrainSnapshots     []string    `json:"train_snapshots,omitempty"`
	ValidationSnapshot string      `json:"validation_snapshot,omitempty"`
	TestSnapshot       string      `json:"test_snapshot,omitempty"`
	TestSnapshots      []string    `json:"test_snapshots,omitempty"` // every fold's, newest first
	TrainRows          int         `json:"train_rows"`
	TrainPositives     int         `json:"train_positives"`
	ValRows            int         `json:"val_rows"`
	TestRows           int         `json:"test_rows"`
	TestPositives      int         `json:"test_positives"`
	Candidates         []Candidate `json:"candidates,omitempty"`
	// Kind is the stored model's: KindLogit when it beats both baselines,
	// else the baseline of lowest mean test Brier score.
	Kind           string `json:"kind,omitempty"`
	BeatsBaselines bool   `json:"beats_baselines"`
	Verdict        string `json:"verdict"`
	// Skipped says why no model was trained ("" = one was).
	Skipped string `json:"skipped,omitempty"`
}

// Candidate returns the figures of kind, or nil.
func (r *Report) Candidate(kind string) *Candidate {
	for i := range r.Candidates {
		if r.Candidates[i].Kind == kind {
			return &r.Candidates[i]
		}
	}
	return nil
}

// Model is a trained cancel model.
type Model struct {
	Kind        string   `json:"kind"`
	Features    []string `json:"features"` // the columns x holds, in order
	HorizonDays int      `json:"horizon_days"`
	// Logit is the logistic regression (kind logit).
	Logit *logit.Model `json:"logit,omitempty"`
	// Platt maps the kind's link score (see Link) to the probability; fitted
	// on the validation snapshot.
	Platt  *calibrate.Platt `json:"platt"`
	Report Report           `json:"report"`
}

// CheckFeatures returns an error wrapping ErrFeatures when names is not
// the model's column layout.
func (m *Model) CheckFeatures(names []string) error {
	if !slices.Equal(m.Features, names) {
		return fmt.Errorf("%w: the %s cancel model expects %d columns [%s], the data have %d [%s]",
			ErrFeatures, m.Kind, len(m.Features), strings.Join(m.Features, " "), len(names), strings.Join(names, " "))
	}
	return nil
}

// Validate checks a decoded model.
func (m *Model) Validate() error {
	if m.Platt == nil {
		return fmt.Errorf("cancel: %s model without a calibrator", m.Kind)
	}
	switch m.Kind {
	case KindLogit:
		if m.Logit == nil || m.Logit.NumFeatures() != len(m.Features) {
			return fmt.Errorf("cancel: logit model does not have %d coefficients", len(m.Features))
		}
	case KindDaysToEnd, KindSBG:
		if !slices.Contains(m.Features, baselineColumn(m.Kind)) {
			return fmt.Errorf("%w: the %s baseline needs column %s", ErrFeatures, m.Kind, baselineColumn(m.Kind))
		}
	default:
		return fmt.Errorf("cancel: unknown kind %q", m.Kind)
	}
	if m.HorizonDays <= 0 {
		return fmt.Errorf("cancel: horizon %d days", m.HorizonDays)
	}
	return nil
}

func baselineColumn(kind string) string {
	if kind == KindDaysToEnd {
		return FeatureDaysToEnd
	}
	return FeatureSBG
}

// link is the uncalibrated score of kind for x (larger = more likely to
// cancel): the logistic margin, minus the days to the period end, or
// logit of the sBG's P(cancel at the next opportunity).
func link(kind string, features []string, lm *logit.Model, x []float64) float64 {
	switch kind {
	case KindLogit:
		return lm.Margin(x)
	case KindDaysToEnd:
		return -x[slices.Index(features, FeatureDaysToEnd)]
	case KindSBG:
		const eps = 1e-6
		p := math.Min(1-eps, math.Max(eps, x[slices.Index(features, FeatureSBG)]))
		return math.Log(p / (1 - p))
	}
	panic("cancel: unknown kind " + kind)
}

// Predict returns the calibrated P(cancel within HorizonDays) of row x, in
// [ProbFloor, ProbCeil].
func (m *Model) Predict(x []float64) float64 {
	p := m.Platt.Apply(link(m.Kind, m.Features, m.Logit, x))
	return math.Min(ProbCeil, math.Max(ProbFloor, p))
}

// Set is one snapshot's rows (or several stacked) and labels (1 = the
// subscriber cancelled or ended within the horizon).
type Set struct {
	X [][]float64
	Y []float64
}

// Positives counts the positive labels.
func (s Set) Positives() int {
	n := 0
	for _, y := range s.Y {
		if y == 1 {
			n++
		}
	}
	return n
}

// Fold is one rolling origin: the model is fitted on Train, calibrated on
// Val (the most recent labelled window before the test snapshot) and
// judged on Test.
type Fold struct {
	TrainSnapshots           []string
	ValidationSnapshot, Test string // days, for the report
	Train, Val, TestSet      Set
}

// Options configure Train.
type Options struct {
	Features    []string          // column names of the rows (must hold FeatureDaysToEnd and FeatureSBG)
	Transforms  []logit.Transform // per column, for the logistic regression
	HorizonDays int
	L2          float64 // ridge strength of the logistic regression; default 1e-3
	// MinPositives: fewer positive (or negative) labels than this in a
	// fold's train, validation or test rows and the fold is dropped; when
	// the newest is, no model is trained (ErrTooFewData). Default 10.
	MinPositives int
}

// Train fits the logistic regression on each fold's training rows,
// calibrates it and the two baselines by Platt scaling on the fold's
// validation rows and evaluates the three on its test rows. The stored
// model is the newest fold's logistic model when its mean test AUC is above
// and its mean test Brier score below both baselines', else the newest
// fold's baseline of lowest mean test Brier score. The report says which and why
// (Verdict). folds[0] is the newest; the others are dropped when they lack
// data. Errors wrap ErrTooFewData or come from the fits.
func Train(folds []Fold, o Options) (*Model, Report, error) {
	if o.L2 == 0 {
		o.L2 = 1e-3
	}
	if o.MinPositives == 0 {
		o.MinPositives = 10
	}
	rep := Report{HorizonDays: o.HorizonDays}
	for _, c := range []string{FeatureDaysToEnd, FeatureSBG} {
		if !slices.Contains(o.Features, c) {
			return nil, rep, fmt.Errorf("%w: no column %s", ErrFeatures, c)
		}
	}
	if len(folds) == 0 {
		rep.Skipped = "no snapshot"
		return nil, rep, fmt.Errorf("%w: %s", ErrTooFewData, rep.Skipped)
	}
	f0 := folds[0]
	rep.TrainSnapshots, rep.ValidationSnapshot, rep.TestSnapshot = f0.TrainSnapshots, f0.ValidationSnapshot, f0.Test
	rep.TrainRows, rep.TrainPositives, rep.ValRows = len(f0.Train.Y), f0.Train.Positives(), len(f0.Val.Y)
	kinds := []string{KindLogit, KindDaysToEnd, KindSBG}
	var newest map[string]*Model
	for k, f := range folds {
		if why := f.lacks(o.MinPositives); why != "" {
			if k == 0 {
				rep.Skipped = why
				return nil, rep, fmt.Errorf("%w: %s", ErrTooFewData, why)
			}
			continue
		}
		models, figs, err := trainFold(f, kinds, o)
		if err != nil {
			return nil, rep, err
		}
		if k == 0 {
			newest = models
			for _, kind := range kinds {
				rep.Candidates = append(rep.Candidates, Candidate{Kind: kind, Baseline: kind != KindLogit})
			}
		}
		for i := range kinds {
			rep.Candidates[i].Folds = append(rep.Candidates[i].Folds, figs[i])
		}
		rep.TestSnapshots = append(rep.TestSnapshots, f.Test)
		rep.TestRows += len(f.TestSet.Y)
		rep.TestPositives += f.TestSet.Positives()
	}
	for i := range rep.Candidates {
		c := &rep.Candidates[i]
		n := float64(len(c.Folds))
		for _, ff := range c.Folds {
			c.ValAUC += ff.ValAUC / n
			c.AUC += ff.AUC / n
			c.Brier += ff.Brier / n
			c.ECE += ff.ECE / n
		}
	}
	decide(&rep)
	m := newest[rep.Kind]
	m.Report = rep
	return m, rep, nil
}

// lacks says why the fold cannot be used ("" = it can).
func (f Fold) lacks(minPos int) string {
	for _, s := range []struct {
		name string
		set  Set
	}{{"training", f.Train}, {"validation", f.Val}, {"test", f.TestSet}} {
		if pos := s.set.Positives(); pos < minPos || len(s.set.Y)-pos < minPos {
			return fmt.Sprintf("%d rows, %d cancellations in the %s snapshots of the fold tested on %s (need %d of each class)",
				len(s.set.Y), pos, s.name, f.Test, minPos)
		}
	}
	return ""
}

// trainFold fits, calibrates and evaluates every kind on one fold.
func trainFold(f Fold, kinds []string, o Options) (map[string]*Model, []FoldFigures, error) {
	lm, err := logit.FitRows(f.Train.X, f.Train.Y, nil, logit.Options{L2: o.L2, Transforms: o.Transforms, Names: o.Features})
	if err != nil {
		return nil, nil, fmt.Errorf("cancel: logistic fit (fold tested on %s): %w", f.Test, err)
	}
	models := map[string]*Model{}
	var figs []FoldFigures
	for _, kind := range kinds {
		m := &Model{Kind: kind, Features: slices.Clone(o.Features), HorizonDays: o.HorizonDays}
		if kind == KindLogit {
			m.Logit = lm
		}
		zv := scores(kind, m, f.Val.X)
		if m.Platt, err = calibrate.FitPlatt(zv, f.Val.Y, nil, false); err != nil {
			return nil, nil, fmt.Errorf("cancel: calibrating %s (fold tested on %s): %w", kind, f.Test, err)
		}
		p := make([]float64, len(f.TestSet.X))
		for i, x := range f.TestSet.X {
			p[i] = m.Predict(x)
		}
		figs = append(figs, FoldFigures{TestSnapshot: f.Test, ValAUC: metrics.AUC(f.Val.Y, zv),
			AUC: metrics.AUC(f.TestSet.Y, p), Brier: metrics.Brier(f.TestSet.Y, p), ECE: metrics.ECE(f.TestSet.Y, p)})
		models[kind] = m
	}
	return models, figs, nil
}

func scores(kind string, m *Model, X [][]float64) []float64 {
	z := make([]float64, len(X))
	for i, x := range X {
		z[i] = link(kind, m.Features, m.Logit, x)
	}
	return z
}

// decide applies the rule "never store a loser" to the candidates' means.
func decide(r *Report) {
	c := r.Candidate(KindLogit)
	best := ""
	var losses []string
	for _, b := range r.Candidates {
		if !b.Baseline {
			continue
		}
		// The stored model publishes probabilities: the fallback is the
		// baseline of the proper score, the lowest mean test Brier (as the
		// buyers' churn model's, churn.Selection.BaselineChampion).
		if best == "" || b.Brier < r.Candidate(best).Brier {
			best = b.Kind
		}
		if !(c.AUC > b.AUC) {
			losses = append(losses, fmt.Sprintf("mean test AUC %.4f not above %s's %.4f", c.AUC, b.Kind, b.AUC))
		}
		if !(c.Brier < b.Brier) {
			losses = append(losses, fmt.Sprintf("mean test Brier %.4f not below %s's %.4f", c.Brier, b.Kind, b.Brier))
		}
	}
	over := fmt.Sprintf("%d test snapshot", len(r.TestSnapshots))
	if len(r.TestSnapshots) != 1 {
		over += "s"
	}
	over += " (" + strings.Join(r.TestSnapshots, ", ") + ")"
	if len(losses) == 0 {
		r.Kind, r.BeatsBaselines = KindLogit, true
		r.Verdict = fmt.Sprintf("the logistic cancel model beats both baselines over %s: mean AUC %.4f vs %s %.4f and %s %.4f; Brier %.4f, ECE %.4f",
			over, c.AUC, KindDaysToEnd, r.Candidate(KindDaysToEnd).AUC, KindSBG, r.Candidate(KindSBG).AUC, c.Brier, c.ECE)
		return
	}
	r.Kind, r.BeatsBaselines = best, false
	r.Verdict = fmt.Sprintf("the logistic cancel model does not beat the baselines over %s (%s): it is not stored; the cancel model is the calibrated %s baseline (mean test AUC %.4f, Brier %.4f, ECE %.4f)",
		over, strings.Join(losses, "; "), best, r.Candidate(best).AUC, r.Candidate(best).Brier, r.Candidate(best).ECE)
}
