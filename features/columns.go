package features

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
)

// Names of the feature columns. The full list, with types, is Schema().
const (
	ColCustomerID            = "customer_id"
	ColFirstEventDate        = "first_event_date"
	ColFirstPurchaseDate     = "first_purchase_date"
	ColLastPurchaseDate      = "last_purchase_date"
	ColTenureDays            = "tenure_days"
	ColDaysSinceLastPurchase = "days_since_last_purchase"
	ColDaysSinceLastEvent    = "days_since_last_event"
	ColPurchaseDays          = "purchase_days"
	ColPurchaseDays30        = "purchase_days_30"
	ColPurchaseDays90        = "purchase_days_90"
	ColPurchaseDays180       = "purchase_days_180"
	ColPurchaseDays365       = "purchase_days_365"
	ColPurchaseCount         = "purchase_count"
	ColReturnCount           = "return_count"
	ColVisitCount            = "visit_count"
	ColSupportCount          = "support_count"
	ColOtherCount            = "other_event_count"
	ColEventCount            = "event_count"
	ColVisitCount90          = "visit_count_90"
	ColSupportCount90        = "support_count_90"
	ColGrossSpend            = "gross_spend"
	ColReturnAmount          = "return_amount"
	ColNetSpend              = "net_spend"
	ColSpendMean             = "spend_mean"
	ColSpendMax              = "spend_max"
	ColSpend90               = "spend_90"
	ColGapMeanDays           = "gap_mean_days"
	ColGapStdDays            = "gap_std_days"
	ColGapBeforeRecentDays   = "gap_before_recent_days"
	ColTenureMonths          = "tenure_months"
	ColActivityEarlierMean   = "activity_earlier_mean"
	ColRepeatPurchases       = "repeat_purchases"
	ColFirstToLastDays       = "first_to_last_days"
	ColFirstToAsOfDays       = "first_to_asof_days"
	ColRepeatSpendMean       = "repeat_spend_mean"
)

// ActivityMonths is the number of full calendar months before the as-of
// month whose interaction counts are exported as activity_m1 (the month
// before the as-of month) … activity_m12.
const ActivityMonths = 12

// ActivityCol returns the name of the interaction-count column for the k-th
// full calendar month before the as-of month (1 ≤ k ≤ ActivityMonths).
// It panics when k is out of range.
func ActivityCol(k int) string {
	if k < 1 || k > ActivityMonths {
		panic(fmt.Sprintf("features: activity month %d out of range 1..%d", k, ActivityMonths))
	}
	return fmt.Sprintf("activity_m%d", k)
}

var (
	i32  = arrow.PrimitiveTypes.Int32
	f64  = arrow.PrimitiveTypes.Float64
	d32  = arrow.FixedWidthTypes.Date32
	utf8 = arrow.BinaryTypes.String
)

// column describes one feature column and its meaning (shown by
// `churnpipe features --describe` and in the README).
type column struct {
	name     string
	typ      arrow.DataType
	nullable bool
	doc      string
}

func columns() []column {
	cols := []column{
		{ColCustomerID, utf8, false, "customer identifier"},
		{ColFirstEventDate, d32, false, "day of the first interaction of any type"},
		{ColFirstPurchaseDate, d32, true, "day of the first purchase; null for prospects"},
		{ColLastPurchaseDate, d32, true, "day of the last purchase; null for prospects"},
		{ColTenureDays, i32, true, "as-of day − first purchase day; null for prospects"},
		{ColDaysSinceLastPurchase, i32, true, "as-of day − last purchase day; null for prospects"},
		{ColDaysSinceLastEvent, i32, false, "as-of day − last interaction day"},
		{ColPurchaseDays, i32, false, "distinct purchase days"},
		{ColPurchaseDays30, i32, false, "distinct purchase days in the last 30 days"},
		{ColPurchaseDays90, i32, false, "distinct purchase days in the last 90 days"},
		{ColPurchaseDays180, i32, false, "distinct purchase days in the last 180 days"},
		{ColPurchaseDays365, i32, false, "distinct purchase days in the last 365 days"},
		{ColPurchaseCount, i32, false, "purchase events"},
		{ColReturnCount, i32, false, "return events"},
		{ColVisitCount, i32, false, "visit events"},
		{ColSupportCount, i32, false, "support events (tickets)"},
		{ColOtherCount, i32, false, "events of any other type"},
		{ColEventCount, i32, false, "all events"},
		{ColVisitCount90, i32, false, "visit events in the last 90 days"},
		{ColSupportCount90, i32, false, "support events in the last 90 days"},
		{ColGrossSpend, f64, false, "sum of purchase amounts"},
		{ColReturnAmount, f64, false, "sum of returned amounts, as a positive number"},
		{ColNetSpend, f64, false, "gross spend − returned amount"},
		{ColSpendMean, f64, true, "mean purchase amount per purchase day; null for prospects"},
		{ColSpendMax, f64, true, "largest purchase amount on one purchase day; null for prospects"},
		{ColSpend90, f64, false, "purchase amounts in the last 90 days"},
		{ColGapMeanDays, f64, true, "mean days between consecutive purchase days; null with < 2 purchase days"},
		{ColGapStdDays, f64, true, "sample standard deviation of those gaps; null with < 3 purchase days"},
		{ColGapBeforeRecentDays, i32, true, "gap before the first purchase day of the last 90 days; null if none or no earlier purchase"},
		{ColTenureMonths, i32, true, "full calendar months from the first purchase month to the month before the as-of month; null for prospects"},
		{ColActivityEarlierMean, f64, true, "mean monthly interactions from the first purchase month to 4 months before the as-of month; null when there is no such month"},
	}
	for k := 1; k <= ActivityMonths; k++ {
		cols = append(cols, column{ActivityCol(k), i32, false, fmt.Sprintf("interactions in the full calendar month %d before the as-of month", k)})
	}
	cols = append(cols,
		column{ColRepeatPurchases, i32, false, "BTYD x: purchase days − 1 (0 for prospects)"},
		column{ColFirstToLastDays, i32, false, "BTYD t_x in days: last − first purchase day (0 for prospects)"},
		column{ColFirstToAsOfDays, i32, false, "BTYD T in days: as-of day − first purchase day (0 for prospects)"},
		column{ColRepeatSpendMean, f64, false, "Gamma-Gamma z̄: mean spend of the repeat purchase days (first day excluded); 0 when x = 0"},
	)
	return cols
}

var schema = func() *arrow.Schema {
	cs := columns()
	fs := make([]arrow.Field, len(cs))
	for i, c := range cs {
		fs[i] = arrow.Field{Name: c.name, Type: c.typ, Nullable: c.nullable,
			Metadata: arrow.NewMetadata([]string{"doc"}, []string{c.doc})}
	}
	return arrow.NewSchema(fs, nil)
}()

// Schema returns the Arrow schema of the feature table. Every field carries
// its meaning in the metadata key "doc".
func Schema() *arrow.Schema { return schema }
