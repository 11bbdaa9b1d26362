package churn

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"gonum.org/v1/gonum/mat"

	"github.com/churnpipe/churnpipe/models/calibrate"
	"github.com/churnpipe/churnpipe/models/gbt"
	"github.com/churnpipe/churnpipe/models/logit"
	"github.com/churnpipe/churnpipe/models/season"
)

// Sentinel errors.
var (
	ErrTooFewData     = errors.New("churn: not enough data")
	ErrSchemaMismatch = errors.New("churn: feature schema does not match the model")
)

// The model kinds. KindBTYD and KindRecency are the baselines: the BG/NBD
// probability of no purchase in the horizon and the days since the last
// purchase, each calibrated like any candidate.
const (
	KindGBT     = "gbt"
	KindLogit   = "logit"
	KindBTYD    = "btyd"
	KindRecency = "recency"
	KindBlend   = "blend"
)

// IsBaseline reports whether kind is one of the simple baselines.
func IsBaseline(kind string) bool { return kind == KindBTYD || kind == KindRecency }

// The bounds of every published churn probability: a calibrated model never
// says "certainly" (exactly 0 or 1) from a finite window of labels.
const (
	ProbFloor = 0.001
	ProbCeil  = 0.999
)

// Model is a trained churn model with its predicted-stage model: plain data
// that round-trips through encoding/json (the registry stores it).
type Model struct {
	Kind        string       `json:"kind"` // see the Kind constants
	Features    []string     `json:"features"`
	Extra       []string     `json:"extra"` // the extra (BTYD) columns among Features
	SchemaHash  string       `json:"schema_hash"`
	HorizonDays int          `json:"horizon_days"`
	GBT         *gbt.Model   `json:"gbt,omitempty"`
	Logit       *logit.Model `json:"logit,omitempty"`
	Impute      []float64    `json:"impute,omitempty"` // training medians for NaN (logit, baselines)
	// ClipLo and ClipHi winsorise the logistic model's inputs at the
	// training 0.5 % and 99.5 % quantiles: a feature nearly constant in the
	// training snapshots cannot extrapolate wildly on a later one.
	ClipLo     []float64       `json:"clip_lo,omitempty"`
	ClipHi     []float64       `json:"clip_hi,omitempty"`
	Calibrator json.RawMessage `json:"calibrator,omitempty"` // legacy isotonic calibrator of older models
	// Stack maps the parts' link scores to the calibrated probability: a
	// logistic regression fitted on the most recent labelled window (Platt
	// scaling for a single part, the out-of-time blend for several).
	Stack      *Stack     `json:"stack,omitempty"`
	Attributes *AttrSpec  `json:"attributes,omitempty"` // the customer attributes the model expects
	Stage      *gbt.Model `json:"stage,omitempty"`
	StageCodes []string   `json:"stage_codes,omitempty"`
	// Season, when set, moves the calibrated probability from the calendar
	// of the window it was calibrated on to the calendar of the window it
	// predicts (At).
	Season *Season `json:"season,omitempty"`

	cal  calibrate.Calibrator
	expo float64 // the exponent of At; 0 = none
}

// Season is the calendar of a model: p is calibrated on a label window of
// log exposure RefLogExposure (season.Index.LogExposure); on a window of log
// exposure e, At publishes p^r with r = exp(Beta·(e − RefLogExposure)).
// Beta = 1 is the Poisson case of package season: a purchase rate scaled by
// the index turns P(no purchase) = exp(−Λ·E₀) into exp(−Λ·E), a shift of
// the complementary log-log link (a customer held for gone, p near 1, stays
// so); Beta < 1 damps a calendar the labels follow only in part. Beta is
// fitted on the training snapshots (fitSeasonBeta) and lies in
// [0, MaxSeasonBeta].
type Season struct {
	Index          season.Index `json:"index"`
	Beta           float64      `json:"beta"`
	RefLogExposure float64      `json:"ref_log_exposure"`
}

// MaxSeasonBeta bounds the fitted exponent of Season.
const MaxSeasonBeta = 2

// At returns a copy of m that predicts the label window of a snapshot at
// day: the HorizonDays days after it. Without a Season it returns m.
func (m *Model) At(day time.Time) *Model {
	if m.Season == nil || m.HorizonDays <= 0 {
		return m
	}
	return m.atLogExposure(m.Season.Index.LogExposure(day.AddDate(0, 0, 1), m.HorizonDays))
}

func (m *Model) atLogExposure(e float64) *Model {
	c := *m
	if m.Season != nil {
		c.expo = math.Exp(m.Season.Beta * (e - m.Season.RefLogExposure))
	}
	return &c
}

// finish applies At's exponent and the bounds to a calibrated probability.
func (m *Model) finish(p float64) float64 {
	if m.expo > 0 && m.expo != 1 && p > 0 && p < 1 {
		p = math.Exp(m.expo * math.Log(p))
	}
	return bound(p)
}

// Stack is p = clamp(σ(Intercept + Σ Coef[k]·link_k(x)), ProbFloor, ProbCeil)
// with link_k the log-odds score of part k (see Model.link).
type Stack struct {
	Parts     []string  `json:"parts"`
	Coef      []float64 `json:"coef"`
	Intercept float64   `json:"intercept"`
}

// Init decodes the calibrator; call it after json.Unmarshal.
func (m *Model) Init() error {
	if m.Stack != nil && len(m.Stack.Parts) != len(m.Stack.Coef) {
		return fmt.Errorf("churn: stack has %d parts and %d coefficients", len(m.Stack.Parts), len(m.Stack.Coef))
	}
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

func (m *Model) col(name string) int { return slices.Index(m.Features, name) }

// link returns the log-odds-like score of one part for row x: the boosted
// trees' margin, the logistic margin, logit of the BG/NBD P(no purchase),
// or log1p of the days since the last purchase. Missing inputs take the
// training median.
func (m *Model) link(part string, x []float64) float64 {
	switch part {
	case KindGBT:
		return clampLogit(m.GBT.Predict(x))
	case KindLogit:
		return m.Logit.Margin(m.imputed(x))
	case KindBTYD:
		return clampLogit(m.valueOf(ExtraBGNBDProbNoPurchase, x))
	case KindRecency:
		return math.Log1p(math.Max(0, m.valueOf(recencyCol, x)))
	}
	panic(fmt.Sprintf("churn: unknown part %q", part))
}

const recencyCol = "days_since_last_purchase"

func (m *Model) valueOf(name string, x []float64) float64 {
	j := m.col(name)
	v := x[j]
	if (math.IsNaN(v) || math.IsInf(v, 0)) && m.Impute != nil {
		v = m.Impute[j]
	}
	return v
}

func clampLogit(p float64) float64 {
	const eps = 1e-6
	p = math.Min(1-eps, math.Max(eps, p))
	return math.Log(p / (1 - p))
}

// raw returns the uncalibrated churn score of one row (the single part's
// link, or the stack's linear predictor for a blend).
func (m *Model) raw(x []float64) float64 {
	if m.Stack != nil {
		if len(m.Stack.Parts) == 1 {
			return m.link(m.Stack.Parts[0], x)
		}
		return m.stackZ(x)
	}
	if m.GBT != nil {
		return m.GBT.Predict(x)
	}
	return m.Logit.Predict(m.imputed(x))
}

func (m *Model) stackZ(x []float64) float64 {
	z := m.Stack.Intercept
	for k, part := range m.Stack.Parts {
		z += m.Stack.Coef[k] * m.link(part, x)
	}
	return z
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
		if m.ClipLo != nil {
			y[j] = math.Min(m.ClipHi[j], math.Max(m.ClipLo[j], y[j]))
		}
	}
	return y
}

// Probability returns the calibrated churn probability of one row, in
// [ProbFloor, ProbCeil] (NaN only if an input the model cannot impute is).
func (m *Model) Probability(x []float64) float64 {
	if m.Stack != nil {
		return m.finish(sigmoid(m.stackZ(x)))
	}
	p := m.raw(x)
	if m.cal != nil {
		p = m.cal.Apply(p)
	}
	return m.finish(p)
}

func bound(p float64) float64 {
	if math.IsNaN(p) {
		return p
	}
	return math.Min(ProbCeil, math.Max(ProbFloor, p))
}

func sigmoid(z float64) float64 {
	if z >= 0 {
		return 1 / (1 + math.Exp(-z))
	}
	e := math.Exp(z)
	return e / (1 + e)
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
// trees, coefficient × standardised value for logistic regression, the
// score's distance from the training median for a baseline; a blend adds
// its parts' contributions times their weights.
func (m *Model) Reasons(x []float64, k int) []Reason {
	return m.topReasons(x, m.contributions(x), k)
}

func (m *Model) contributions(x []float64) []float64 {
	if m.Stack == nil {
		if m.GBT != nil {
			return m.GBT.Contributions(x)[:len(m.Features)]
		}
		return m.Logit.Contributions(m.imputed(x))
	}
	c := make([]float64, len(m.Features))
	for k, part := range m.Stack.Parts {
		w := m.Stack.Coef[k]
		switch part {
		case KindGBT:
			for j, v := range m.GBT.Contributions(x)[:len(m.Features)] {
				c[j] += w * v
			}
		case KindLogit:
			for j, v := range m.Logit.Contributions(m.imputed(x)) {
				c[j] += w * v
			}
		case KindBTYD, KindRecency:
			name := ExtraBGNBDProbNoPurchase
			if part == KindRecency {
				name = recencyCol
			}
			j := m.col(name)
			med := slices.Clone(x)
			med[j] = m.Impute[j]
			c[j] += w * (m.link(part, x) - m.link(part, med))
		}
	}
	return c
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
	if m.Stack != nil {
		if len(m.Stack.Parts) != 1 || m.Stack.Parts[0] != KindGBT {
			return m.Probability(x), m.Reasons(x, k)
		}
		// Platt-scaled trees: one walk gives the score and the contributions.
		w := m.Stack.Coef[0]
		z := m.Stack.Intercept + w*clampLogit(m.GBT.PredictContributions(x, s.contrib))
		c := s.contrib[:len(m.Features)]
		for j := range c {
			c[j] = 0 + w*c[j]
		}
		return m.finish(sigmoid(z)), m.topReasons(x, c, k)
	}
	p := m.GBT.PredictContributions(x, s.contrib)
	if m.cal != nil {
		p = m.cal.Apply(p)
	}
	return m.finish(p), m.topReasons(x, s.contrib[:len(m.Features)], k)
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
