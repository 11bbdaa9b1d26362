package pipeline

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/churnpipe/churnpipe/data/store"
	"github.com/churnpipe/churnpipe/features/lifecycle"
	"github.com/churnpipe/churnpipe/features/rfm"
	"github.com/churnpipe/churnpipe/models/churn"
)

// Change and rank columns (migration 7), filled by Changes.
const (
	PredPreviousStage          = "previous_stage"
	PredStageSince             = "stage_since"
	PredPreviousChurnRisk      = "previous_churn_risk"
	PredChurnRiskChanged       = "churn_risk_changed"
	PredChurnPercentile        = "churn_percentile"
	PredCLVPercentile          = "clv_percentile"
	PredChurnPercentileInStage = "churn_percentile_in_stage"
)

// Alert codes of customer_alerts.
const (
	AlertRiskHigh         = "risk_high"          // churn risk rose to high
	AlertHighValueAtRisk  = "high_value_at_risk" // value tier A or B at high churn risk
	AlertEnteredDeclining = "entered_declining"
	AlertEnteredDormant   = "entered_dormant"
	AlertReactivated      = "reactivated"
)

// AlertLabel describes an alert code in English and Chinese.
type AlertLabel struct{ Code, English, Chinese string }

// AlertLabels returns every alert code with its labels, in the order the
// alerts of one customer are listed.
func AlertLabels() []AlertLabel {
	return []AlertLabel{
		{AlertRiskHigh, "Churn risk rose to high", "流失风险升至高"},
		{AlertHighValueAtRisk, "High-value customer (tier A/B) at high churn risk", "高价值客户（A/B 类）流失风险高"},
		{AlertEnteredDeclining, "Entered the declining stage", "进入衰退期"},
		{AlertEnteredDormant, "Entered the dormant stage", "进入沉睡期"},
		{AlertReactivated, "Reactivated after a long gap", "流失后回流"},
	}
}

// Changes compares a night's prediction record with the previous published
// night and returns the record with the change and rank columns appended
// (caller releases; pred is not released) and the night's alerts.
//
// Columns: previous_stage and previous_churn_risk are the previous night's
// values (null for a customer absent from it); stage_since is the first
// night of the current stage — the previous stage_since while the stage is
// unchanged, else asOf (customers first seen tonight, and every customer on
// a table's first night, start at asOf); churn_risk_changed is 1 when both
// nights have a risk band and they differ, 0 when equal, null otherwise.
// churn_percentile, clv_percentile and churn_percentile_in_stage are
// percent ranks over the buyers that have the value (subscribers: over the
// subscribers, by P(cancel) and residual_clv), 0–100:
// 100·(buyers with a strictly lower value)/(buyers − 1), so ties share the
// percentile, the lowest is 0 and the highest 100 (SQL's PERCENT_RANK()·100;
// within the customer's lifecycle stage for the last one).
//
// Alerts fire only for customers present in the previous night: risk_high
// (churn risk high tonight, known and not high before), high_value_at_risk
// (tier A/B at high risk tonight, previous risk known and not already tier
// A/B at high risk), entered_declining, entered_dormant, reactivated (stage
// tonight, a different stage before).
func Changes(mem memory.Allocator, pred arrow.RecordBatch, asOf time.Time, prev store.PreviousNight) (arrow.RecordBatch, []store.Alert, error) {
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	pc, err := newPredCols(pred)
	if err != nil {
		return nil, nil, err
	}
	n := int(pred.NumRows())
	asOf = asOf.UTC().Truncate(24 * time.Hour)
	asOfDay := arrow.Date32FromTime(asOf)

	prevStage, prevRisk := make([]string, n), make([]string, n)
	since := make([]arrow.Date32, n)
	changed := make([]int32, n)
	changedValid := make([]bool, n)
	var alerts []store.Alert
	labels := alertLabelMap()
	segLabels := segmentLabelMap()
	for i := 0; i < n; i++ {
		id, stage, risk, tier := pc.str(pc.id, i), pc.str(pc.stage, i), pc.str(pc.risk, i), pc.str(pc.tier, i)
		since[i] = asOfDay
		p, ok := prev.Rows[id]
		if !ok {
			continue
		}
		prevStage[i], prevRisk[i] = p.Stage, p.ChurnRisk
		if p.Stage == stage {
			switch {
			case !p.StageSince.IsZero():
				since[i] = arrow.Date32FromTime(p.StageSince)
			case !prev.AsOf.IsZero(): // a night published before migration 7
				since[i] = arrow.Date32FromTime(prev.AsOf)
			}
		}
		if risk != "" && p.ChurnRisk != "" {
			changedValid[i] = true
			if risk != p.ChurnRisk {
				changed[i] = 1
			}
		}
		high := string(churn.RiskHigh)
		var fired []string
		if risk == high && p.ChurnRisk != "" && p.ChurnRisk != high {
			fired = append(fired, AlertRiskHigh)
		}
		valuable := func(t string) bool { return t == string(rfm.TierA) || t == string(rfm.TierB) }
		if risk == high && valuable(tier) && p.ChurnRisk != "" && !(p.ChurnRisk == high && valuable(p.ValueTier)) {
			fired = append(fired, AlertHighValueAtRisk)
		}
		for _, x := range []struct {
			st    lifecycle.Stage
			alert string
		}{{lifecycle.Declining, AlertEnteredDeclining}, {lifecycle.Dormant, AlertEnteredDormant}, {lifecycle.Reactivated, AlertReactivated}} {
			if stage == string(x.st) && p.Stage != stage {
				fired = append(fired, x.alert)
			}
		}
		for _, code := range fired {
			seg := pc.str(pc.segment, i)
			l, ok := segLabels[seg]
			if !ok || seg == churn.SegmentProspect {
				l = segLabels[pc.str(pc.rfmSegment, i)]
			}
			prob := math.NaN()
			if pc.prob.IsValid(i) {
				prob = pc.prob.Value(i)
			}
			alerts = append(alerts, store.Alert{
				CustomerID: id, Alert: code, LabelEN: labels[code].English, LabelZH: labels[code].Chinese,
				Stage: stage, PrevStage: p.Stage, StageSince: since[i].ToTime(), ChurnRisk: risk, PrevRisk: p.ChurnRisk,
				ChurnProbability: prob, ValueTier: tier, Segment: seg, Action: l.Action, TopReasons: pc.str(pc.reasons, i),
			})
		}
	}

	// Buyers are ranked among buyers, subscribers among subscribers (their
	// churn probability is P(cancel), their value residual_clv).
	buyer := func(i int) bool { return pc.since.IsValid(i) && !pc.subscriber(i) }
	valid := func(a *array.Float64, i int) bool { return a != nil && a.IsValid(i) && !math.IsNaN(a.Value(i)) }
	churnVal := func(i int) (float64, bool) {
		return pc.prob.Value(i), (buyer(i) || pc.subscriber(i)) && valid(pc.prob, i)
	}
	clvVal := func(i int) (float64, bool) {
		if pc.subscriber(i) {
			return pc.rclv.Value(i), valid(pc.rclv, i)
		}
		return pc.clv.Value(i), buyer(i) && valid(pc.clv, i)
	}
	setting := func(i int) string {
		if pc.subscriber(i) {
			return "subscriber"
		}
		return "buyer"
	}
	// Three independent sorts of every customer (~0.5 s each at 1 M): one
	// goroutine each; the closures only read the prediction record.
	var churnPct, clvPct, stagePct []float64
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); churnPct = PercentRank(n, churnVal, setting) }()
	go func() { defer wg.Done(); clvPct = PercentRank(n, clvVal, setting) }()
	stagePct = PercentRank(n, churnVal, func(i int) string { return setting(i) + "/" + pc.str(pc.stage, i) })
	wg.Wait()

	cols := []column{
		strCol(PredPreviousStage, func(i int) string { return prevStage[i] }),
		{arrow.Field{Name: PredStageSince, Type: arrow.FixedWidthTypes.Date32, Nullable: true},
			func(b array.Builder, i int) { b.(*array.Date32Builder).Append(since[i]) }},
		strCol(PredPreviousChurnRisk, func(i int) string { return prevRisk[i] }),
		i32Col(PredChurnRiskChanged, func(i int) bool { return changedValid[i] }, func(i int) int32 { return changed[i] }),
		f64Col(PredChurnPercentile, func(i int) float64 { return churnPct[i] }),
		f64Col(PredCLVPercentile, func(i int) float64 { return clvPct[i] }),
		f64Col(PredChurnPercentileInStage, func(i int) float64 { return stagePct[i] }),
	}
	extra := buildRecord(mem, n, cols)
	defer extra.Release()
	fields := append(slices.Clone(pred.Schema().Fields()), extra.Schema().Fields()...)
	arrs := append(slices.Clone(pred.Columns()), extra.Columns()...)
	return array.NewRecordBatch(arrow.NewSchema(fields, nil), arrs, int64(n)), alerts, nil
}

// PercentRank returns 100·(rows of the group with a strictly lower value)/
// (rows of the group − 1) for every row with a value (ok), NaN for the
// others; a group of one row gets 0. group == nil is one group.
func PercentRank(n int, value func(i int) (float64, bool), group func(i int) string) []float64 {
	out := make([]float64, n)
	byGroup := map[string][]int{}
	var keys []string
	for i := 0; i < n; i++ {
		out[i] = math.NaN()
		if _, ok := value(i); !ok {
			continue
		}
		g := ""
		if group != nil {
			g = group(i)
		}
		if _, seen := byGroup[g]; !seen {
			keys = append(keys, g)
		}
		byGroup[g] = append(byGroup[g], i)
	}
	for _, g := range keys {
		idx := byGroup[g]
		v := func(i int) float64 { x, _ := value(i); return x }
		slices.SortStableFunc(idx, func(a, b int) int {
			switch va, vb := v(a), v(b); {
			case va < vb:
				return -1
			case va > vb:
				return 1
			}
			return 0
		})
		m := len(idx)
		for lo := 0; lo < m; {
			hi := lo + 1
			for hi < m && v(idx[hi]) == v(idx[lo]) {
				hi++
			}
			p := 0.0
			if m > 1 {
				p = 100 * float64(lo) / float64(m-1)
			}
			for _, i := range idx[lo:hi] {
				out[i] = p
			}
			lo = hi
		}
	}
	return out
}

func alertLabelMap() map[string]AlertLabel {
	m := map[string]AlertLabel{}
	for _, l := range AlertLabels() {
		m[l.Code] = l
	}
	return m
}

func segmentLabelMap() map[string]store.Label {
	m := map[string]store.Label{}
	for _, l := range rfm.Labels() {
		m[string(l.Code)] = store.Label{Code: string(l.Code), English: l.English, Chinese: l.Chinese, Action: l.Action}
	}
	for _, l := range churn.SegmentLabels() {
		m[l.Code] = store.Label{Code: l.Code, English: l.English, Chinese: l.Chinese, Action: l.Action}
	}
	return m
}

// predCols are the prediction-record columns Changes reads.
type predCols struct {
	id, stage, risk, tier, segment, rfmSegment, reasons *array.String
	prob, clv                                           *array.Float64
	since                                               *array.Int32
	// status and rclv are subscription_status and residual_clv, nil when
	// the night has no subscription columns.
	status *array.String
	rclv   *array.Float64
}

// subscriber reports whether row i is a subscriber (subscription_status set).
func (pc *predCols) subscriber(i int) bool { return pc.status != nil && pc.status.IsValid(i) }

func (pc *predCols) str(a *array.String, i int) string {
	if a.IsNull(i) {
		return ""
	}
	return a.Value(i)
}

func newPredCols(rec arrow.RecordBatch) (*predCols, error) {
	var pc predCols
	get := func(name string) (arrow.Array, error) {
		is := rec.Schema().FieldIndices(name)
		if len(is) != 1 {
			return nil, fmt.Errorf("pipeline: prediction record has no column %q", name)
		}
		return rec.Column(is[0]), nil
	}
	for _, c := range []struct {
		name string
		dst  any
	}{
		{PredCustomerID, &pc.id}, {PredLifecycleStage, &pc.stage}, {PredChurnRisk, &pc.risk}, {PredValueTier, &pc.tier},
		{PredSegment, &pc.segment}, {PredRFMSegment, &pc.rfmSegment}, {PredTopReasons, &pc.reasons},
		{PredChurnProbability, &pc.prob}, {PredPredictedCLV12m, &pc.clv}, {PredDaysSinceLastPurchase, &pc.since},
	} {
		a, err := get(c.name)
		if err != nil {
			return nil, err
		}
		ok := false
		switch d := c.dst.(type) {
		case **array.String:
			*d, ok = a.(*array.String)
		case **array.Float64:
			*d, ok = a.(*array.Float64)
		case **array.Int32:
			*d, ok = a.(*array.Int32)
		}
		if !ok {
			return nil, fmt.Errorf("pipeline: prediction column %q has type %s", c.name, a.DataType())
		}
	}
	if is := rec.Schema().FieldIndices(PredSubscriptionStatus); len(is) == 1 {
		pc.status, _ = rec.Column(is[0]).(*array.String)
	}
	if is := rec.Schema().FieldIndices(PredResidualCLV); len(is) == 1 {
		pc.rclv, _ = rec.Column(is[0]).(*array.Float64)
	}
	return &pc, nil
}

// nightChanges reads the previous published night and adds the change and
// rank columns and alerts to a night (the record is the caller's to release).
func nightChanges(ctx context.Context, st store.Store, pred arrow.RecordBatch, asOf time.Time, opt Options, res *NightlyResult) (arrow.RecordBatch, []store.Alert, error) {
	prev, err := st.PreviousNight(ctx, asOf)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrSink, err)
	}
	rec, alerts, err := Changes(opt.Alloc, pred, asOf, prev)
	if err != nil {
		return nil, nil, err
	}
	res.Alerts = map[string]int{}
	for _, a := range alerts {
		res.Alerts[a.Alert]++
	}
	res.Run.Details["alerts"] = res.Alerts
	if !prev.AsOf.IsZero() {
		res.Run.Details["previous_night"] = prev.AsOf.Format(time.DateOnly)
	}
	return rec, alerts, nil
}
