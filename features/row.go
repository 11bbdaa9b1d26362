package features

import (
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// rowWriter appends one customer's features to a RecordBuilder in schema
// order. Field positions are resolved once.
type rowWriter struct {
	id                                                    *array.StringBuilder
	firstEvent, firstPurchase, lastPurchase               *array.Date32Builder
	tenure, sinceLast, sinceLastEvent                     *array.Int32Builder
	pd, pd30, pd90, pd180, pd365                          *array.Int32Builder
	nPurchase, nReturn, nVisit, nSupport, nOther, nEvents *array.Int32Builder
	nVisit90, nSupport90                                  *array.Int32Builder
	gross, retAmt, net, spendMean, spendMax, spend90      *array.Float64Builder
	gapMean, gapStd                                       *array.Float64Builder
	gapBeforeRecent, tenureMonths                         *array.Int32Builder
	earlierMean                                           *array.Float64Builder
	activity                                              [ActivityMonths]*array.Int32Builder
	x, tx, T                                              *array.Int32Builder
	zbar                                                  *array.Float64Builder
}

func newRowWriter(rb *array.RecordBuilder) *rowWriter {
	s := rb.Schema()
	i32b := func(name string) *array.Int32Builder { return rb.Field(idx(s, name)).(*array.Int32Builder) }
	f64b := func(name string) *array.Float64Builder { return rb.Field(idx(s, name)).(*array.Float64Builder) }
	d32b := func(name string) *array.Date32Builder { return rb.Field(idx(s, name)).(*array.Date32Builder) }
	w := &rowWriter{
		id:              rb.Field(idx(s, ColCustomerID)).(*array.StringBuilder),
		firstEvent:      d32b(ColFirstEventDate),
		firstPurchase:   d32b(ColFirstPurchaseDate),
		lastPurchase:    d32b(ColLastPurchaseDate),
		tenure:          i32b(ColTenureDays),
		sinceLast:       i32b(ColDaysSinceLastPurchase),
		sinceLastEvent:  i32b(ColDaysSinceLastEvent),
		pd:              i32b(ColPurchaseDays),
		pd30:            i32b(ColPurchaseDays30),
		pd90:            i32b(ColPurchaseDays90),
		pd180:           i32b(ColPurchaseDays180),
		pd365:           i32b(ColPurchaseDays365),
		nPurchase:       i32b(ColPurchaseCount),
		nReturn:         i32b(ColReturnCount),
		nVisit:          i32b(ColVisitCount),
		nSupport:        i32b(ColSupportCount),
		nOther:          i32b(ColOtherCount),
		nEvents:         i32b(ColEventCount),
		nVisit90:        i32b(ColVisitCount90),
		nSupport90:      i32b(ColSupportCount90),
		gross:           f64b(ColGrossSpend),
		retAmt:          f64b(ColReturnAmount),
		net:             f64b(ColNetSpend),
		spendMean:       f64b(ColSpendMean),
		spendMax:        f64b(ColSpendMax),
		spend90:         f64b(ColSpend90),
		gapMean:         f64b(ColGapMeanDays),
		gapStd:          f64b(ColGapStdDays),
		gapBeforeRecent: i32b(ColGapBeforeRecentDays),
		tenureMonths:    i32b(ColTenureMonths),
		earlierMean:     f64b(ColActivityEarlierMean),
		x:               i32b(ColRepeatPurchases),
		tx:              i32b(ColFirstToLastDays),
		T:               i32b(ColFirstToAsOfDays),
		zbar:            f64b(ColRepeatSpendMean),
	}
	for k := 1; k <= ActivityMonths; k++ {
		w.activity[k-1] = i32b(ActivityCol(k))
	}
	return w
}

func idx(s *arrow.Schema, name string) int {
	is := s.FieldIndices(name)
	if len(is) != 1 {
		panic("features: schema has no single column " + name)
	}
	return is[0]
}

// write appends the features of customer a whose purchase days (sorted,
// merged) are days, at as-of day asOf in month asOfMon.
func (w *rowWriter) write(asOf, asOfMon int32, a *acc, days []pday) {
	w.id.Append(a.id)
	w.firstEvent.Append(arrow.Date32(a.firstEvent))
	w.sinceLastEvent.Append(asOf - a.lastEvent)
	w.nPurchase.Append(a.purchases)
	w.nReturn.Append(a.returns)
	w.nVisit.Append(a.visits)
	w.nSupport.Append(a.support)
	w.nOther.Append(a.other)
	w.nEvents.Append(a.events)
	w.nVisit90.Append(a.visits90)
	w.nSupport90.Append(a.support90)
	w.retAmt.Append(a.returnAmount)

	// Monthly interaction series: m1 = the full month before the as-of month.
	for k := range a.act {
		w.activity[k].Append(a.act[k])
	}

	n := len(days)
	w.pd.Append(int32(n))
	var gross, spend90, maxDay float64
	var c30, c90, c180, c365 int32
	for _, d := range days {
		gross += d.amount
		maxDay = math.Max(maxDay, d.amount)
		since := asOf - d.day
		if since < 30 {
			c30++
		}
		if since < 90 {
			c90++
			spend90 += d.amount
		}
		if since < 180 {
			c180++
		}
		if since < 365 {
			c365++
		}
	}
	w.pd30.Append(c30)
	w.pd90.Append(c90)
	w.pd180.Append(c180)
	w.pd365.Append(c365)
	w.gross.Append(gross)
	w.net.Append(gross - a.returnAmount)
	w.spend90.Append(spend90)

	if n == 0 { // prospect: interactions but no purchase
		w.firstPurchase.AppendNull()
		w.lastPurchase.AppendNull()
		w.tenure.AppendNull()
		w.sinceLast.AppendNull()
		w.spendMean.AppendNull()
		w.spendMax.AppendNull()
		w.gapMean.AppendNull()
		w.gapStd.AppendNull()
		w.gapBeforeRecent.AppendNull()
		w.tenureMonths.AppendNull()
		w.earlierMean.AppendNull()
		w.x.Append(0)
		w.tx.Append(0)
		w.T.Append(0)
		w.zbar.Append(0)
		return
	}
	first, last := days[0].day, days[n-1].day
	w.firstPurchase.Append(arrow.Date32(first))
	w.lastPurchase.Append(arrow.Date32(last))
	w.tenure.Append(asOf - first)
	w.sinceLast.Append(asOf - last)
	w.spendMean.Append(gross / float64(n))
	w.spendMax.Append(maxDay)
	w.x.Append(int32(n - 1))
	w.tx.Append(last - first)
	w.T.Append(asOf - first)
	if n > 1 {
		w.zbar.Append((gross - days[0].amount) / float64(n-1))
	} else {
		w.zbar.Append(0)
	}

	// Gaps between consecutive purchase days (Welford for the variance).
	if n >= 2 {
		var mean, m2 float64
		for i := 1; i < n; i++ {
			g := float64(days[i].day - days[i-1].day)
			d := g - mean
			mean += d / float64(i)
			m2 += d * (g - mean)
		}
		w.gapMean.Append(mean)
		if n >= 3 {
			w.gapStd.Append(math.Sqrt(m2 / float64(n-2)))
		} else {
			w.gapStd.AppendNull()
		}
	} else {
		w.gapMean.AppendNull()
		w.gapStd.AppendNull()
	}

	// Gap before the first purchase day in the last 90 days.
	gbr := int32(-1)
	for i := 1; i < n; i++ {
		if asOf-days[i].day < 90 {
			gbr = days[i].day - days[i-1].day
			break
		}
	}
	if gbr >= 0 {
		w.gapBeforeRecent.Append(gbr)
	} else {
		w.gapBeforeRecent.AppendNull()
	}

	// Tenure in full months and the mean monthly activity over the months
	// before the last three full months (from the first purchase month on).
	firstMon := a.firstMon // == monthOf(first)
	w.tenureMonths.Append(max(0, asOfMon-firstMon))
	const recent = 3
	earlierMonths := asOfMon - recent - firstMon // months firstMon .. asOfMon-4
	if earlierMonths <= 0 {
		w.earlierMean.AppendNull()
		return
	}
	w.earlierMean.Append(float64(a.earlier()) / float64(earlierMonths))
}
