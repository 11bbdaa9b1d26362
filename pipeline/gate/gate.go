package gate

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strings"
)

// Statuses of a Result and a Report.
const (
	Pass  = "pass"
	Warn  = "warn"
	Block = "block"
)

// Names of the checks.
const (
	CheckRowsDrop      = "rows_drop"
	CheckCustomersDrop = "customers_drop"
	CheckRejectRate    = "reject_rate"
	CheckFeaturePSI    = "feature_psi"
	CheckScorePSI      = "score_psi"
	// Night over night: tonight against the last published night.
	CheckFeaturePSINight = "feature_psi_night"
	CheckScorePSINight   = "score_psi_night"
)

// Result is the outcome of one check. Value is NaN when the check was
// skipped (its Status is then "pass" and Message says why); in JSON a
// non-finite number is null.
type Result struct {
	Name    string
	Value   float64
	Warn    float64 // 0 = no warn level
	Block   float64 // 0 = no block level
	Status  string  // Pass, Warn or Block
	Message string
}

type resultJSON struct {
	Name    string   `json:"name"`
	Value   *float64 `json:"value"`
	Warn    *float64 `json:"warn,omitempty"`
	Block   *float64 `json:"block,omitempty"`
	Status  string   `json:"status"`
	Message string   `json:"message"`
}

func finitePtr(v float64, omitZero bool) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) || (omitZero && v == 0) {
		return nil
	}
	return &v
}

// MarshalJSON writes non-finite numbers as null and omits unset thresholds.
func (r Result) MarshalJSON() ([]byte, error) {
	return json.Marshal(resultJSON{r.Name, finitePtr(r.Value, false), finitePtr(r.Warn, true), finitePtr(r.Block, true), r.Status, r.Message})
}

// UnmarshalJSON reads the form written by MarshalJSON (null is NaN).
func (r *Result) UnmarshalJSON(b []byte) error {
	var j resultJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	get := func(p *float64, def float64) float64 {
		if p == nil {
			return def
		}
		return *p
	}
	*r = Result{Name: j.Name, Value: get(j.Value, math.NaN()), Warn: get(j.Warn, 0), Block: get(j.Block, 0), Status: j.Status, Message: j.Message}
	return nil
}

func on(threshold float64) bool { return threshold > 0 && !math.IsNaN(threshold) }

// above classifies v with strict limits: block when v > block, warn when
// v > warn. Used for drops and rates ("more than 50 %").
func above(name string, v, warn, block float64, what string) Result {
	r := Result{Name: name, Value: v, Warn: warn, Block: block, Status: Pass}
	switch {
	case on(block) && v > block:
		r.Status = Block
		r.Message = fmt.Sprintf("%s %.4g > limit %.4g", what, v, block)
	case on(warn) && v > warn:
		r.Status = Warn
		r.Message = fmt.Sprintf("%s %.4g > warning level %.4g", what, v, warn)
	default:
		r.Message = fmt.Sprintf("%s %.4g", what, v)
	}
	return r
}

// atLeast classifies v with inclusive limits: block when v ≥ block, warn
// when v ≥ warn. Used for PSI ("warn ≥ 0.1, block ≥ 0.25").
func atLeast(name string, v, warn, block float64, what string) Result {
	r := Result{Name: name, Value: v, Warn: warn, Block: block, Status: Pass}
	switch {
	case on(block) && v >= block:
		r.Status = Block
		r.Message = fmt.Sprintf("%s %.4g ≥ block level %.4g", what, v, block)
	case on(warn) && v >= warn:
		r.Status = Warn
		r.Message = fmt.Sprintf("%s %.4g ≥ warning level %.4g", what, v, warn)
	default:
		r.Message = fmt.Sprintf("%s %.4g", what, v)
	}
	return r
}

func skipped(name string, warn, block float64, why string) Result {
	return Result{Name: name, Value: math.NaN(), Warn: warn, Block: block, Status: Pass, Message: "skipped: " + why}
}

// Drop checks that a count did not fall by more than limit (a fraction)
// against prev, the count of the last good run: Value = max(0, (prev −
// cur)/prev); block when Value > limit, warn when Value > warn. With
// prev ≤ 0 (no last good run) the check is skipped. name is usually
// CheckRowsDrop or CheckCustomersDrop.
func Drop(name string, prev, cur int64, warn, limit float64) Result {
	if prev <= 0 {
		return skipped(name, warn, limit, "no previous good run")
	}
	v := math.Max(0, float64(prev-cur)/float64(prev))
	r := above(name, v, warn, limit, "dropped by")
	r.Message += fmt.Sprintf(" (%d → %d)", prev, cur)
	return r
}

// RejectRate checks the fraction rejected/read of input rows: block when
// it exceeds limit. No rows read is a pass with value 0.
func RejectRate(read, rejected int64, warn, limit float64) Result {
	v := 0.0
	if read > 0 {
		v = float64(rejected) / float64(read)
	}
	r := above(CheckRejectRate, v, warn, limit, "reject rate")
	r.Message += fmt.Sprintf(" (%d of %d rows)", rejected, read)
	return r
}

// Drift is the PSI of one feature.
type Drift struct {
	Feature string  `json:"feature"`
	PSI     float64 `json:"psi"`
}

// FeaturePSI computes the PSI of every feature that has both a reference
// and values, and checks the largest: warn at ≥ warn, block at ≥ block. It
// returns the result and the drifts sorted worst first (ties by name); the
// message names up to worst features. Features without a reference or with
// no values are ignored; with none left the check is skipped.
func FeaturePSI(refs map[string]Reference, values map[string][]float64, warn, block float64, worst int) (Result, []Drift) {
	return featurePSI(CheckFeaturePSI, "largest feature PSI", refs, values, warn, block, worst)
}

// FeaturePSINight is FeaturePSI against the last published night's
// distributions (check feature_psi_night).
func FeaturePSINight(refs map[string]Reference, values map[string][]float64, warn, block float64, worst int) (Result, []Drift) {
	return featurePSI(CheckFeaturePSINight, "largest feature PSI against the last published night", refs, values, warn, block, worst)
}

func featurePSI(check, what string, refs map[string]Reference, values map[string][]float64, warn, block float64, worst int) (Result, []Drift) {
	var drifts []Drift
	for name, ref := range refs {
		v, ok := values[name]
		if !ok || len(v) == 0 || len(ref.Shares) == 0 {
			continue
		}
		drifts = append(drifts, Drift{name, PSI(ref, v)})
	}
	return psiOf(check, what, drifts, warn, block, worst)
}

// psiOf is the result of a feature PSI check whose per-feature PSI values
// are drifts (any order; sorted in place, worst first).
func psiOf(check, what string, drifts []Drift, warn, block float64, worst int) (Result, []Drift) {
	if len(drifts) == 0 {
		return skipped(check, warn, block, "no feature reference"), nil
	}
	sort.Slice(drifts, func(i, j int) bool {
		if drifts[i].PSI != drifts[j].PSI {
			return drifts[i].PSI > drifts[j].PSI
		}
		return drifts[i].Feature < drifts[j].Feature
	})
	r := atLeast(check, drifts[0].PSI, warn, block, what)
	if worst <= 0 {
		worst = 5
	}
	var parts []string
	for _, d := range drifts[:min(worst, len(drifts))] {
		parts = append(parts, fmt.Sprintf("%s %.3f", d.Feature, d.PSI))
	}
	r.Message += "; worst: " + strings.Join(parts, ", ")
	return r, drifts
}

// ScorePSI checks the PSI of today's churn scores against the reference
// score distribution: warn at ≥ warn, block at ≥ block. A nil ref or no
// scores skips the check.
func ScorePSI(ref *Reference, scores []float64, warn, block float64) Result {
	return scorePSI(CheckScorePSI, "churn score PSI", ref, scores, warn, block)
}

// ScorePSINight is ScorePSI against the last published night's scores
// (check score_psi_night).
func ScorePSINight(ref *Reference, scores []float64, warn, block float64) Result {
	return scorePSI(CheckScorePSINight, "churn score PSI against the last published night", ref, scores, warn, block)
}

func scorePSI(check, what string, ref *Reference, scores []float64, warn, block float64) Result {
	if ref == nil || len(ref.Shares) == 0 {
		return skipped(check, warn, block, "no score reference")
	}
	if len(scores) == 0 {
		return skipped(check, warn, block, "no scores")
	}
	return atLeast(check, PSI(*ref, scores), warn, block, what)
}

// Config holds the thresholds of Evaluate. Zero switches a level off.
type Config struct {
	MaxRowDrop, MaxCustomerDrop float64 // block when dropped by more than this fraction
	MaxReject                   float64 // block when the reject rate is above
	PSIWarn, PSIBlock           float64 // per-feature PSI levels (champion and night over night)
	ScorePSIWarn, ScorePSIBlock float64 // churn score PSI levels (champion and night over night)
	WorstFeatures               int     // features named in the message; 0 = 5
	// Feed checks, night over night (see the package doc).
	MaxDayDrop                          float64 // day_rows: block when a day lost more than this fraction of its rows
	AsOfDayRatioWarn, AsOfDayRatioBlock float64 // asof_day_rows: Poisson probability levels
	MaxSpanShiftDays                    float64 // time_span: block beyond this many days
	EventMixWarn, EventMixBlock         float64 // event_mix: total variation distance levels
	AmountPSIWarn, AmountPSIBlock       float64 // amount_psi levels
}

// DefaultConfig returns the documented defaults: drops 0.1 against the
// last published night, reject rate 0.01, PSI warn 0.1 / block 0.25 for
// features, scores and amounts, a day losing more than half of its rows,
// the as-of day's volume warned below probability 0.001 (never blocked),
// the span moved by more than 7 days, event-type shares moved by 0.03
// (warn) / 0.1 (block).
func DefaultConfig() Config {
	return Config{MaxRowDrop: 0.1, MaxCustomerDrop: 0.1, MaxReject: 0.01,
		PSIWarn: 0.1, PSIBlock: 0.25, ScorePSIWarn: 0.1, ScorePSIBlock: 0.25, WorstFeatures: 5,
		MaxDayDrop: 0.5, AsOfDayRatioWarn: 0.25, MaxSpanShiftDays: 7, EventMixWarn: 0.03, EventMixBlock: 0.1,
		AmountPSIWarn: 0.1, AmountPSIBlock: 0.25}
}

// Baseline holds the counts of the last good run.
type Baseline struct {
	RunID     string
	Rows      int64 // rows read
	Customers int64
}

// Input is what Evaluate checks.
type Input struct {
	RowsRead, RowsRejected int64
	Customers              int64
	Last                   *Baseline            // nil: first run, drop checks skipped
	FeatureRefs            map[string]Reference // the champion's training reference
	Features               map[string][]float64 // tonight's feature columns
	ScoreRef               *Reference           // reference churn score distribution
	Scores                 []float64            // tonight's churn probabilities
	// Night over night. Feed and LastFeed are the input profiles of tonight
	// and of the last published night (nil: feed checks skipped);
	// NightRefs and NightScoreRef the last published night's feature and
	// score distributions, NightFeatures tonight's values to compare with
	// them (already transformed, see pipeline's drift gate).
	Feed, LastFeed *Feed
	NightRefs      map[string]Reference
	NightFeatures  map[string][]float64
	NightScoreRef  *Reference
	// NightChecked, when non-nil, is the feature_psi_night check computed
	// earlier (NightFeatureCheck) for this night: Evaluate reports it instead
	// of comparing NightFeatures with NightRefs again, so that a caller
	// evaluating a night twice (before and after scoring) need not keep
	// tonight's feature values in between.
	NightChecked *NightCheck
}

// NightCheck is the outcome of the feature_psi_night check.
type NightCheck struct {
	Result Result
	Drift  []Drift
}

// NightFeatureCheck computes the feature_psi_night check of in under cfg,
// as Evaluate does (see Input.NightChecked).
func NightFeatureCheck(cfg Config, in Input) *NightCheck {
	r, d := FeaturePSINight(in.NightRefs, in.NightFeatures, cfg.PSIWarn, cfg.PSIBlock, cfg.WorstFeatures)
	return &NightCheck{Result: r, Drift: d}
}

// NightFeatureCheckOf is NightFeatureCheck from each feature's PSI against
// the last published night, computed by the caller one column at a time
// (PSI of the feature's values against its NightRefs reference; any order):
// the result NightFeatureCheck gives with the values.
func NightFeatureCheckOf(cfg Config, drifts []Drift) *NightCheck {
	r, d := psiOf(CheckFeaturePSINight, "largest feature PSI against the last published night", drifts, cfg.PSIWarn, cfg.PSIBlock, cfg.WorstFeatures)
	return &NightCheck{Result: r, Drift: d}
}

// Report is the outcome of every check.
type Report struct {
	Status  string   `json:"status"` // the worst status of the results
	Results []Result `json:"results"`
	Drift   []Drift  `json:"drift,omitempty"` // per-feature PSI against the champion, worst first
	// DriftNight is the per-feature PSI against the last published night.
	DriftNight []Drift `json:"drift_night,omitempty"`
	// Compared says which features each drift check compared, against
	// what, and why the others were left out (filled by the caller).
	Compared []Comparison `json:"compared,omitempty"`
	Forced   bool         `json:"forced,omitempty"`
}

// Comparison records one drift check's scope for the ledger.
type Comparison struct {
	Check    string   `json:"check"`
	Against  string   `json:"against"`
	Features []string `json:"features"`
	// NotCompared maps a reason to the features left out for it.
	NotCompared map[string][]string `json:"not_compared,omitempty"`
}

// Evaluate runs the checks in a fixed order: rows_drop, customers_drop,
// reject_rate, day_rows, asof_day_rows, time_span, event_mix, amount_psi,
// feature_psi_night, feature_psi, score_psi_night, score_psi.
func Evaluate(cfg Config, in Input) Report {
	var prevRows, prevCust int64
	if in.Last != nil {
		prevRows, prevCust = in.Last.Rows, in.Last.Customers
	}
	rep := Report{Results: []Result{
		Drop(CheckRowsDrop, prevRows, in.RowsRead, 0, cfg.MaxRowDrop),
		Drop(CheckCustomersDrop, prevCust, in.Customers, 0, cfg.MaxCustomerDrop),
		RejectRate(in.RowsRead, in.RowsRejected, 0, cfg.MaxReject),
	}}
	rep.Results = append(rep.Results,
		DayRows(in.LastFeed, in.Feed, 0, cfg.MaxDayDrop),
		AsOfDayRows(in.Feed, cfg.AsOfDayRatioWarn, cfg.AsOfDayRatioBlock),
		TimeSpan(in.LastFeed, in.Feed, cfg.MaxSpanShiftDays),
		EventMix(in.LastFeed, in.Feed, cfg.EventMixWarn, cfg.EventMixBlock),
		AmountPSI(in.LastFeed, in.Feed, cfg.AmountPSIWarn, cfg.AmountPSIBlock))
	night := in.NightChecked
	if night == nil {
		night = NightFeatureCheck(cfg, in)
	}
	nr, ndrift := night.Result, night.Drift
	fr, drift := FeaturePSI(in.FeatureRefs, in.Features, cfg.PSIWarn, cfg.PSIBlock, cfg.WorstFeatures)
	rep.Results = append(rep.Results, nr, fr,
		ScorePSINight(in.NightScoreRef, in.Scores, cfg.ScorePSIWarn, cfg.ScorePSIBlock),
		// Against the champion the scores only warn: they are a function of
		// tenure and recency, which move with the calendar (see pipeline).
		ScorePSI(in.ScoreRef, in.Scores, cfg.ScorePSIWarn, 0))
	rep.Drift, rep.DriftNight = drift, ndrift
	rep.Status = Pass
	for _, r := range rep.Results {
		rep.Status = worse(rep.Status, r.Status)
	}
	return rep
}

func rank(s string) int {
	switch s {
	case Block:
		return 2
	case Warn:
		return 1
	}
	return 0
}

func worse(a, b string) string {
	if rank(b) > rank(a) {
		return b
	}
	return a
}

// Blocked reports whether a check blocks publishing. Forced does not change
// it: the caller decides, and records Forced.
func (r Report) Blocked() bool { return r.Status == Block }

// Failed returns the results with the given status.
func (r Report) Failed(status string) []Result {
	var out []Result
	for _, x := range r.Results {
		if x.Status == status {
			out = append(out, x)
		}
	}
	return out
}

// Summary is one line naming the checks that warn or block, e.g.
// "block: feature_psi (largest feature PSI 0.31 ≥ block level 0.25; …)".
func (r Report) Summary() string {
	var parts []string
	for _, x := range r.Results {
		if x.Status != Pass {
			parts = append(parts, fmt.Sprintf("%s: %s (%s)", x.Status, x.Name, x.Message))
		}
	}
	if len(parts) == 0 {
		return "all gates pass"
	}
	return strings.Join(parts, "; ")
}

// JSON returns the report's JSON form, as recorded in pipeline_runs.details.
func (r Report) JSON() []byte {
	b, err := json.Marshal(r)
	if err != nil {
		panic("gate: Report.JSON: " + err.Error()) // every number is finite or written as null
	}
	return b
}
