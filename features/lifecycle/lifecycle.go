package lifecycle

import (
	"errors"
	"fmt"
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/churnpipe/churnpipe/features"
)

// Stage is a lifecycle stage code, stable across releases: the CRM stores it.
type Stage string

// The stage codes, in rule order.
const (
	Prospect    Stage = "prospect"
	Churned     Stage = "churned"
	Dormant     Stage = "dormant"
	Reactivated Stage = "reactivated"
	New         Stage = "new"
	Declining   Stage = "declining"
	Mature      Stage = "mature"
	Growing     Stage = "growing"
)

// Label is the human-readable description of a stage code.
type Label struct {
	Code    Stage
	English string
	Chinese string
	Action  string // what CRM practice recommends for customers in the stage
}

// Labels returns every stage with its English and Chinese label, in rule
// order. It is the content of the stage_labels table.
func Labels() []Label {
	return []Label{
		{Prospect, "Prospect (acquisition)", "获客期（潜在客户）", "convert: first-purchase offer"},
		{Churned, "Churned", "流失", "win back or let go; exclude from costly campaigns"},
		{Dormant, "Dormant", "沉睡", "wake up: reminder with incentive"},
		{Reactivated, "Reactivated", "回流", "re-onboard: confirm the renewed habit"},
		{New, "New", "新客", "onboard: second-purchase nudge"},
		{Declining, "Declining", "衰退期", "warn: churn-prevention contact before it is too late"},
		{Mature, "Mature", "成熟期", "retain: loyalty programme, cross-sell"},
		{Growing, "Growing", "成长期", "develop: up-sell, increase frequency"},
	}
}

// Valid reports whether s is a documented stage code.
func Valid(s Stage) bool {
	for _, l := range Labels() {
		if l.Code == s {
			return true
		}
	}
	return false
}

// Rules are the thresholds of the stage rules. Days are calendar days.
type Rules struct {
	ChurnDays              int32   // churned: days since last purchase > ChurnDays
	DormantDays            int32   // dormant: days since last purchase > DormantDays
	RecentDays             int32   // reactivated: last purchase within RecentDays …
	ReactivationGapDays    int32   // … after a gap > ReactivationGapDays
	NewDays                int32   // new: first purchase within NewDays
	DeclineMonths          int     // declining: this many recent full months …
	DeclineRatio           float64 // … each below DeclineRatio × earlier monthly mean
	MinDeclineTenureMonths int32   // declining needs this many full months of tenure
	MatureTenureDays       int32   // mature: tenure ≥ MatureTenureDays …
	MaturePurchaseDays365  int32   // … and ≥ this many purchase days in the last 365
}

// DefaultRules returns the documented default thresholds.
func DefaultRules() Rules {
	return Rules{
		ChurnDays: 180, DormantDays: 90, RecentDays: 90, ReactivationGapDays: 180, NewDays: 90,
		DeclineMonths: 3, DeclineRatio: 0.8, MinDeclineTenureMonths: 6,
		MatureTenureDays: 365, MaturePurchaseDays365: 4,
	}
}

// ErrRules is returned by Validate for inconsistent thresholds.
var ErrRules = errors.New("lifecycle: invalid rules")

// Validate checks that the thresholds are usable.
func (r Rules) Validate() error {
	switch {
	case r.DormantDays <= 0 || r.ChurnDays <= r.DormantDays:
		return fmt.Errorf("%w: need 0 < dormant_days (%d) < churn_days (%d)", ErrRules, r.DormantDays, r.ChurnDays)
	case r.RecentDays <= 0 || r.NewDays <= 0 || r.ReactivationGapDays <= 0:
		return fmt.Errorf("%w: recent_days, new_days and reactivation_gap_days must be positive", ErrRules)
	case r.DeclineMonths < 1 || r.DeclineMonths > features.ActivityMonths:
		return fmt.Errorf("%w: decline_months %d must be in 1..%d", ErrRules, r.DeclineMonths, features.ActivityMonths)
	case !(r.DeclineRatio > 0 && r.DeclineRatio <= 1):
		return fmt.Errorf("%w: decline_ratio %g must be in (0, 1]", ErrRules, r.DeclineRatio)
	case r.DeclineMonths != 3:
		// The feature table carries the earlier mean for the standard 3-month window.
		return fmt.Errorf("%w: decline_months must be 3 (the feature table's activity_earlier_mean window)", ErrRules)
	}
	return nil
}

// Customer is the part of a feature row the rules read.
type Customer struct {
	Buyer                 bool  // at least one purchase
	DaysSinceLastPurchase int32 // valid when Buyer
	DaysSinceFirst        int32 // tenure in days; valid when Buyer
	GapBeforeRecent       int32 // gap before the first purchase day in the last 90 days; -1 if none
	PurchaseDays365       int32
	TenureMonths          int32
	Activity              [features.ActivityMonths]int32 // m1 … m12
	EarlierMean           float64                        // NaN when undefined
}

// Stage applies the rules to one customer.
func (r Rules) Stage(c Customer) Stage {
	switch {
	case !c.Buyer:
		return Prospect
	case c.DaysSinceLastPurchase > r.ChurnDays:
		return Churned
	case c.DaysSinceLastPurchase > r.DormantDays:
		return Dormant
	case c.DaysSinceLastPurchase < r.RecentDays && c.GapBeforeRecent > r.ReactivationGapDays:
		return Reactivated
	case c.DaysSinceFirst < r.NewDays:
		return New
	case r.declining(c):
		return Declining
	case c.DaysSinceFirst >= r.MatureTenureDays && c.PurchaseDays365 >= r.MaturePurchaseDays365:
		return Mature
	default:
		return Growing
	}
}

func (r Rules) declining(c Customer) bool {
	if c.TenureMonths < r.MinDeclineTenureMonths || !(c.EarlierMean > 0) {
		return false
	}
	limit := r.DeclineRatio * c.EarlierMean
	for k := 0; k < r.DeclineMonths; k++ {
		if float64(c.Activity[k]) >= limit {
			return false
		}
	}
	return true
}

// Assign returns the stage of every row of a feature table (features.Schema).
func (r Rules) Assign(rec arrow.RecordBatch) ([]Stage, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	col := func(name string) (arrow.Array, error) {
		is := rec.Schema().FieldIndices(name)
		if len(is) != 1 {
			return nil, fmt.Errorf("lifecycle: feature table has no column %q", name)
		}
		return rec.Column(is[0]), nil
	}
	var err error
	get32 := func(name string) *array.Int32 {
		if err != nil {
			return nil
		}
		var a arrow.Array
		a, err = col(name)
		if err != nil {
			return nil
		}
		return a.(*array.Int32)
	}
	since, tenure, gbr := get32(features.ColDaysSinceLastPurchase), get32(features.ColTenureDays), get32(features.ColGapBeforeRecentDays)
	pd365, tmon := get32(features.ColPurchaseDays365), get32(features.ColTenureMonths)
	var act [features.ActivityMonths]*array.Int32
	for k := range act {
		act[k] = get32(features.ActivityCol(k + 1))
	}
	if err != nil {
		return nil, err
	}
	em, err := col(features.ColActivityEarlierMean)
	if err != nil {
		return nil, err
	}
	earlier := em.(*array.Float64)

	out := make([]Stage, rec.NumRows())
	for i := range out {
		c := Customer{Buyer: since.IsValid(i), GapBeforeRecent: -1, EarlierMean: nanIfNull(earlier, i)}
		if c.Buyer {
			c.DaysSinceLastPurchase = since.Value(i)
			c.DaysSinceFirst = tenure.Value(i)
			c.PurchaseDays365 = pd365.Value(i)
			c.TenureMonths = tmon.Value(i)
			if gbr.IsValid(i) {
				c.GapBeforeRecent = gbr.Value(i)
			}
		}
		for k := range act {
			c.Activity[k] = act[k].Value(i)
		}
		out[i] = r.Stage(c)
	}
	return out, nil
}

func nanIfNull(a *array.Float64, i int) float64 {
	if a.IsNull(i) {
		return math.NaN()
	}
	return a.Value(i)
}
