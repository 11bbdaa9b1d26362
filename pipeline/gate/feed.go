package gate

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"
)

// Names of the feed checks (night over night, see the package doc).
const (
	CheckDayRows     = "day_rows"
	CheckAsOfDayRows = "asof_day_rows"
	CheckTimeSpan    = "time_span"
	CheckEventMix    = "event_mix"
	CheckAmountPSI   = "amount_psi"
)

// FeedDays is the number of days, ending at the as-of day, whose row
// counts a Feed keeps.
const FeedDays = 35

// AmountEdges are the upper bounds of the amount histogram of a Feed: bin 0
// holds negative amounts, bin 1 zero, then one bin per quarter decade of
// the positive amounts from 0.01 to 10⁷ (amounts ≤ 0.01 in bin 2, amounts
// above 10⁷ in the last bin). A unit error (cents for dollars, × 100) moves
// every amount by eight bins.
var AmountEdges = func() []float64 {
	e := []float64{math.Nextafter(0, -1), 0}
	for k := -8; k <= 28; k++ {
		e = append(e, math.Pow(10, float64(k)/4))
	}
	return e
}()

// Feed is the profile of one night's input: its time span, rows per day
// near the as-of day, event-type counts and amount histogram, all counted
// over the rows on or before the as-of day that were not rejected. It is
// recorded in pipeline_runs.details so that the next night can compare.
type Feed struct {
	AsOf     string `json:"as_of"`     // YYYY-MM-DD
	FirstDay string `json:"first_day"` // first event day on or before AsOf; "" without rows
	LastDay  string `json:"last_day"`  // last event day on or before AsOf
	Rows     int64  `json:"rows"`
	// DayRows[k] is the number of rows on day AsOf − k (k < FeedDays).
	DayRows    []int64          `json:"day_rows"`
	EventTypes map[string]int64 `json:"event_types"`
	// Amounts[i] counts the non-null amounts in bin i of AmountEdges
	// (len(AmountEdges)+1 bins); NullAmounts the rows without one.
	Amounts     []int64 `json:"amounts"`
	NullAmounts int64   `json:"null_amounts"`
}

// FeedCounter accumulates a Feed from events. Not safe for concurrent use.
type FeedCounter struct {
	asOf        int32
	first, last int32
	f           Feed
}

// NewFeedCounter counts the events on or before asOf (a UTC day).
func NewFeedCounter(asOf time.Time) *FeedCounter {
	d := int32(asOf.UTC().Truncate(24*time.Hour).Unix() / 86400)
	return &FeedCounter{asOf: d, first: math.MaxInt32, last: math.MinInt32, f: Feed{
		AsOf: asOf.UTC().Format(time.DateOnly), DayRows: make([]int64, FeedDays),
		EventTypes: map[string]int64{}, Amounts: make([]int64, len(AmountEdges)+1),
	}}
}

// Add counts one event: its UTC day number, type and amount (NaN = null).
// Events after the as-of day are ignored.
func (c *FeedCounter) Add(day int32, eventType string, amount float64) {
	if day > c.asOf {
		return
	}
	c.f.Rows++
	c.first, c.last = min(c.first, day), max(c.last, day)
	if k := c.asOf - day; k < FeedDays {
		c.f.DayRows[k]++
	}
	c.f.EventTypes[eventType]++
	if math.IsNaN(amount) {
		c.f.NullAmounts++
	} else {
		c.f.Amounts[amountBin(amount)]++
	}
}

func amountBin(v float64) int { return sort.SearchFloat64s(AmountEdges, v) }

// Feed returns the profile counted so far.
func (c *FeedCounter) Feed() Feed {
	f := c.f
	f.DayRows = slices.Clone(f.DayRows)
	f.Amounts = slices.Clone(f.Amounts)
	if f.Rows > 0 {
		f.FirstDay, f.LastDay = dayString(c.first), dayString(c.last)
	}
	return f
}

func dayString(d int32) string { return time.Unix(int64(d)*86400, 0).UTC().Format(time.DateOnly) }

func dayNumber(s string) (int32, bool) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return 0, false
	}
	return int32(t.Unix() / 86400), true
}

// below classifies v with strict lower limits: block when v < block, warn
// when v < warn. Used for probabilities.
func below(name string, v, warn, block float64, what string) Result {
	r := Result{Name: name, Value: v, Warn: warn, Block: block, Status: Pass}
	switch {
	case on(block) && v < block:
		r.Status = Block
		r.Message = fmt.Sprintf("%s %.3g < limit %.3g", what, v, block)
	case on(warn) && v < warn:
		r.Status = Warn
		r.Message = fmt.Sprintf("%s %.3g < warning level %.3g", what, v, warn)
	default:
		r.Message = fmt.Sprintf("%s %.3g", what, v)
	}
	return r
}

// DayRows compares the rows per day of the days both feeds cover (on or
// before both as-of days, within FeedDays of each): a history only grows,
// so a day that had rows last night and lost more than limit of them
// (a fraction) tonight means a missing or truncated file. Value is the
// largest fraction lost; block when Value > limit, warn when > warn.
func DayRows(last, cur *Feed, warn, limit float64) Result {
	if last == nil || cur == nil {
		return skipped(CheckDayRows, warn, limit, "no feed profile of the last published night")
	}
	la, ok1 := dayNumber(last.AsOf)
	ca, ok2 := dayNumber(cur.AsOf)
	if !ok1 || !ok2 || len(last.DayRows) == 0 || len(cur.DayRows) == 0 {
		return skipped(CheckDayRows, warn, limit, "feed profile without day counts")
	}
	worst, worstDay, compared, found := 0.0, int32(0), 0, false
	var prevN, curN int64
	for d := min(la, ca); ; d-- {
		kl, kc := int(la-d), int(ca-d)
		if kl >= len(last.DayRows) || kc >= len(cur.DayRows) {
			break
		}
		p, c := last.DayRows[kl], cur.DayRows[kc]
		compared++
		if p <= 0 {
			continue
		}
		if lost := math.Max(0, float64(p-c)/float64(p)); lost > worst || !found {
			worst, worstDay, prevN, curN, found = lost, d, p, c, true
		}
	}
	if compared == 0 {
		return skipped(CheckDayRows, warn, limit, "no day in common with the last published night")
	}
	r := above(CheckDayRows, worst, warn, limit, "largest share of a day's rows lost since the last published night")
	if worst > 0 {
		r.Message += fmt.Sprintf(" (%s: %d → %d rows)", dayString(worstDay), prevN, curN)
	}
	r.Message += fmt.Sprintf("; %d days compared", compared)
	return r
}

// AsOfDayRows checks the volume of the as-of day against the days before:
// with λ the median rows per day over the 28 days before and n tonight's
// rows, Value is n/λ; warn when Value < warn, block when Value < block,
// in both cases only when n is also improbable under a Poisson(λ) count
// (P(N ≤ n) < PoissonLevel), so that a thin feed (the CDNOW sample has a
// median of 5 rows a day) does not raise alarms on chance. Real feeds have
// closed days (the dunnhumby history has no row on 2017-12-25), so the
// default only warns. Skipped when the 28 days hold no row.
func AsOfDayRows(cur *Feed, warn, block float64) Result {
	if cur == nil || len(cur.DayRows) < 29 {
		return skipped(CheckAsOfDayRows, warn, block, "no feed profile")
	}
	prev := slices.Clone(cur.DayRows[1:29])
	slices.Sort(prev)
	lambda := float64(prev[13]+prev[14]) / 2
	if lambda <= 0 {
		return skipped(CheckAsOfDayRows, warn, block, "no rows on the 28 days before the as-of day")
	}
	n := cur.DayRows[0]
	p := poissonCDF(n, lambda)
	r := Result{Name: CheckAsOfDayRows, Value: float64(n) / lambda, Warn: warn, Block: block, Status: Pass}
	if p < PoissonLevel {
		r = below(CheckAsOfDayRows, r.Value, warn, block, "rows on the as-of day / median of the 28 days before")
	}
	r.Message = fmt.Sprintf("rows on the as-of day %d, median of the 28 days before %.1f (ratio %.3g, Poisson P(N ≤ %d) = %.2g)",
		n, lambda, r.Value, n, p)
	if r.Status != Pass {
		r.Message = r.Status + " below " + fmt.Sprintf("%.3g", map[string]float64{Warn: warn, Block: block}[r.Status]) + ": " + r.Message
	}
	return r
}

// PoissonLevel is the probability below which AsOfDayRows treats a low
// as-of day volume as more than chance.
const PoissonLevel = 0.001

// poissonCDF returns P(N ≤ n) for N ~ Poisson(λ), summed in log space.
func poissonCDF(n int64, lambda float64) float64 {
	if n >= int64(lambda*10+100) {
		return 1
	}
	logTerm := -lambda // log P(N = 0)
	sum := math.Exp(logTerm)
	for k := int64(1); k <= n; k++ {
		logTerm += math.Log(lambda) - math.Log(float64(k))
		sum += math.Exp(logTerm)
	}
	return math.Min(1, sum)
}

// TimeSpan checks that the history's first and last event days moved as a
// growing (or rolling-window) history moves: the first day may move back
// by at most maxDays (late old rows) and forward by at most the as-of
// days elapsed + maxDays (a rolling window); the last day may not move back
// by more than maxDays when the as-of day did not. Value is the largest
// excess in days; block when Value > maxDays. An event_time shifted by a
// year moves both days by 365.
func TimeSpan(last, cur *Feed, maxDays float64) Result {
	if last == nil || cur == nil {
		return skipped(CheckTimeSpan, 0, maxDays, "no feed profile of the last published night")
	}
	lf, ok1 := dayNumber(last.FirstDay)
	ll, ok2 := dayNumber(last.LastDay)
	la, ok3 := dayNumber(last.AsOf)
	ca, ok4 := dayNumber(cur.AsOf)
	if !ok1 || !ok2 || !ok3 || !ok4 {
		return skipped(CheckTimeSpan, 0, maxDays, "the last published night had no rows")
	}
	cf, ok5 := dayNumber(cur.FirstDay)
	cl, ok6 := dayNumber(cur.LastDay)
	if !ok5 || !ok6 {
		r := Result{Name: CheckTimeSpan, Value: math.Inf(1), Block: maxDays, Status: Block,
			Message: fmt.Sprintf("no row on or before the as-of day %s (last published night: %s … %s)", cur.AsOf, last.FirstDay, last.LastDay)}
		if !on(maxDays) {
			r.Status = Pass
		}
		return r
	}
	elapsed := float64(max(ca-la, 0))
	dFirst, dLast := float64(cf-lf), float64(cl-ll)
	excess := math.Max(0, math.Max(-dFirst, dFirst-elapsed))
	if ca >= la {
		excess = math.Max(excess, -dLast)
	}
	var r Result
	if on(maxDays) && excess > maxDays {
		r = Result{Name: CheckTimeSpan, Value: excess, Block: maxDays, Status: Block,
			Message: fmt.Sprintf("history span moved by %.0f days more than allowed (%.0f)", excess, maxDays)}
	} else {
		r = Result{Name: CheckTimeSpan, Value: excess, Block: maxDays, Status: Pass,
			Message: fmt.Sprintf("history span moved by %.0f days more than expected", excess)}
	}
	r.Message += fmt.Sprintf(": %s … %s, last published night %s … %s", cur.FirstDay, cur.LastDay, last.FirstDay, last.LastDay)
	return r
}

// EventMix compares the shares of the event types with the last published
// night's: Value is the total variation distance ½ Σ |tonight − last| over
// the types; warn at ≥ warn, block at ≥ block. Turning every event into a
// visit gives the share of the other types.
func EventMix(last, cur *Feed, warn, block float64) Result {
	if last == nil || cur == nil || last.Rows == 0 || cur.Rows == 0 {
		return skipped(CheckEventMix, warn, block, "no feed profile of the last published night")
	}
	types := map[string]bool{}
	for t := range last.EventTypes {
		types[t] = true
	}
	for t := range cur.EventTypes {
		types[t] = true
	}
	tv := 0.0
	var parts []string
	names := make([]string, 0, len(types))
	for t := range types {
		names = append(names, t)
	}
	sort.Strings(names)
	for _, t := range names {
		a, b := float64(last.EventTypes[t])/float64(last.Rows), float64(cur.EventTypes[t])/float64(cur.Rows)
		tv += math.Abs(b-a) / 2
		if len(parts) < 6 {
			parts = append(parts, fmt.Sprintf("%s %.3f → %.3f", t, a, b))
		}
	}
	r := atLeast(CheckEventMix, tv, warn, block, "event-type shares moved by")
	r.Message += " (" + strings.Join(parts, ", ") + ")"
	return r
}

// AmountPSI compares the amount histogram (AmountEdges) with the last
// published night's: PSI over the bins and the null share; warn at ≥ warn,
// block at ≥ block. The message gives the median amount of both nights.
func AmountPSI(last, cur *Feed, warn, block float64) Result {
	if last == nil || cur == nil || len(last.Amounts) != len(AmountEdges)+1 || len(cur.Amounts) != len(last.Amounts) {
		return skipped(CheckAmountPSI, warn, block, "no feed profile of the last published night")
	}
	e, en := shares(last.Amounts, last.NullAmounts)
	a, an := shares(cur.Amounts, cur.NullAmounts)
	if en == 0 || an == 0 {
		return skipped(CheckAmountPSI, warn, block, "no rows")
	}
	r := atLeast(CheckAmountPSI, PSIShares(e, a), warn, block, "amount PSI")
	r.Message += fmt.Sprintf(" (median amount ≈ %s → %s)", binLabel(median(last.Amounts)), binLabel(median(cur.Amounts)))
	return r
}

// shares returns the counts and null count as fractions of their total,
// and the total.
func shares(counts []int64, nulls int64) ([]float64, int64) {
	total := nulls
	for _, c := range counts {
		total += c
	}
	out := make([]float64, len(counts)+1)
	if total == 0 {
		return out, 0
	}
	for i, c := range counts {
		out[i] = float64(c) / float64(total)
	}
	out[len(counts)] = float64(nulls) / float64(total)
	return out, total
}

// median returns the bin holding the median of a histogram (−1 if empty).
func median(counts []int64) int {
	var total int64
	for _, c := range counts {
		total += c
	}
	if total == 0 {
		return -1
	}
	var run int64
	for i, c := range counts {
		run += c
		if 2*run >= total {
			return i
		}
	}
	return len(counts) - 1
}

func binLabel(i int) string {
	switch {
	case i < 0:
		return "none"
	case i == 0:
		return "< 0"
	case i == 1:
		return "0"
	case i >= len(AmountEdges):
		return fmt.Sprintf("> %.4g", AmountEdges[len(AmountEdges)-1])
	}
	return fmt.Sprintf("%.4g–%.4g", AmountEdges[i-1], AmountEdges[i])
}
