package pipeline

import (
	"fmt"
	"math"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/churnpipe/churnpipe/data"
	"github.com/churnpipe/churnpipe/features"
	"github.com/churnpipe/churnpipe/models/churn"
	"github.com/churnpipe/churnpipe/pipeline/gate"
)

// Which features the drift gates compare, and how.
//
// The champion's reference is its test snapshot, one churn horizon (90
// days by default) before the day it was trained on. Features measured
// from the customer's first purchase (tenure), since the last one
// (recency), accumulated over the customer's life, or over windows longer
// than 90 days move with the calendar by construction: a cohort ages every
// night, so on a closed cohort such as CDNOW (all customers acquired in
// Q1 1997) their distribution 90 days later has nothing in common with the
// reference (PSI 8.4 for tenure_days). Those are compared night over night
// only; against the champion the gate compares the features that describe
// behaviour per unit of time or per purchase, whose distribution stays put
// while the customers age (calendarReasons lists the others and why).
//
// Night over night, tonight is compared with the last published night.
// Features that grow by one a day (ages, recencies) are compared after
// subtracting the days elapsed, the calendar-month features after shifting
// by the months elapsed (tenure_months − Δmonths, activity_m<k> against last
// night's activity_m<k−Δmonths>), so that a healthy night compares
// like with like.

// Reasons a feature is not compared with the champion's reference.
const (
	reasonAge      = "age: measured from the first purchase or event, grows with the calendar"
	reasonRecency  = "recency: grows by one a day until the next purchase"
	reasonLifetime = "lifetime total: accumulates with the customer's age"
	reasonLong     = "window longer than 90 days or month-indexed beyond 3 months: reaches back towards the acquisition cohort"
	reasonBTYD     = "BTYD model output: a function of recency, frequency and age"
	reasonCalendar = "calendar: a function of the as-of day"
	reasonUnknown  = "not classified: compared night over night only"
)

var calendarReasons = func() map[string]string {
	m := map[string]string{}
	set := func(reason string, names ...string) {
		for _, n := range names {
			m[n] = reason
		}
	}
	set(reasonAge, features.ColTenureDays, features.ColTenureMonths, features.ColFirstToAsOfDays, features.ColFirstToLastDays,
		features.ColActivityEarlierMean, features.ColGapMeanDays, features.ColGapStdDays, features.ColGapBeforeRecentDays)
	set(reasonRecency, features.ColDaysSinceLastPurchase, features.ColDaysSinceLastEvent, "recency_over_gap")
	set(reasonLifetime, features.ColPurchaseDays, features.ColPurchaseCount, features.ColReturnCount, features.ColVisitCount,
		features.ColSupportCount, features.ColOtherCount, features.ColEventCount, features.ColGrossSpend, features.ColReturnAmount,
		features.ColNetSpend, features.ColRepeatPurchases)
	set(reasonLong, features.ColPurchaseDays180, features.ColPurchaseDays365, "purchase_trend_90_365")
	for k := 4; k <= features.ActivityMonths; k++ {
		set(reasonLong, features.ActivityCol(k))
	}
	set(reasonBTYD, churn.ExtraBGNBDPAlive, churn.ExtraBGNBDProbNoPurchase, churn.ExtraBGNBDExpected)
	set(reasonCalendar, churn.ExtraSeasonSin, churn.ExtraSeasonCos)
	return m
}()

// championStable lists the features compared with the champion's
// reference: amounts per purchase, windows of at most 90 days (or the last
// three calendar months) and ratios.
var championStable = map[string]bool{
	features.ColSpendMean: true, features.ColSpendMax: true, features.ColRepeatSpendMean: true, features.ColSpend90: true,
	features.ColPurchaseDays30: true, features.ColPurchaseDays90: true, features.ColVisitCount90: true, features.ColSupportCount90: true,
	features.ActivityCol(1): true, features.ActivityCol(2): true, features.ActivityCol(3): true,
	"activity_trend_3m": true, "return_rate": true, "support_per_purchase_day": true,
}

// championScope splits names into those compared with the champion's
// reference and, by reason, the others.
func championScope(names []string) (compared []string, notCompared map[string][]string) {
	notCompared = map[string][]string{}
	for _, n := range names {
		switch {
		case championStable[n]:
			compared = append(compared, n)
		case calendarReasons[n] != "":
			notCompared[calendarReasons[n]] = append(notCompared[calendarReasons[n]], n)
		default:
			notCompared[reasonUnknown] = append(notCompared[reasonUnknown], n)
		}
	}
	return compared, notCompared
}

// dailyAge lists the features that grow by exactly one a day for a
// customer without new events.
var dailyAge = map[string]bool{
	features.ColTenureDays: true, features.ColFirstToAsOfDays: true,
	features.ColDaysSinceLastPurchase: true, features.ColDaysSinceLastEvent: true,
}

// maxNightGapDays: a last published night older than this is not compared
// feature by feature (the customers have changed too much).
const maxNightGapDays = 31

func monthIndex(t time.Time) int { y, m, _ := t.Date(); return y*12 + int(m) - 1 }

// nightScope pairs tonight's columns with the last published night's
// references: it returns the references (renamed and shifted where the
// calendar moves a feature) and tonight's values under the same names,
// plus the record of what was compared.
func nightScope(last map[string]gate.Reference, tonight map[string][]float64, lastAsOf, asOf time.Time) (map[string]gate.Reference, map[string][]float64, gate.Comparison) {
	days := int(asOf.Sub(lastAsOf).Hours() / 24)
	months := monthIndex(asOf) - monthIndex(lastAsOf)
	cmp := gate.Comparison{Check: gate.CheckFeaturePSINight, NotCompared: map[string][]string{}}
	cmp.Against = fmt.Sprintf("the last published night (as-of %s, %d days earlier); ages and recencies shifted by %d days, month-indexed features by %d months",
		lastAsOf.Format(time.DateOnly), days, days, months)
	refs, vals := map[string]gate.Reference{}, map[string][]float64{}
	names := make([]string, 0, len(tonight))
	for n := range tonight {
		names = append(names, n)
	}
	sort.Strings(names)
	skip := func(reason, n string) { cmp.NotCompared[reason] = append(cmp.NotCompared[reason], n) }
	for _, n := range names {
		v := tonight[n]
		ref, from := gate.Reference{}, n
		switch {
		case days > maxNightGapDays || days < -maxNightGapDays:
			skip(fmt.Sprintf("the last published night is %d days away (more than %d)", days, maxNightGapDays), n)
			continue
		case calendarReasons[n] == reasonCalendar:
			skip(reasonCalendar, n)
			continue
		case n == features.ColActivityEarlierMean && months != 0:
			skip("recomputed over another calendar month at a month boundary", n)
			continue
		case strings.HasPrefix(n, "activity_m"):
			k, err := strconv.Atoi(strings.TrimPrefix(n, "activity_m"))
			if err != nil {
				break
			}
			if k-months < 1 || k-months > features.ActivityMonths {
				skip("a calendar month not covered by the last published night", n)
				continue
			}
			from = features.ActivityCol(k - months)
		}
		ref, ok := last[from]
		if !ok {
			skip("not in the last published night's profile", n)
			continue
		}
		switch {
		case dailyAge[n] && days != 0:
			v = shifted(v, float64(-days))
		case n == features.ColTenureMonths && months != 0:
			v = shifted(v, float64(-months))
		}
		refs[n], vals[n] = ref, v
		cmp.Features = append(cmp.Features, n)
	}
	return refs, vals, cmp
}

func shifted(v []float64, by float64) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = x + by
	}
	return out
}

// numericColumn returns an Int32, Int64 or Float64 column as float64
// (null = NaN), and false for a column of another type.
func numericColumn(col arrow.Array) ([]float64, bool) {
	var get func(i int) float64
	switch a := col.(type) {
	case *array.Int32:
		get = func(i int) float64 { return float64(a.Value(i)) }
	case *array.Int64:
		get = func(i int) float64 { return float64(a.Value(i)) }
	case *array.Float64:
		get = a.Value
	default:
		return nil, false
	}
	v := make([]float64, col.Len())
	for i := range v {
		if col.IsNull(i) {
			v[i] = math.NaN()
		} else {
			v[i] = get(i)
		}
	}
	return v, true
}

// tonightProfile bins every numeric feature column of feat for tonight's
// profile and, when last (the last published night's references, as-of
// lastAsOf) is non-nil, computes each column's PSI against it as
// nightScope pairs them. It holds one float64 copy of a column per
// goroutine at a time (GOMAXPROCS of them), not the whole table (~330 MB
// at 1 M customers). It returns the references, the drifts and the record
// of what was compared (false: nothing to compare with).
func tonightProfile(feat arrow.RecordBatch, last map[string]gate.Reference, lastAsOf, asOf time.Time) (map[string]gate.Reference, []gate.Drift, gate.Comparison, bool) {
	type colOut struct {
		name  string
		ref   *gate.Reference
		cmp   gate.Comparison
		drift *gate.Drift
	}
	fields := feat.Schema().Fields()
	outs := make([]colOut, len(fields))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(fields)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				j := int(next.Add(1) - 1)
				if j >= len(fields) {
					return
				}
				v, ok := numericColumn(feat.Column(j))
				if !ok {
					continue
				}
				o := colOut{name: fields[j].Name}
				if ref, err := gate.NewReference(v, 0); err == nil {
					o.ref = &ref
				}
				if last != nil {
					refs, vals, cmp := nightScope(last, map[string][]float64{o.name: v}, lastAsOf, asOf)
					o.cmp = cmp
					if ref, ok := refs[o.name]; ok && len(vals[o.name]) > 0 && len(ref.Shares) > 0 {
						o.drift = &gate.Drift{Feature: o.name, PSI: gate.PSI(ref, vals[o.name])}
					}
				}
				outs[j] = o
			}
		}()
	}
	wg.Wait()
	refs := map[string]gate.Reference{}
	var drifts []gate.Drift
	var cmp gate.Comparison
	// The comparison record lists the features in name order, as nightScope
	// over the whole table does.
	slices.SortFunc(outs, func(a, b colOut) int { return strings.Compare(a.name, b.name) })
	for _, o := range outs {
		if o.name == "" {
			continue
		}
		if o.ref != nil {
			refs[o.name] = *o.ref
		}
		if o.drift != nil {
			drifts = append(drifts, *o.drift)
		}
		if last == nil {
			continue
		}
		if cmp.Check == "" {
			cmp = gate.Comparison{Check: o.cmp.Check, Against: o.cmp.Against, NotCompared: map[string][]string{}}
		}
		cmp.Features = append(cmp.Features, o.cmp.Features...)
		for reason, names := range o.cmp.NotCompared {
			cmp.NotCompared[reason] = append(cmp.NotCompared[reason], names...)
		}
	}
	return refs, drifts, cmp, last != nil
}

// nightProfile is what a run records in pipeline_runs.details["profile"]
// for the next night to compare with: its input profile and the binned
// distributions of its feature columns and churn scores.
type nightProfile struct {
	Feed     *gate.Feed                `json:"feed,omitempty"`
	Features map[string]gate.Reference `json:"features,omitempty"`
	Score    *gate.Reference           `json:"score,omitempty"`
}

// newNightProfile is tonight's profile: the feed counts, the feature
// references (featureReferences) and the churn scores binned.
func newNightProfile(feed *gate.Feed, refs map[string]gate.Reference, scores []float64) nightProfile {
	p := nightProfile{Feed: feed, Features: refs}
	if p.Features == nil {
		p.Features = map[string]gate.Reference{}
	}
	if len(scores) > 0 {
		if ref, err := gate.NewReference(scores, 0); err == nil {
			p.Score = &ref
		}
	}
	return p
}

// feedSource counts the input's profile (gate.Feed) as the events go by.
type feedSource struct {
	Source
	c   *gate.FeedCounter
	bad *bool // set when a record lacks the canonical columns
}

func (s feedSource) Record() arrow.RecordBatch {
	rec := s.Source.Record()
	if !countFeed(s.c, rec) {
		*s.bad = true
	}
	return rec
}

// feedOf returns the feed profile of the events read through src, or nil
// when a record lacked the canonical columns.
func feedOf(src Source) *gate.Feed {
	if fs, ok := src.(feedSource); ok && !*fs.bad {
		f := fs.c.Feed()
		return &f
	}
	return nil
}

// withFeed wraps src so that a gate.FeedCounter counts every record read
// on or before asOf (see feedOf).
func withFeed(src Source, asOf time.Time) Source {
	return feedSource{src, gate.NewFeedCounter(asOf), new(bool)}
}

// countFeed adds the events of rec (data.EventSchema) to c; false when rec
// lacks event_time, event_type or amount.
func countFeed(c *gate.FeedCounter, rec arrow.RecordBatch) bool {
	if rec == nil {
		return true
	}
	col := func(name string) arrow.Array {
		if idx := rec.Schema().FieldIndices(name); len(idx) == 1 {
			return rec.Column(idx[0])
		}
		return nil
	}
	ts, ok1 := col(data.ColEventTime).(*array.Timestamp)
	typ, ok2 := col(data.ColEventType).(*array.String)
	amt, ok3 := col(data.ColAmount).(*array.Float64)
	if !ok1 || !ok2 || !ok3 {
		return false
	}
	for i := 0; i < int(rec.NumRows()); i++ {
		a := math.NaN()
		if amt.IsValid(i) {
			a = amt.Value(i)
		}
		c.Add(data.DayOf(int64(ts.Value(i))), typ.Value(i), a)
	}
	return true
}
