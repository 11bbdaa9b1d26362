package pipeline

import (
	"fmt"
	"math"
	"runtime"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/churnpipe/churnpipe/models/btyd"
)

// Columns of the prediction table filled by the CLV models.
const (
	PredPAlive               = "p_alive"
	PredExpectedPurchases90d = "expected_purchases_90d"
	PredProbNoPurchase90d    = "prob_no_purchase_90d"
	PredExpectedNextPurchase = "expected_next_purchase_date"
	PredExpectedAvgSpend     = "expected_avg_spend"
	PredPredictedCLV12m      = "predicted_clv_12m"
)

// CLVOptions configure the probabilistic models of the nightly run.
type CLVOptions struct {
	Disabled     bool
	Model        string        // "bgnbd" (default), "mbgnbd" or "paretonbd"
	Unit         btyd.TimeUnit // the unit the models are fitted in; default btyd.Week
	HorizonDays  int           // horizon of expected_purchases_90d / prob_no_purchase_90d; default 90 (the column names keep "90d")
	CLVMonths    int           // CLV horizon in months (365.25/12 days); default 12
	AnnualRate   float64       // yearly discount rate for CLV; default 0.10, applied monthly as (1+r)^(1/12)−1
	MinBuyers    int           // fewer buyers than this: no CLV columns (recorded); default 50
	MinPAliveETA float64       // expected_next_purchase_date is null below this P(alive); default 0.05
	MaxETADays   int           // … and when the median wait exceeds this many days; default 730
}

func (o CLVOptions) withDefaults() CLVOptions {
	if o.Model == "" {
		o.Model = "bgnbd"
	}
	if o.Unit == 0 {
		o.Unit = btyd.Week
	}
	if o.HorizonDays == 0 {
		o.HorizonDays = 90
	}
	if o.CLVMonths == 0 {
		o.CLVMonths = 12
	}
	if o.AnnualRate == 0 {
		o.AnnualRate = 0.10
	}
	if o.MinBuyers == 0 {
		o.MinBuyers = 50
	}
	if o.MinPAliveETA == 0 {
		o.MinPAliveETA = 0.05
	}
	if o.MaxETADays == 0 {
		o.MaxETADays = 730
	}
	return o
}

// CLVModels are the models fitted for one night.
type CLVModels struct {
	Count    btyd.CountModel
	CountFit btyd.FitResult
	Spend    *btyd.GammaGamma // nil when it could not be fitted
	SpendFit btyd.FitResult
	// SpendExcluded are the repeat buyers left out of the spend model (mean
	// repeat spend ≤ 0); they get the population mean spend.
	SpendExcluded []string
	Warnings      []string
	opt           CLVOptions
}

// SummaryData returns the BTYD summary (x, t_x, T) of the buyers of a
// feature table in unit, and the row index of each summary row.
func SummaryData(feat arrow.Record, unit btyd.TimeUnit) (btyd.Data, []int, error) {
	fc, err := newFeatureCols(feat)
	if err != nil {
		return btyd.Data{}, nil, err
	}
	d, rows, _ := fc.summary(unit)
	return d, rows, nil
}

// SummaryWithSpend is SummaryData with each buyer's z̄, the mean spend of
// the repeat purchase days (0 for one-time buyers).
func SummaryWithSpend(feat arrow.Record, unit btyd.TimeUnit) (btyd.Data, []float64, error) {
	fc, err := newFeatureCols(feat)
	if err != nil {
		return btyd.Data{}, nil, err
	}
	d, _, zbar := fc.summary(unit)
	return d, zbar, nil
}

// summary returns the buyers' (x, t_x, T) in unit, their rows, and their z̄.
func (fc *featureCols) summary(unit btyd.TimeUnit) (btyd.Data, []int, []float64) {
	n := fc.id.Len()
	d := btyd.Data{X: make([]float64, 0, n), Tx: make([]float64, 0, n), T: make([]float64, 0, n)}
	rows := make([]int, 0, n)
	zbar := make([]float64, 0, n)
	days := unit.Days()
	for i := 0; i < n; i++ {
		if !fc.since.IsValid(i) {
			continue
		}
		d.X = append(d.X, float64(fc.x.Value(i)))
		d.Tx = append(d.Tx, float64(fc.tx.Value(i))/days)
		d.T = append(d.T, float64(fc.T.Value(i))/days)
		zbar = append(zbar, fc.zbar.Value(i))
		rows = append(rows, i)
	}
	return d, rows, zbar
}

// FitCLV fits the count model and the Gamma-Gamma spend model on the buyers
// of a feature table. Too few buyers, or a spend model that cannot be
// fitted, are warnings (the columns stay null), not errors; a count model
// that does not converge is an error.
func FitCLV(feat arrow.Record, o CLVOptions) (*CLVModels, error) {
	o = o.withDefaults()
	fc, err := newFeatureCols(feat)
	if err != nil {
		return nil, err
	}
	d, rows, zbar := fc.summary(o.Unit)
	m := &CLVModels{opt: o}
	if d.Len() < o.MinBuyers {
		m.Warnings = append(m.Warnings, fmt.Sprintf("clv: %d buyers, fewer than %d: CLV columns left null", d.Len(), o.MinBuyers))
		return m, nil
	}
	m.Count, m.CountFit, err = btyd.Fit(o.Model, btyd.Compress(d), btyd.FitOptions{SkipStdErr: true})
	if err != nil {
		return nil, fmt.Errorf("clv: fitting %s on %d buyers: %w", o.Model, d.Len(), err)
	}
	// Gamma-Gamma uses repeat buyers with a positive mean repeat spend; the
	// others are named in a counted warning and get the population mean.
	ids := make([]string, len(rows))
	valid := 0
	for k, i := range rows {
		ids[k] = fc.id.Value(i)
		if d.X[k] > 0 && zbar[k] > 0 && !math.IsInf(zbar[k], 0) {
			valid++
		}
	}
	if valid < o.MinBuyers {
		m.Warnings = append(m.Warnings, fmt.Sprintf("clv: %d repeat buyers with spend, fewer than %d: spend and CLV left null", valid, o.MinBuyers))
		return m, nil
	}
	sp, err := FitSpend(ids, d.X, zbar, btyd.FitOptions{SkipStdErr: true}, nil)
	if sp != nil && len(sp.Excluded) > 0 {
		m.SpendExcluded = sp.Excluded
		m.Warnings = append(m.Warnings, sp.Warning())
	}
	if err != nil {
		m.Warnings = append(m.Warnings, fmt.Sprintf("%v; spend and CLV left null", err))
		return m, nil
	}
	m.Spend, m.SpendFit = &sp.Model, sp.Fit
	return m, nil
}

// nextPurchaser is implemented by the count models that can tell the
// waiting time to the next purchase.
type nextPurchaser interface {
	NextPurchaseTime(x, tx, T, minPAlive float64) (mean, median float64, ok bool)
}

// clvValues are the per-row CLV outputs, NaN where undefined.
type clvValues struct {
	pAlive, expPurchases, probNone, avgSpend, clv []float64
	nextDay                                       []int32 // -1 = null
}

// scoreCLV applies the models to every row of the feature table.
func (m *CLVModels) score(fc *featureCols, asOfDay int32) (clvValues, error) {
	n := fc.id.Len()
	v := clvValues{
		pAlive: nans(n), expPurchases: nans(n), probNone: nans(n), avgSpend: nans(n), clv: nans(n),
		nextDay: make([]int32, n),
	}
	for i := range v.nextDay {
		v.nextDay[i] = -1
	}
	if m == nil || m.Count == nil {
		return v, nil
	}
	o := m.opt
	d, rows, zbar := fc.summary(o.Unit)
	days := o.Unit.Days()
	sc := btyd.Score(m.Count, d, float64(o.HorizonDays)/days, runtime.GOMAXPROCS(0))
	np, _ := m.Count.(nextPurchaser)
	var mean float64
	if m.Spend != nil {
		mean, _ = m.Spend.MeanSpend()
	}
	clvOpt := btyd.CLVOptions{ModelUnit: o.Unit, Period: btyd.Month, Periods: o.CLVMonths,
		DiscountRate: math.Pow(1+o.AnnualRate, 1.0/12) - 1}
	// The customers are independent: one chunk of them per CPU.
	err := inChunks(len(rows), clvChunkRows, func(lo, hi int) error {
		return m.scoreRows(fc, &v, d, rows, zbar, sc, np, mean, clvOpt, asOfDay, lo, hi)
	})
	if err != nil {
		return v, err
	}
	return v, nil
}

// scoreRows fills v for the customers rows[lo:hi].
func (m *CLVModels) scoreRows(fc *featureCols, v *clvValues, d btyd.Data, rows []int, zbar []float64, sc btyd.Scores,
	np nextPurchaser, mean float64, clvOpt btyd.CLVOptions, asOfDay int32, lo, hi int) error {
	o := m.opt
	days := o.Unit.Days()
	// Discounted expected purchases depend on (x, t_x, T) only: compute each once.
	type key struct{ x, tx, T float64 }
	dep := map[key]float64{}
	for k := lo; k < hi; k++ {
		i := rows[k]
		x, tx, T := d.X[k], d.Tx[k], d.T[k]
		v.pAlive[i], v.expPurchases[i], v.probNone[i] = sc.PAlive[k], sc.ExpectedPurchases[k], sc.ProbNoPurchase[k]
		if np != nil {
			if _, median, ok := np.NextPurchaseTime(x, tx, T, o.MinPAliveETA); ok && median*days <= float64(o.MaxETADays) {
				v.nextDay[i] = asOfDay + int32(math.Round(median*days))
			}
		}
		if m.Spend == nil {
			continue
		}
		spend := mean
		if x > 0 && zbar[k] > 0 {
			s, err := m.Spend.ExpectedSpend(x, zbar[k])
			if err != nil {
				return fmt.Errorf("clv: expected spend of customer %q: %w", fc.id.Value(i), err)
			}
			spend = s
		}
		v.avgSpend[i] = spend
		kk := key{x, tx, T}
		e, ok := dep[kk]
		if !ok {
			var err error
			if e, err = btyd.CLV(m.Count, 1, x, tx, T, clvOpt); err != nil {
				return fmt.Errorf("clv: customer %q: %w", fc.id.Value(i), err)
			}
			dep[kk] = e
		}
		v.clv[i] = spend * e
	}
	return nil
}

// clvChunkRows is the fewest customers worth a goroutine of their own.
var clvChunkRows = 4096

func nans(n int) []float64 {
	s := make([]float64, n)
	for i := range s {
		s[i] = math.NaN()
	}
	return s
}

func clvColumns(v clvValues) []column {
	return []column{
		f64Col(PredPAlive, func(i int) float64 { return v.pAlive[i] }),
		f64Col(PredExpectedPurchases90d, func(i int) float64 { return v.expPurchases[i] }),
		f64Col(PredProbNoPurchase90d, func(i int) float64 { return v.probNone[i] }),
		{arrow.Field{Name: PredExpectedNextPurchase, Type: arrow.FixedWidthTypes.Date32, Nullable: true},
			func(b array.Builder, i int) {
				if d := v.nextDay[i]; d >= 0 {
					b.(*array.Date32Builder).Append(arrow.Date32(d))
				} else {
					b.AppendNull()
				}
			}},
		f64Col(PredExpectedAvgSpend, func(i int) float64 { return v.avgSpend[i] }),
		f64Col(PredPredictedCLV12m, func(i int) float64 { return v.clv[i] }),
	}
}

// summary is what the ledger records about the night's models.
func (m *CLVModels) summary() map[string]any {
	out := map[string]any{"warnings": m.Warnings, "unit": m.opt.Unit.String()}
	if m.Count != nil {
		out["count_model"] = m.CountFit
	}
	if m.Spend != nil {
		out["spend_model"] = m.SpendFit
	}
	if len(m.SpendExcluded) > 0 {
		out["spend_excluded"] = map[string]any{"count": len(m.SpendExcluded), "customers": m.SpendExcluded}
	}
	return out
}

// FeatureIDs returns the customer_id column of a feature table as strings.
func FeatureIDs(feat arrow.Record) []string {
	ids := feat.Column(0).(*array.String)
	out := make([]string, ids.Len())
	for i := range out {
		out[i] = ids.Value(i)
	}
	return out
}
