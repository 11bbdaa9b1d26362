package pipeline

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/churnpipe/churnpipe/features"
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

	// Added by migration 6.
	PredPAliveLatent            = "p_alive_latent"
	PredExpectedPurchases90dP10 = "expected_purchases_90d_p10"
	PredExpectedPurchases90dP90 = "expected_purchases_90d_p90"
	PredPredictedCLV12mP10      = "predicted_clv_12m_p10"
	PredPredictedCLV12mP90      = "predicted_clv_12m_p90"
)

// CLVOptions configure the probabilistic models of the nightly run.
type CLVOptions struct {
	Disabled     bool
	Model        string        // "auto" (default: chosen by holdout, see AutoRule), "bgnbd", "mbgnbd" or "paretonbd"
	Unit         btyd.TimeUnit // the unit the models are fitted in; default btyd.Week
	HorizonDays  int           // horizon of expected_purchases_90d / prob_no_purchase_90d; default 90 (the column names keep "90d")
	CLVMonths    int           // CLV horizon in months (365.25/12 days); default 12
	AnnualRate   float64       // yearly discount rate for CLV; default 0.10, applied monthly as (1+r)^(1/12)−1
	MinBuyers    int           // fewer buyers than this: no CLV columns (recorded); default 50
	HoldoutDays  int           // auto: the last HoldoutDays of the history are the holdout; default HorizonDays
	MinPAliveETA float64       // expected_next_purchase_date is null below this P(alive); default 0.5 (DefaultMinPAliveETA)
	MaxETADays   int           // … and when the median wait exceeds this many days; default 730
}

func (o CLVOptions) withDefaults() CLVOptions {
	if o.Model == "" {
		o.Model = ModelAuto
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
	if o.HoldoutDays == 0 {
		o.HoldoutDays = o.HorizonDays
	}
	if o.MinPAliveETA == 0 {
		o.MinPAliveETA = DefaultMinPAliveETA
	}
	if o.MaxETADays == 0 {
		o.MaxETADays = 730
	}
	return o
}

// DefaultMinPAliveETA is the P(alive) below which expected_next_purchase_date
// is null: a customer more likely gone than alive gets no date.
const DefaultMinPAliveETA = 0.5

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
	// Comparison is the record of the clv.model: auto choice (nil otherwise).
	Comparison *ModelComparison
	opt        CLVOptions
}

// SummaryData returns the BTYD summary (x, t_x, T) of the buyers of a
// feature table in unit, and the row index of each summary row.
func SummaryData(feat arrow.RecordBatch, unit btyd.TimeUnit) (btyd.Data, []int, error) {
	fc, err := newFeatureCols(feat)
	if err != nil {
		return btyd.Data{}, nil, err
	}
	d, rows, _ := fc.summary(unit)
	return d, rows, nil
}

// SummaryWithSpend is SummaryData with each buyer's z̄, the mean spend of
// the repeat purchase days (0 for one-time buyers).
func SummaryWithSpend(feat arrow.RecordBatch, unit btyd.TimeUnit) (btyd.Data, []float64, error) {
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
func FitCLV(feat arrow.RecordBatch, o CLVOptions) (*CLVModels, error) {
	return FitCLVHoldout(feat, nil, o)
}

// Calibration is the feature table at the calibration end (as_of −
// HoldoutDays) that clv.model: auto compares the count models on.
type Calibration struct {
	Features arrow.RecordBatch
	// Summary, when Features is nil, is the night builder's summary of the
	// buyers at End (features.WithCalibration): the same rows.
	Summary *features.Calibration
	End     time.Time
}

// FitCLVHoldout is FitCLV with the calibration table of clv.model: auto;
// without it (nil) auto falls back to mbgnbd with a recorded warning.
func FitCLVHoldout(feat arrow.RecordBatch, cal *Calibration, o CLVOptions) (*CLVModels, error) {
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
	order := []string{o.Model}
	if o.Model == ModelAuto {
		model, err := m.choose(feat, cal, o)
		if err != nil {
			return nil, err
		}
		order = []string{model}
		if m.Comparison != nil {
			order = m.Comparison.Order()
		}
	}
	cd := btyd.Compress(d)
	for k, model := range order {
		fo := btyd.FitOptions{}
		if m.Comparison != nil {
			fo.Start = m.Comparison.params(model) // warm start from the calibration fit
		}
		m.Count, m.CountFit, err = btyd.Fit(model, cd, fo)
		if err == nil {
			break
		}
		err = fmt.Errorf("clv: fitting %s on %d buyers: %w", model, d.Len(), err)
		if k == len(order)-1 {
			return nil, err
		}
		m.Warnings = append(m.Warnings, fmt.Sprintf("%v; trying %s", err, order[k+1]))
	}
	if m.Comparison != nil && m.CountFit.Model != m.Comparison.Chosen {
		m.Comparison.Reason += fmt.Sprintf("; its refit on all data failed, %s used", m.CountFit.Model)
		m.Comparison.Chosen = m.CountFit.Model
	}
	if b := boundaryOf(m.CountFit); len(b) > 0 {
		m.Warnings = append(m.Warnings, fmt.Sprintf("clv: the %s fit on all data is at a parameter boundary: %s", m.CountFit.Model, strings.Join(b, ", ")))
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
	sp, err := FitSpend(ids, d.X, zbar, btyd.FitOptions{}, nil)
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
	pAlive, pAliveLatent, expPurchases, probNone, avgSpend, clv []float64
	expLo, expHi, clvLo, clvHi                                  []float64 // p10 / p90
	nextDay                                                     []int32   // -1 = null
}

// scoreCLV applies the models to every row of the feature table.
func (m *CLVModels) score(fc *featureCols, asOfDay int32) (clvValues, error) {
	n := fc.id.Len()
	v := clvValues{
		pAlive: nans(n), pAliveLatent: nans(n), expPurchases: nans(n), probNone: nans(n), avgSpend: nans(n), clv: nans(n),
		expLo: nans(n), expHi: nans(n), clvLo: nans(n), clvHi: nans(n),
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
	np, _ := m.Count.(nextPurchaser)
	clvOpt := btyd.CLVOptions{ModelUnit: o.Unit, Period: btyd.Month, Periods: o.CLVMonths,
		DiscountRate: math.Pow(1+o.AnnualRate, 1.0/12) - 1}
	u := m.uncertainty()
	// Everything that depends on (x, t_x, T) alone — the discounted
	// purchases of the CLV, the interval widths, the next purchase — is
	// computed once per distinct row (a night has far fewer distinct rows
	// than customers), then gathered; both passes split over the CPUs.
	dist, idx := btyd.CompressIndex(btyd.Data{X: d.X, Tx: d.Tx, T: d.T})
	pr, err := m.scoreDistinct(dist, np, clvOpt, u)
	if err != nil {
		var re *btyd.RowError
		if errors.As(err, &re) {
			for k, j := range idx {
				if int(j) == re.Row {
					return v, fmt.Errorf("clv: customer %q: %w", fc.id.Value(rows[k]), re.Err)
				}
			}
		}
		return v, fmt.Errorf("clv: %w", err)
	}
	err = inChunks(len(rows), clvChunkRows, func(lo, hi int) error {
		return m.scoreRows(fc, &v, d, rows, idx, &pr, zbar, u, asOfDay, lo, hi)
	})
	if err != nil {
		return v, err
	}
	return v, nil
}

// uncertainty holds what the per-customer intervals need: the count and
// spend models at shifted log-parameters (btyd.Sensitivity). Nil members
// mean no interval (no covariance: singular Hessian).
type uncertainty struct {
	count      *btyd.Sensitivity
	countModel []btyd.CountModel
	spend      *btyd.Sensitivity
	spendModel []btyd.GammaGamma
}

func (m *CLVModels) uncertainty() *uncertainty {
	u := &uncertainty{}
	if s, err := btyd.NewSensitivity(m.CountFit); err == nil {
		for _, p := range s.Shifted {
			cm, err := btyd.New(m.CountFit.Model, p)
			if err != nil {
				return u
			}
			u.countModel = append(u.countModel, cm)
		}
		u.count = s
	}
	if m.Spend != nil {
		if s, err := btyd.NewSensitivity(m.SpendFit); err == nil {
			for _, p := range s.Shifted {
				u.spendModel = append(u.spendModel, btyd.GammaGamma{P: p["p"], Q: p["q"], Gamma: p["gamma"]})
			}
			u.spend = s
		}
	}
	return u
}

// spendOf is the expected spend per purchase of a customer under g: the
// Gamma-Gamma conditional mean for repeat buyers with a positive z̄, the
// population mean for the others.
func spendOf(g btyd.GammaGamma, x, zbar float64) (float64, error) {
	if x > 0 && zbar > 0 && !math.IsInf(zbar, 0) {
		return g.ExpectedSpend(x, zbar)
	}
	return g.MeanSpend()
}

// distinctScores holds, per distinct (x, t_x, T) row, what depends on the
// row alone.
type distinctScores struct {
	sc           btyd.Scores // the count model's scores
	dep          []float64   // discounted expected purchases of the CLV horizon (CLV per unit spend); nil without a spend model
	depSD, expSD []float64   // log-scale sd of dep and of the expected purchases; NaN: no interval
	nextDays     []float64   // median wait to the next purchase in days; NaN: none
}

// scoreDistinct scores the distinct rows dist: the count model, the CLV per
// unit of spend, the interval widths from the shifted models and the next
// purchase. The expectations go through btyd's batch functions, which
// evaluate the alive-customer factor once per distinct (x, T).
func (m *CLVModels) scoreDistinct(dist btyd.Data, np nextPurchaser, clvOpt btyd.CLVOptions, u *uncertainty) (distinctScores, error) {
	o := m.opt
	days := o.Unit.Days()
	h := float64(o.HorizonDays) / days
	workers := runtime.GOMAXPROCS(0)
	n := dist.Len()
	s := distinctScores{sc: btyd.Score(m.Count, dist, h, workers), depSD: nans(n), expSD: nans(n), nextDays: nans(n)}
	var err error
	if m.Spend != nil {
		if s.dep, err = btyd.DiscountedPurchasesRows(m.Count, dist, clvOpt, workers); err != nil {
			return s, err
		}
	}
	if u.count != nil {
		exp := make([][]float64, len(u.countModel))
		dep := make([][]float64, len(u.countModel))
		for j, cm := range u.countModel {
			exp[j] = btyd.ExpectedPurchasesRows(cm, dist, h, workers)
			if m.Spend != nil {
				if dep[j], err = btyd.DiscountedPurchasesRows(cm, dist, clvOpt, workers); err != nil {
					return s, err
				}
			}
		}
		fj := make([]float64, len(u.countModel))
		for k := 0; k < n; k++ {
			for j := range exp {
				fj[j] = exp[j][k]
			}
			s.expSD[k] = u.count.LogSD(s.sc.ExpectedPurchases[k], fj)
			if m.Spend != nil {
				for j := range dep {
					fj[j] = dep[j][k]
				}
				s.depSD[k] = u.count.LogSD(s.dep[k], fj)
			}
		}
	}
	if np != nil {
		for k := 0; k < n; k++ {
			if 1-s.sc.ProbNoPurchase[k] < o.MinPAliveETA {
				continue
			}
			if _, median, ok := np.NextPurchaseTime(dist.X[k], dist.Tx[k], dist.T[k], 0); ok && median*days <= float64(o.MaxETADays) {
				s.nextDays[k] = median * days
			}
		}
	}
	return s, nil
}

// scoreRows fills v for the customers rows[lo:hi]; idx maps each of them to
// its distinct row in pr.
func (m *CLVModels) scoreRows(fc *featureCols, v *clvValues, d btyd.Data, rows []int, idx []int32, pr *distinctScores, zbar []float64,
	u *uncertainty, asOfDay int32, lo, hi int) error {
	var sj []float64
	if u.spend != nil {
		sj = make([]float64, len(u.spendModel))
	}
	for k := lo; k < hi; k++ {
		i := rows[k]
		x := d.X[k]
		j := idx[k]
		sc := &pr.sc
		// p_alive is the probability of at least one purchase in the
		// horizon; the latent P(alive at T) is p_alive_latent.
		v.pAlive[i] = 1 - sc.ProbNoPurchase[j]
		v.pAliveLatent[i], v.expPurchases[i], v.probNone[i] = sc.PAlive[j], sc.ExpectedPurchases[j], sc.ProbNoPurchase[j]
		if nd := pr.nextDays[j]; !math.IsNaN(nd) {
			v.nextDay[i] = asOfDay + int32(math.Round(nd))
		}
		v.expLo[i], v.expHi[i] = btyd.Interval80(sc.ExpectedPurchases[j], pr.expSD[j])
		if m.Spend == nil {
			continue
		}
		spend, err := spendOf(*m.Spend, x, zbar[k])
		if err != nil {
			return fmt.Errorf("clv: expected spend of customer %q: %w", fc.id.Value(i), err)
		}
		v.avgSpend[i] = spend
		v.clv[i] = spend * pr.dep[j]
		// log CLV = log spend + log discounted purchases; the two fits are
		// independent, so their log-variances add.
		sd := math.NaN()
		if u.spend != nil && !math.IsNaN(pr.depSD[j]) {
			for j, g := range u.spendModel {
				if sj[j], err = spendOf(g, x, zbar[k]); err != nil {
					sj[j] = math.NaN()
				}
			}
			ssd := u.spend.LogSD(spend, sj)
			sd = math.Sqrt(ssd*ssd + pr.depSD[j]*pr.depSD[j])
		}
		v.clvLo[i], v.clvHi[i] = btyd.Interval80(v.clv[i], sd)
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
		f64Col(PredPAliveLatent, func(i int) float64 { return v.pAliveLatent[i] }),
		f64Col(PredExpectedPurchases90dP10, func(i int) float64 { return v.expLo[i] }),
		f64Col(PredExpectedPurchases90dP90, func(i int) float64 { return v.expHi[i] }),
		f64Col(PredPredictedCLV12mP10, func(i int) float64 { return v.clvLo[i] }),
		f64Col(PredPredictedCLV12mP90, func(i int) float64 { return v.clvHi[i] }),
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
	if m.Comparison != nil {
		out["model_choice"] = m.Comparison
	}
	if len(m.SpendExcluded) > 0 {
		out["spend_excluded"] = map[string]any{"count": len(m.SpendExcluded), "customers": m.SpendExcluded}
	}
	return out
}

// FeatureIDs returns the customer_id column of a feature table as strings.
func FeatureIDs(feat arrow.RecordBatch) []string {
	ids := feat.Column(0).(*array.String)
	out := make([]string, ids.Len())
	for i := range out {
		out[i] = ids.Value(i)
	}
	return out
}

// autoFallback is the model clv.model: auto uses when it cannot compare.
const autoFallback = "mbgnbd"

// choose runs the holdout comparison of clv.model: auto.
func (m *CLVModels) choose(feat arrow.RecordBatch, cal *Calibration, o CLVOptions) (string, error) {
	if cal == nil {
		m.Warnings = append(m.Warnings, fmt.Sprintf("clv: model auto: no history before the %d-day holdout to compare on: %s used", o.HoldoutDays, autoFallback))
		return autoFallback, nil
	}
	var hs HoldoutSet
	var err error
	if cal.Features != nil {
		hs, err = NewHoldoutSet(cal.Features, feat, o.Unit, o.HoldoutDays)
	} else {
		hs, err = holdoutFromSummary(cal.Summary, feat, o.Unit, o.HoldoutDays)
	}
	if err != nil {
		return "", err
	}
	if hs.Cal.Len() < o.MinBuyers {
		m.Warnings = append(m.Warnings, fmt.Sprintf("clv: model auto: %d buyers before the holdout, fewer than %d: %s used", hs.Cal.Len(), o.MinBuyers, autoFallback))
		return autoFallback, nil
	}
	mc := Compare(hs, runtime.GOMAXPROCS(0))
	mc.HoldoutDays = o.HoldoutDays
	mc.CalibrationEnd = cal.End.Format(time.DateOnly)
	m.Comparison = &mc
	if mc.Chosen == "" {
		return "", fmt.Errorf("clv: model auto: no count model could be fitted on the %d calibration buyers: %+v", hs.Cal.Len(), mc.Candidates)
	}
	return mc.Chosen, nil
}
