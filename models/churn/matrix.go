package churn

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"gonum.org/v1/gonum/mat"

	"github.com/churnpipe/churnpipe/features"
)

// Extra feature columns that the pipeline computes from the BTYD model at
// each snapshot and appends to the matrix.
const (
	ExtraBGNBDPAlive         = "bgnbd_p_alive"
	ExtraBGNBDProbNoPurchase = "bgnbd_prob_no_purchase"
	ExtraBGNBDExpected       = "bgnbd_expected_purchases"
	ExtraSeasonSin           = "season_sin" // sin(2π·(day of year of the snapshot)/365.25)
	ExtraSeasonCos           = "season_cos"
)

// derived are ratios computed from the feature table: trends a tree can use
// directly and a linear model cannot build.
var derived = []string{"activity_trend_3m", "purchase_trend_90_365", "recency_over_gap", "return_rate", "support_per_purchase_day"}

// FeatureNames returns the matrix columns built from a feature table, in
// order: the numeric feature columns, the derived ratios, then extra.
func FeatureNames(extra []string) []string {
	var out []string
	for _, f := range features.Schema().Fields() {
		switch f.Type.ID() {
		case arrow.INT32, arrow.FLOAT64:
			out = append(out, f.Name)
		}
	}
	out = append(out, derived...)
	return append(out, extra...)
}

// SchemaHash identifies the matrix layout: a model refuses a feature table
// whose hash differs from the one it was trained on.
func SchemaHash(names []string) string {
	h := sha256.Sum256([]byte(strings.Join(names, "\x1f")))
	return hex.EncodeToString(h[:8])
}

// Matrix builds the design matrix of the rows of feat selected by rows (nil =
// all), with the named extra columns (each indexed like feat's rows). Null
// values are NaN: gradient boosting routes them, logit sees them imputed.
func Matrix(feat arrow.RecordBatch, rows []int, extra map[string][]float64, extraNames []string) (*mat.Dense, []string, error) {
	names := FeatureNames(extraNames)
	if rows == nil {
		rows = make([]int, feat.NumRows())
		for i := range rows {
			rows[i] = i
		}
	}
	s := feat.Schema()
	nbase := len(names) - len(derived) - len(extraNames)
	cols := make([]arrow.Array, nbase)
	for j := 0; j < nbase; j++ {
		is := s.FieldIndices(names[j])
		if len(is) != 1 {
			return nil, nil, fmt.Errorf("churn: feature table has no column %q", names[j])
		}
		cols[j] = feat.Column(is[0])
	}
	for _, e := range extraNames {
		if len(extra[e]) != int(feat.NumRows()) {
			return nil, nil, fmt.Errorf("churn: extra column %q has %d values for %d rows", e, len(extra[e]), feat.NumRows())
		}
	}
	if len(rows) == 0 {
		return nil, nil, fmt.Errorf("%w: no rows", ErrTooFewData)
	}
	m := mat.NewDense(len(rows), len(names), nil)
	byName := map[string]int{}
	for j, n := range names {
		byName[n] = j
	}
	for r, i := range rows {
		row := m.RawRowView(r)
		for j, c := range cols {
			row[j] = value(c, i)
		}
		at := func(n string) float64 { return row[byName[n]] }
		k := nbase
		// activity over the last 3 full months vs the earlier monthly mean.
		recent := (at(features.ActivityCol(1)) + at(features.ActivityCol(2)) + at(features.ActivityCol(3))) / 3
		row[k] = ratio(recent, at(features.ColActivityEarlierMean))
		row[k+1] = ratio(at(features.ColPurchaseDays90)*4, at(features.ColPurchaseDays365))
		row[k+2] = ratio(at(features.ColDaysSinceLastPurchase), at(features.ColGapMeanDays))
		row[k+3] = ratio(at(features.ColReturnCount), at(features.ColPurchaseCount))
		row[k+4] = ratio(at(features.ColSupportCount), at(features.ColPurchaseDays))
		for e, name := range extraNames {
			row[k+len(derived)+e] = extra[name][i]
		}
	}
	return m, names, nil
}

func ratio(a, b float64) float64 {
	if math.IsNaN(a) || math.IsNaN(b) || b == 0 {
		return math.NaN()
	}
	return a / b
}

func value(c arrow.Array, i int) float64 {
	if c.IsNull(i) {
		return math.NaN()
	}
	switch a := c.(type) {
	case *array.Int32:
		return float64(a.Value(i))
	case *array.Float64:
		return a.Value(i)
	}
	return math.NaN()
}
