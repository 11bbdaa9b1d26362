package pipeline

import (
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/churnpipe/churnpipe/data"
)

// ColCLVModel is the count model column of CLVTable.
const ColCLVModel = "clv_model"

// CLVTable returns the per-customer CLV columns of the prediction table —
// customer_id, p_alive, expected_purchases_90d, prob_no_purchase_90d,
// expected_next_purchase_date, expected_avg_spend, predicted_clv_12m,
// p_alive_latent and the p10/p90 columns — and clv_model, the count model
// used, for every customer of the feature table at asOf (caller releases).
func CLVTable(feat arrow.RecordBatch, m *CLVModels, asOf time.Time, mem memory.Allocator) (arrow.RecordBatch, error) {
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	fc, err := newFeatureCols(feat)
	if err != nil {
		return nil, err
	}
	v, err := m.score(fc, data.DayOf(asOf.UnixMilli()))
	if err != nil {
		return nil, err
	}
	model := ""
	if m != nil && m.Count != nil {
		model = m.CountFit.Model
	}
	cols := []column{strCol(PredCustomerID, fc.id.Value)}
	cols = append(cols, clvColumns(v)...)
	cols = append(cols, strCol(ColCLVModel, func(int) string { return model }))
	return buildRecord(mem, int(feat.NumRows()), cols), nil
}
