package pipeline

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/churnpipe/churnpipe/data"
	"github.com/churnpipe/churnpipe/features"
	"github.com/churnpipe/churnpipe/models/btyd"
	"github.com/churnpipe/churnpipe/models/metrics"
)

// Num is a float64 that encodes NaN and ±Inf as JSON null.
type Num float64

// MarshalJSON writes the number, or null when it is not finite.
func (v Num) MarshalJSON() ([]byte, error) {
	f := float64(v)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return []byte("null"), nil
	}
	return strconv.AppendFloat(nil, f, 'g', -1, 64), nil
}

// UnmarshalJSON reads a number, or null as NaN.
func (v *Num) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*v = Num(math.NaN())
		return nil
	}
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return err
	}
	*v = Num(f)
	return nil
}

// BaselineRunRate states the naive baseline of the CLV evaluation.
const BaselineRunRate = "last-period run rate: each customer repeats, in the holdout, the repeat purchase days " +
	"(the first purchase day is not a repeat) and their spend of the period of the same length that ends on the calibration end"

// CLVEvaluation compares the CLV models' holdout predictions with what the
// customers did, the way the BTYD literature evaluates them (Fader, Hardie
// & Lee 2005; Jasek et al. 2019): per customer, in aggregate, and as a
// ranking of value — next to the naive last-period run rate.
type CLVEvaluation struct {
	Model          string  `json:"model"` // the count model evaluated
	SpendModel     string  `json:"spend_model,omitempty"`
	CalibrationEnd string  `json:"calibration_end"`
	HoldoutEnd     string  `json:"holdout_end"`
	Unit           string  `json:"time_unit"`
	HoldoutLength  float64 `json:"holdout_length"` // in Unit
	// Customers are the calibration customers: a purchase on or before the
	// calibration end.
	Customers          int `json:"customers"`
	ActualTransactions Num `json:"actual_transactions"` // purchase days in the holdout
	ActualSpend        Num `json:"actual_spend"`        // purchase amount in the holdout (gross of returns)
	// OracleTop20Share is the largest top-20 % share any ranking can reach.
	OracleTop20Share Num                   `json:"oracle_top20_share"`
	BaselineRule     string                `json:"baseline_rule"`
	Predictors       []PredictorEvaluation `json:"predictors"` // the model, then the baseline
}

// PredictorEvaluation is one predictor's holdout metrics.
type PredictorEvaluation struct {
	Name string `json:"name"`
	// TransactionsMAE is mean |predicted − actual| holdout purchase days per
	// customer.
	TransactionsMAE       Num `json:"transactions_mae"`
	PredictedTransactions Num `json:"predicted_transactions"`
	// AggregateError is (Σ predicted − Σ actual) / Σ actual holdout purchase
	// days.
	AggregateError Num `json:"aggregate_error"`
	// TrackingMAPE is the mean absolute percentage error of the cumulative
	// holdout purchase days at the end of each time unit of the holdout
	// (and at its end): the tracking plot's error.
	TrackingMAPE   Num `json:"tracking_mape"`
	PredictedSpend Num `json:"predicted_spend"`
	// NormalizedGini and Top20Share judge the ranking by predicted holdout
	// spend against the realized holdout spend (metrics.NormalizedGini,
	// metrics.TopShare at 20 %).
	NormalizedGini Num             `json:"normalized_gini"`
	Top20Share     Num             `json:"top20_share"`
	Deciles        []metrics.Group `json:"deciles"` // by predicted holdout spend
}

// repeatTotals reads, per buyer of a feature table, the spend of the repeat
// purchase days (gross spend less the first purchase day's: z̄·x) and
// their number x.
func repeatTotals(feat arrow.RecordBatch) (map[string][2]float64, error) {
	col := func(name string) (arrow.Array, error) {
		is := feat.Schema().FieldIndices(name)
		if len(is) != 1 {
			return nil, fmt.Errorf("pipeline: feature table has no column %q", name)
		}
		return feat.Column(is[0]), nil
	}
	idc, err := col(features.ColCustomerID)
	if err != nil {
		return nil, err
	}
	zc, err := col(features.ColRepeatSpendMean)
	if err != nil {
		return nil, err
	}
	xc, err := col(features.ColRepeatPurchases)
	if err != nil {
		return nil, err
	}
	ids, zbar, x := idc.(*array.String), zc.(*array.Float64), xc.(*array.Int32)
	out := make(map[string][2]float64, ids.Len())
	for i := 0; i < ids.Len(); i++ {
		if n := float64(x.Value(i)); n > 0 {
			out[ids.Value(i)] = [2]float64{zbar.Value(i) * n, n}
		}
	}
	return out, nil
}

// EvaluateCLV scores the calibration customers of cal, h's feature table at
// calEnd, with m (fitted on data up to calEnd) over the holdout (calEnd,
// holdEnd] of h, and compares the predictions — holdout purchase days
// E[Y(L) | x, t_x, T] and holdout spend E[Y(L)]·E[Z | z̄, x] — with what
// happened, next to BaselineRunRate. Without a spend model the spend metrics
// are NaN. It fails when the holdout is empty or nobody bought on or before
// calEnd.
func EvaluateCLV(h *History, cal arrow.RecordBatch, m *CLVModels, calEnd, holdEnd time.Time, opt Options) (*CLVEvaluation, error) {
	if m == nil || m.Count == nil {
		return nil, errors.New("pipeline: clv evaluation needs a fitted count model")
	}
	if !holdEnd.After(calEnd) {
		return nil, fmt.Errorf("pipeline: holdout end %s is not after the calibration end %s", holdEnd.Format(time.DateOnly), calEnd.Format(time.DateOnly))
	}
	unit := m.opt.withDefaults().Unit
	holdDays := int(data.DayOf(holdEnd.UnixMilli()) - data.DayOf(calEnd.UnixMilli()))
	cfc, err := newFeatureCols(cal)
	if err != nil {
		return nil, err
	}
	d, rows, zbar := cfc.summary(unit)
	if d.Len() == 0 {
		return nil, fmt.Errorf("%w: nobody bought on or before the calibration end %s", ErrNoCustomers, calEnd.Format(time.DateOnly))
	}
	atCal, err := repeatTotals(cal)
	if err != nil {
		return nil, err
	}
	atEnd, err := repeatTotalsAt(h, holdEnd, opt)
	if err != nil {
		return nil, err
	}
	atPrev, err := repeatTotalsAt(h, calEnd.AddDate(0, 0, -holdDays), opt)
	if err != nil {
		return nil, err
	}
	n := d.Len()
	ids := make([]string, n)
	actN, actS := make([]float64, n), make([]float64, n)
	baseN, baseS := make([]float64, n), make([]float64, n)
	for k, i := range rows {
		id := cfc.id.Value(i)
		ids[k] = id
		c, e, p := atCal[id], atEnd[id], atPrev[id]
		actS[k], actN[k] = e[0]-c[0], e[1]-c[1]
		baseS[k], baseN[k] = c[0]-p[0], c[1]-p[1]
	}
	L := float64(holdDays) / unit.Days()
	predN := btyd.ExpectedPurchasesRows(m.Count, d, L, 0)
	predS := make([]float64, n)
	for k := range predS {
		predS[k] = math.NaN()
	}
	ev := &CLVEvaluation{
		Model: m.CountFit.Model, CalibrationEnd: calEnd.Format(time.DateOnly), HoldoutEnd: holdEnd.Format(time.DateOnly),
		Unit: unit.String(), HoldoutLength: L, Customers: n, BaselineRule: BaselineRunRate,
		ActualTransactions: Num(sum(actN)), ActualSpend: Num(sum(actS)),
		OracleTop20Share: Num(metrics.TopShare(actS, actS, 0.2)),
	}
	if m.Spend != nil {
		ev.SpendModel = "gammagamma"
		for k := range predS {
			s, err := spendOf(*m.Spend, d.X[k], zbar[k])
			if err != nil {
				return nil, fmt.Errorf("pipeline: clv evaluation: customer %q: %w", ids[k], err)
			}
			predS[k] = predN[k] * s
		}
	}
	for k, v := range predN {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("pipeline: clv evaluation: customer %q: %s predicts %v holdout purchases", ids[k], m.CountFit.Model, v)
		}
	}
	// Cumulative holdout purchase days at the end of each time unit.
	steps := holdoutSteps(holdDays, unit)
	cumAct := cumulativeActual(h.PurchaseDays(holdEnd), ids, data.DayOf(calEnd.UnixMilli()), steps)
	cumModel := make([]float64, len(steps))
	for j, s := range steps {
		cumModel[j] = sum(btyd.ExpectedPurchasesRows(m.Count, d, float64(s)/unit.Days(), 0))
	}
	cumBase := make([]float64, len(steps))
	for j, s := range steps {
		cumBase[j] = sum(baseN) * float64(s) / float64(holdDays)
	}
	ev.Predictors = []PredictorEvaluation{
		predictor(m.CountFit.Model+" + "+ev.SpendModel, actN, predN, actS, predS, cumAct, cumModel),
		predictor("run rate", actN, baseN, actS, baseS, cumAct, cumBase),
	}
	if ev.SpendModel == "" {
		ev.Predictors[0].Name = m.CountFit.Model
	}
	return ev, nil
}

// repeatTotalsAt is repeatTotals of the features at day; a day before
// the first event gives no buyers.
func repeatTotalsAt(h *History, day time.Time, opt Options) (map[string][2]float64, error) {
	f, err := h.FeaturesAt(day, opt)
	if errors.Is(err, ErrNoCustomers) {
		return map[string][2]float64{}, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Release()
	return repeatTotals(f)
}

// holdoutSteps are the day offsets of the tracking comparison: the end of
// each whole time unit of the holdout, and the holdout's end.
func holdoutSteps(days int, unit btyd.TimeUnit) []int {
	var out []int
	for k := 1; ; k++ {
		s := int(math.Round(float64(k) * unit.Days()))
		if s >= days {
			break
		}
		out = append(out, s)
	}
	return append(out, days)
}

// cumulativeActual counts the customers' purchase days in (calDay,
// calDay + s] for each step s.
func cumulativeActual(purchases map[string][]int32, ids []string, calDay int32, steps []int) []float64 {
	out := make([]float64, len(steps))
	for _, id := range ids {
		for _, day := range purchases[id] {
			off := int(day - calDay)
			if off <= 0 {
				continue
			}
			for j, s := range steps {
				if off <= s {
					out[j]++
				}
			}
		}
	}
	return out
}

func predictor(name string, actN, predN, actS, predS, cumAct, cumPred []float64) PredictorEvaluation {
	p := PredictorEvaluation{
		Name: name, TransactionsMAE: Num(metrics.MAE(actN, predN)), PredictedTransactions: Num(sum(predN)),
		AggregateError: Num((sum(predN) - sum(actN)) / sum(actN)), PredictedSpend: Num(sum(predS)),
	}
	var mape float64
	var k int
	for j, a := range cumAct {
		if a > 0 {
			mape += math.Abs(cumPred[j]-a) / a
			k++
		}
	}
	p.TrackingMAPE = Num(math.NaN())
	if k > 0 {
		p.TrackingMAPE = Num(mape / float64(k))
	}
	p.NormalizedGini, p.Top20Share = Num(math.NaN()), Num(math.NaN())
	if !math.IsNaN(float64(p.PredictedSpend)) && sum(actS) > 0 {
		p.NormalizedGini = Num(metrics.NormalizedGini(actS, predS))
		p.Top20Share = Num(metrics.TopShare(actS, predS, 0.2))
		p.Deciles = metrics.LiftTable(actS, predS, 10)
	}
	return p
}

func sum(v []float64) float64 {
	var s float64
	for _, x := range v {
		s += x
	}
	return s
}
