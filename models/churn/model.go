package churn

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"

	"gonum.org/v1/gonum/mat"

	"github.com/churnpipe/churnpipe/models/calibrate"
	"github.com/churnpipe/churnpipe/models/gbt"
	"github.com/churnpipe/churnpipe/models/logit"
)

// Sentinel errors.
var (
	ErrTooFewData     = errors.New("churn: not enough data")
	ErrSchemaMismatch = errors.New("churn: feature schema does not match the model")
)

// Model is a trained churn model with its predicted-stage model: plain data
// that round-trips through encoding/json (the registry stores it).
type Model struct {
	Kind        string          `json:"kind"` // "gbt" or "logit"
	Features    []string        `json:"features"`
	Extra       []string        `json:"extra"` // the extra (BTYD) columns among Features
	SchemaHash  string          `json:"schema_hash"`
	HorizonDays int             `json:"horizon_days"`
	GBT         *gbt.Model      `json:"gbt,omitempty"`
	Logit       *logit.Model    `json:"logit,omitempty"`
	Impute      []float64       `json:"impute,omitempty"` // logit: training medians for NaN
	Calibrator  json.RawMessage `json:"calibrator,omitempty"`
	Stage       *gbt.Model      `json:"stage,omitempty"`
	StageCodes  []string        `json:"stage_codes,omitempty"`

	cal calibrate.Calibrator
}

// Init decodes the calibrator; call it after json.Unmarshal.
func (m *Model) Init() error {
	if len(m.Calibrator) == 0 {
		return nil
	}
	c, err := calibrate.Unmarshal(m.Calibrator)
	if err != nil {
		return fmt.Errorf("churn: calibrator: %w", err)
	}
	m.cal = c
	return nil
}

// CheckSchema returns an error wrapping ErrSchemaMismatch when names is not
// the model's feature layout.
func (m *Model) CheckSchema(names []string) error {
	if h := SchemaHash(names); h != m.SchemaHash {
		return fmt.Errorf("%w: model %s expects schema %s (%d features), the data have %s (%d features)",
			ErrSchemaMismatch, m.Kind, m.SchemaHash, len(m.Features), h, len(names))
	}
	return nil
}

// raw returns the uncalibrated churn score of one row.
func (m *Model) raw(x []float64) float64 {
	if m.GBT != nil {
		return m.GBT.Predict(x)
	}
	return m.Logit.Predict(m.imputed(x))
}

func (m *Model) imputed(x []float64) []float64 {
	if m.Impute == nil {
		return x
	}
	y := slices.Clone(x)
	for j, v := range y {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			y[j] = m.Impute[j]
		}
	}
	return y
}

// Probability returns the calibrated churn probability of one row.
func (m *Model) Probability(x []float64) float64 {
	p := m.raw(x)
	if m.cal != nil {
		p = m.cal.Apply(p)
	}
	return math.Min(1, math.Max(0, p))
}

// PredictAll returns the calibrated churn probability of every row of X.
func (m *Model) PredictAll(X *mat.Dense) []float64 {
	r, _ := X.Dims()
	out := make([]float64, r)
	for i := range out {
		out[i] = m.Probability(X.RawRowView(i))
	}
	return out
}

// Reason is one feature that pushes a customer's churn score up.
type Reason struct {
	Feature      string  `json:"feature"`
	Value        float64 `json:"value"`
	Contribution float64 `json:"contribution"` // on the log-odds scale
}

// Reasons returns up to k features with the largest positive contribution to
// the churn log-odds of x: tree path contributions (Saabas) for boosted
// trees, coefficient × standardised value for logistic regression.
func (m *Model) Reasons(x []float64, k int) []Reason {
	var c []float64
	if m.GBT != nil {
		c = m.GBT.Contributions(x)[:len(m.Features)]
	} else {
		c = m.Logit.Contributions(m.imputed(x))
	}
	return m.topReasons(x, c, k)
}

// Scorer scores rows with one model: Probability and Reasons at once, the
// boosted trees walked once for both. A Scorer holds scratch space: use one
// per goroutine.
type Scorer struct {
	m       *Model
	contrib []float64
}

// NewScorer returns a Scorer of m.
func (m *Model) NewScorer() *Scorer {
	s := &Scorer{m: m}
	if m.GBT != nil {
		s.contrib = make([]float64, m.GBT.NumFeatures+1)
	}
	return s
}

// Score returns Probability(x) and Reasons(x, k), bit for bit.
func (s *Scorer) Score(x []float64, k int) (float64, []Reason) {
	m := s.m
	if m.GBT == nil {
		return m.Probability(x), m.Reasons(x, k)
	}
	p := m.GBT.PredictContributions(x, s.contrib)
	if m.cal != nil {
		p = m.cal.Apply(p)
	}
	return math.Min(1, math.Max(0, p)), m.topReasons(x, s.contrib[:len(m.Features)], k)
}

// topReasons returns up to k features of positive contribution c, largest first.
func (m *Model) topReasons(x, c []float64, k int) []Reason {
	idx := make([]int, 0, len(c))
	for j, v := range c {
		// The season is the same for every customer of a night: not a reason.
		if f := m.Features[j]; f == ExtraSeasonSin || f == ExtraSeasonCos {
			continue
		}
		if v > 0 && !math.IsNaN(v) {
			idx = append(idx, j)
		}
	}
	slices.SortFunc(idx, func(a, b int) int {
		if c[a] != c[b] {
			if c[a] > c[b] {
				return -1
			}
			return 1
		}
		return a - b
	})
	if len(idx) > k {
		idx = idx[:k]
	}
	out := make([]Reason, len(idx))
	for r, j := range idx {
		v := x[j]
		if math.IsNaN(v) || math.IsInf(v, 0) {
			v = 0 // JSON has no NaN; a missing value shows as 0 with its contribution
		}
		out[r] = Reason{Feature: m.Features[j], Value: v, Contribution: c[j]}
	}
	return out
}

// PredictStage returns the predicted lifecycle stage code of x, or "" when
// the model has no stage model.
func (m *Model) PredictStage(x []float64) string {
	if m.Stage == nil {
		return ""
	}
	return m.StageCodes[m.Stage.PredictClass(x)]
}
