package pipeline

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/churnpipe/churnpipe/features"
	"github.com/churnpipe/churnpipe/features/lifecycle"
	"github.com/churnpipe/churnpipe/features/rfm"
)

// Columns of the prediction table filled by the pipeline. The store adds
// as_of, run_id and updated_at; docs/crm-contract.md documents them all.
const (
	PredCustomerID            = "customer_id"
	PredLifecycleStage        = "lifecycle_stage"
	PredRFMR                  = "rfm_r"
	PredRFMF                  = "rfm_f"
	PredRFMM                  = "rfm_m"
	PredRFMScore              = "rfm_score"
	PredRFMSegment            = "rfm_segment"
	PredValueTier             = "value_tier"
	PredHistoricValue         = "historic_value"
	PredDaysSinceLastPurchase = "days_since_last_purchase"
	PredPurchaseDays          = "purchase_days"
	PredFirstPurchaseDate     = "first_purchase_date"
	PredLastPurchaseDate      = "last_purchase_date"
)

// Rules computes the rule-based outputs of a night for a feature table: the
// lifecycle stage, RFM scores and segment, and the ABC tier on net spend.
type Rules struct {
	Stages   []lifecycle.Stage
	Scores   rfm.Scores
	Segments []rfm.Segment
	Tiers    []rfm.Tier
}

// ApplyRules evaluates the stage, RFM and ABC rules on a feature table with
// the default RFM segment table.
func ApplyRules(feat arrow.RecordBatch, r lifecycle.Rules) (Rules, error) {
	return ApplyRulesWith(feat, r, rfm.DefaultRules())
}

// ApplyRulesWith is ApplyRules with an RFM segment table (nil = the default).
func ApplyRulesWith(feat arrow.RecordBatch, r lifecycle.Rules, segs rfm.Rules) (Rules, error) {
	if segs == nil {
		segs = rfm.DefaultRules()
	}
	stages, err := r.Assign(feat)
	if err != nil {
		return Rules{}, err
	}
	fc, err := newFeatureCols(feat)
	if err != nil {
		return Rules{}, err
	}
	n := int(feat.NumRows())
	in := rfm.Input{
		IDs: make([]string, n), Buyer: make([]bool, n),
		Recency: make([]int32, n), Frequency: make([]int32, n), Monetary: make([]float64, n),
	}
	for i := 0; i < n; i++ {
		in.IDs[i] = fc.id.Value(i)
		in.Buyer[i] = fc.since.IsValid(i)
		in.Recency[i] = fc.since.Value(i)
		in.Frequency[i] = fc.pdays.Value(i)
		in.Monetary[i] = fc.net.Value(i)
	}
	out := Rules{Stages: stages, Scores: rfm.Score(in), Segments: make([]rfm.Segment, n)}
	for i := range out.Segments {
		out.Segments[i] = segs.SegmentOf(out.Scores.R[i], out.Scores.F[i], out.Scores.M[i])
	}
	out.Tiers = rfm.Tiers(in.IDs, in.Buyer, in.Monetary)
	return out, nil
}

// featureCols are the typed feature columns the pipeline reads.
type featureCols struct {
	id                          *array.String
	since, pdays, x, tx, T      *array.Int32
	net, zbar                   *array.Float64
	firstPurchase, lastPurchase *array.Date32
}

func newFeatureCols(rec arrow.RecordBatch) (*featureCols, error) {
	s := rec.Schema()
	get := func(name string) (arrow.Array, error) {
		is := s.FieldIndices(name)
		if len(is) != 1 {
			return nil, fmt.Errorf("pipeline: feature table has no column %q", name)
		}
		return rec.Column(is[0]), nil
	}
	var fc featureCols
	var firstErr error
	cols := []struct {
		name string
		dst  any
	}{
		{features.ColCustomerID, &fc.id}, {features.ColDaysSinceLastPurchase, &fc.since},
		{features.ColPurchaseDays, &fc.pdays}, {features.ColRepeatPurchases, &fc.x},
		{features.ColFirstToLastDays, &fc.tx}, {features.ColFirstToAsOfDays, &fc.T},
		{features.ColNetSpend, &fc.net}, {features.ColRepeatSpendMean, &fc.zbar},
		{features.ColFirstPurchaseDate, &fc.firstPurchase}, {features.ColLastPurchaseDate, &fc.lastPurchase},
	}
	for _, c := range cols {
		a, err := get(c.name)
		if err != nil {
			return nil, err
		}
		ok := false
		switch d := c.dst.(type) {
		case **array.String:
			*d, ok = a.(*array.String)
		case **array.Int32:
			*d, ok = a.(*array.Int32)
		case **array.Float64:
			*d, ok = a.(*array.Float64)
		case **array.Date32:
			*d, ok = a.(*array.Date32)
		}
		if !ok && firstErr == nil {
			firstErr = fmt.Errorf("pipeline: feature column %q has type %s", c.name, a.DataType())
		}
	}
	return &fc, firstErr
}

// ruleColumns are the prediction columns of the spine: stage, RFM, tier and
// the history they come from.
func ruleColumns(fc *featureCols, r Rules) []column {
	buyer := func(i int) bool { return fc.since.IsValid(i) }
	always := func(int) bool { return true }
	return []column{
		strCol(PredCustomerID, fc.id.Value),
		strCol(PredLifecycleStage, func(i int) string { return string(r.Stages[i]) }),
		i32Col(PredRFMR, buyer, func(i int) int32 { return int32(r.Scores.R[i]) }),
		i32Col(PredRFMF, buyer, func(i int) int32 { return int32(r.Scores.F[i]) }),
		i32Col(PredRFMM, buyer, func(i int) int32 { return int32(r.Scores.M[i]) }),
		strCol(PredRFMScore, func(i int) string {
			if !buyer(i) {
				return ""
			}
			return rfm.Code(r.Scores.R[i], r.Scores.F[i], r.Scores.M[i])
		}),
		strCol(PredRFMSegment, func(i int) string { return string(r.Segments[i]) }),
		strCol(PredValueTier, func(i int) string { return string(r.Tiers[i]) }),
		f64Col(PredHistoricValue, fc.net.Value),
		i32Col(PredDaysSinceLastPurchase, buyer, fc.since.Value),
		i32Col(PredPurchaseDays, always, fc.pdays.Value),
		dateCol(PredFirstPurchaseDate, fc.firstPurchase),
		dateCol(PredLastPurchaseDate, fc.lastPurchase),
	}
}
