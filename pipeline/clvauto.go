package pipeline

import (
	"fmt"
	"math"
	"sort"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/churnpipe/churnpipe/features"
	"github.com/churnpipe/churnpipe/models/btyd"
)

// ModelAuto is the CLV model setting that chooses the count model by holdout.
const ModelAuto = "auto"

// AutoRule states how clv.model: auto chooses (recorded with every choice).
const AutoRule = "fit bgnbd, mbgnbd and paretonbd on the history up to as_of − holdout; " +
	"choose the model with the lowest holdout MAE of repeat transactions per customer; " +
	"a fit at a parameter boundary wins only with a strictly lower MAE than every fit inside the boundaries; " +
	"the chosen model is refitted on all data (if that fit fails, the next model in MAE order)"

// Boundary limits: a fit whose parameter lies below BoundaryLow or above
// BoundaryHigh, or whose log-parameter standard error exceeds
// BoundaryLogSE (the likelihood is flat along that parameter: it runs off
// to a boundary), is reported as a boundary fit.
const (
	BoundaryLow   = 0.01
	BoundaryHigh  = 1e4
	BoundaryLogSE = 2.0
)

// autoMaxCustomers bounds the customers of the comparison fits; above it
// every k-th calibration customer (in table order) is used.
const autoMaxCustomers = 50_000

// Candidate is one count model in the comparison.
type Candidate struct {
	Model    string             `json:"model"`
	Params   map[string]float64 `json:"params,omitempty"`
	LogLik   float64            `json:"loglik"`
	AIC      float64            `json:"aic"`
	DeltaAIC float64            `json:"delta_aic"` // AIC − the lowest AIC
	// LR is the likelihood-ratio statistic 2·(LL_best − LL) against the
	// best likelihood (the models are not nested, so it is not a test).
	LR float64 `json:"lr_vs_best"`
	// HoldoutMAE is mean |E[Y(h) | calibration] − actual repeat purchase
	// days in the holdout| over the calibration customers.
	HoldoutMAE       float64  `json:"holdout_mae"`
	HoldoutPredicted float64  `json:"holdout_predicted"` // Σ E[Y(h)]
	HoldoutActual    float64  `json:"holdout_actual"`
	Boundary         bool     `json:"boundary"`
	BoundaryParams   []string `json:"boundary_params,omitempty"`
	Eligible         bool     `json:"eligible"` // false when the fit failed
	Note             string   `json:"note,omitempty"`
	Error            string   `json:"error,omitempty"`
}

// ModelComparison is the record of a clv.model: auto choice.
type ModelComparison struct {
	Rule           string      `json:"rule"`
	Chosen         string      `json:"chosen"`
	Reason         string      `json:"reason"`
	CalibrationEnd string      `json:"calibration_end"`
	HoldoutDays    int         `json:"holdout_days"`
	Customers      int         `json:"customers"` // calibration customers compared (after any subsampling)
	Subsampled     bool        `json:"subsampled,omitempty"`
	Candidates     []Candidate `json:"candidates"`
}

// boundaryOf lists the parameters of a fit at a boundary.
func boundaryOf(fit btyd.FitResult) []string {
	var out []string
	names := make([]string, 0, len(fit.Params))
	for k := range fit.Params {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		v := fit.Params[k]
		se, ok := fit.StdErr[k]
		switch {
		case v < BoundaryLow || v > BoundaryHigh:
			out = append(out, fmt.Sprintf("%s=%.4g", k, v))
		case !ok:
			out = append(out, k+" (no standard error: singular Hessian)")
		case se/v > BoundaryLogSE:
			out = append(out, fmt.Sprintf("%s=%.4g (s.e. of log %s %.3g)", k, v, k, se/v))
		}
	}
	return out
}

// HoldoutSet is the calibration summary of the customers who bought on or
// before the calibration end, and their repeat purchase days in the holdout.
type HoldoutSet struct {
	Cal     btyd.Data
	IDs     []string
	Actual  []float64 // purchase days in (calibration end, end]
	Horizon float64   // holdout length in model time units
}

// NewHoldoutSet pairs a feature table at the calibration end with one at the
// end of the holdout: a customer's holdout purchase days are the difference
// of the repeat purchase counts.
func NewHoldoutSet(cal, end arrow.RecordBatch, unit btyd.TimeUnit, holdoutDays int) (HoldoutSet, error) {
	cfc, err := newFeatureCols(cal)
	if err != nil {
		return HoldoutSet{}, err
	}
	xEnd, err := holdoutCounts(end)
	if err != nil {
		return HoldoutSet{}, err
	}
	d, rows, _ := cfc.summary(unit)
	hs := HoldoutSet{Cal: d, IDs: make([]string, len(rows)), Actual: make([]float64, len(rows)),
		Horizon: float64(holdoutDays) / unit.Days()}
	for k, i := range rows {
		id := cfc.id.Value(i)
		hs.IDs[k] = id
		if xe, ok := xEnd[id]; ok {
			hs.Actual[k] = math.Max(0, float64(xe-cfc.x.Value(i)))
		}
	}
	return hs, nil
}

// holdoutCounts maps every buyer of the feature table at the holdout's end
// to its repeat purchases.
func holdoutCounts(end arrow.RecordBatch) (map[string]int32, error) {
	efc, err := newFeatureCols(end)
	if err != nil {
		return nil, err
	}
	xEnd := make(map[string]int32, efc.id.Len())
	for i := 0; i < efc.id.Len(); i++ {
		if efc.since.IsValid(i) {
			xEnd[efc.id.Value(i)] = efc.x.Value(i)
		}
	}
	return xEnd, nil
}

// Compare fits the three count models on the calibration summary and scores
// the holdout; it returns the comparison with the choice made by AutoRule.
func Compare(hs HoldoutSet, workers int) ModelComparison {
	mc := ModelComparison{Rule: AutoRule}
	d, actual := hs.Cal, hs.Actual
	if n := d.Len(); n > autoMaxCustomers {
		k := (n + autoMaxCustomers - 1) / autoMaxCustomers
		var s btyd.Data
		var a []float64
		for i := 0; i < n; i += k {
			s.X, s.Tx, s.T = append(s.X, d.X[i]), append(s.Tx, d.Tx[i]), append(s.T, d.T[i])
			a = append(a, actual[i])
		}
		d, actual, mc.Subsampled = s, a, true
	}
	mc.Customers = d.Len()
	var sumActual float64
	for _, a := range actual {
		sumActual += a
	}
	cd := btyd.Compress(d)
	names := []string{"bgnbd", "mbgnbd", "paretonbd"}
	mc.Candidates = make([]Candidate, len(names))
	// The three fits are independent: one goroutine each (each result
	// depends only on its own fit, so the comparison is deterministic).
	var wg sync.WaitGroup
	for ci, name := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mc.Candidates[ci] = fitCandidate(name, cd, d, actual, sumActual, hs.Horizon, workers)
		}()
	}
	wg.Wait()
	bestLL, bestAIC := math.Inf(-1), math.Inf(1)
	for _, c := range mc.Candidates {
		if c.Error == "" {
			bestLL, bestAIC = math.Max(bestLL, c.LogLik), math.Min(bestAIC, c.AIC)
		}
	}
	for i := range mc.Candidates {
		c := &mc.Candidates[i]
		if c.Error == "" {
			c.DeltaAIC, c.LR = c.AIC-bestAIC, 2*(bestLL-c.LogLik)
		}
	}
	// The rule: lowest MAE among eligible fits inside the boundaries; a
	// boundary fit replaces it only with a strictly lower MAE.
	best, bestB := -1, -1
	for i, c := range mc.Candidates {
		if !c.Eligible || c.Error != "" || math.IsNaN(c.HoldoutMAE) {
			continue
		}
		if c.Boundary {
			if bestB < 0 || c.HoldoutMAE < mc.Candidates[bestB].HoldoutMAE {
				bestB = i
			}
		} else if best < 0 || c.HoldoutMAE < mc.Candidates[best].HoldoutMAE {
			best = i
		}
	}
	switch {
	case best >= 0 && (bestB < 0 || mc.Candidates[best].HoldoutMAE <= mc.Candidates[bestB].HoldoutMAE):
		mc.Chosen = mc.Candidates[best].Model
		mc.Reason = fmt.Sprintf("lowest holdout MAE (%.4f) among the eligible fits inside the parameter boundaries", mc.Candidates[best].HoldoutMAE)
	case bestB >= 0:
		mc.Chosen = mc.Candidates[bestB].Model
		mc.Reason = fmt.Sprintf("boundary fit with the lowest holdout MAE (%.4f)", mc.Candidates[bestB].HoldoutMAE)
	}
	return mc
}

// calibrationEnd returns the calibration day of clv.model: auto, as_of −
// HoldoutDays, and false when the night compares no count models (the model
// is not auto, or the night is finalized from shards). The night's builder
// then summarises the buyers at that day too (features.WithCalibration), so
// the history is read, deduplicated and folded once.
func calibrationEnd(cfg NightlyConfig, asOf time.Time) (time.Time, bool) {
	o := cfg.CLV.withDefaults()
	if cfg.CLV.Disabled || o.Model != ModelAuto || cfg.FromShards != "" {
		return time.Time{}, false
	}
	end := asOf.AddDate(0, 0, -o.HoldoutDays)
	if o.HoldoutDays < 1 {
		return time.Time{}, false
	}
	return end, true
}

// calibrationOf wraps the builder's summary, or returns nil when nobody had
// an event by its end (auto then falls back, with a recorded warning).
func calibrationOf(c *features.Calibration, end time.Time) *Calibration {
	if c == nil || c.Customers == 0 {
		return nil
	}
	return &Calibration{Summary: c, End: end}
}

// holdoutFromSummary is NewHoldoutSet with the calibration side given as the
// night builder's summary (the same rows in the same order).
func holdoutFromSummary(c *features.Calibration, end arrow.RecordBatch, unit btyd.TimeUnit, holdoutDays int) (HoldoutSet, error) {
	xEnd, err := holdoutCounts(end)
	if err != nil {
		return HoldoutSet{}, err
	}
	n := len(c.IDs)
	days := unit.Days()
	hs := HoldoutSet{Cal: btyd.Data{X: make([]float64, n), Tx: make([]float64, n), T: make([]float64, n)},
		IDs: c.IDs, Actual: make([]float64, n), Horizon: float64(holdoutDays) / days}
	for k, id := range c.IDs {
		hs.Cal.X[k] = float64(c.X[k])
		hs.Cal.Tx[k] = float64(c.Tx[k]) / days
		hs.Cal.T[k] = float64(c.T[k]) / days
		if xe, ok := xEnd[id]; ok {
			hs.Actual[k] = math.Max(0, float64(xe-c.X[k]))
		}
	}
	return hs, nil
}

// Order returns the candidates' models in the order the rule prefers them:
// the chosen one first, then the others by holdout MAE (fits inside the
// boundaries before boundary fits); failed fits are left out.
func (mc *ModelComparison) Order() []string {
	var in, bd []Candidate
	for _, c := range mc.Candidates {
		switch {
		case c.Model == mc.Chosen || !c.Eligible || c.Error != "":
		case c.Boundary:
			bd = append(bd, c)
		default:
			in = append(in, c)
		}
	}
	by := func(s []Candidate) {
		sort.SliceStable(s, func(i, j int) bool { return s[i].HoldoutMAE < s[j].HoldoutMAE })
	}
	by(in)
	by(bd)
	out := []string{mc.Chosen}
	for _, c := range append(in, bd...) {
		out = append(out, c.Model)
	}
	return out
}

// params returns the calibration parameters of model's candidate.
func (mc *ModelComparison) params(model string) map[string]float64 {
	for _, c := range mc.Candidates {
		if c.Model == model {
			return c.Params
		}
	}
	return nil
}

// fitCandidate fits one count model of the comparison and scores the holdout.
func fitCandidate(name string, cd, d btyd.Data, actual []float64, sumActual, horizon float64, workers int) Candidate {
	c := Candidate{Model: name, Eligible: true, HoldoutActual: sumActual}
	if name == "bgnbd" {
		c.Note = "latent P(alive) is 1 for every one-time buyer"
	}
	// The comparison needs the holdout error, not the last digits: a
	// looser gradient tolerance than the final fit.
	m, fit, err := btyd.Fit(name, cd, btyd.FitOptions{Workers: workers, GradTol: 1e-5})
	if err != nil {
		c.Error = err.Error()
		c.Eligible = false
		c.HoldoutMAE, c.LogLik, c.AIC = math.NaN(), math.NaN(), math.NaN()
		return c
	}
	c.Params, c.LogLik = fit.Params, fit.LogLik
	c.AIC = 2*float64(len(fit.Params)) - 2*fit.LogLik
	c.BoundaryParams = boundaryOf(fit)
	c.Boundary = len(c.BoundaryParams) > 0
	sc := btyd.Score(m, d, horizon, workers)
	var mae, pred float64
	for i, e := range sc.ExpectedPurchases {
		mae += math.Abs(e - actual[i])
		pred += e
	}
	c.HoldoutMAE, c.HoldoutPredicted = mae/float64(d.Len()), pred
	return c
}
