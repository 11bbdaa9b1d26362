package subscription

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/churnpipe/churnpipe/data"
)

// Subscription event types.
const (
	EventTrialStart = "trial_start"
	EventSubscribe  = "subscribe"
	EventRenew      = "renew"
	EventPlanChange = "plan_change"
	EventCancel     = "cancel"
	EventExpire     = "expire"
)

// Subscription statuses (the subscription_status column).
const (
	StatusTrial        = "trial"
	StatusTrialExpired = "trial_expired"
	StatusActive       = "active"
	StatusCancelled    = "cancelled" // notice given, paid until period end
	StatusExpired      = "expired"   // ended (after notice, an expire event, or a lapse)
)

// kind orders the subscription events of one day.
type kind uint8

const (
	kTrial kind = iota
	kSubscribe
	kRenew
	kPlan
	kCancel
	kExpire
	kNone
)

func kindOf(t string) kind {
	switch t {
	case EventTrialStart:
		return kTrial
	case EventSubscribe:
		return kSubscribe
	case EventRenew:
		return kRenew
	case EventPlanChange:
		return kPlan
	case EventCancel:
		return kCancel
	case EventExpire:
		return kExpire
	}
	return kNone
}

// IsSubscriptionEvent reports whether t is one of the six subscription event types.
func IsSubscriptionEvent(t string) bool { return kindOf(t) != kNone }

type sev struct {
	day    int32
	k      kind
	amount float64 // NaN when null
}

type acc struct {
	evs                                          []sev
	visits30, visitsPrev60, support30, support90 int32
	lastUsage                                    int32
}

// Builder accumulates the events of a history up to an as-of day. It is
// not safe for concurrent use.
type Builder struct {
	asOf  int32
	rules Rules
	accs  map[string]*acc
}

// NewBuilder returns a builder for the as-of day asOf (UTC, inclusive).
func NewBuilder(asOf time.Time, r Rules) (*Builder, error) {
	r = r.WithDefaults()
	if err := r.Validate(); err != nil {
		return nil, err
	}
	return &Builder{asOf: data.DayOf(asOf.UTC().UnixMilli()), rules: r, accs: map[string]*acc{}}, nil
}

// ErrSchema: a record without the canonical columns.
var ErrSchema = errors.New("subscription: record is not a canonical event record")

// Add folds a record with the canonical columns customer_id, event_time,
// event_type and amount (looked up by name). Events after the as-of day are
// ignored.
func (b *Builder) Add(rec arrow.RecordBatch) error {
	s := rec.Schema()
	col := func(name string) arrow.Array {
		if is := s.FieldIndices(name); len(is) == 1 {
			return rec.Column(is[0])
		}
		return nil
	}
	ids, ok1 := col(data.ColCustomerID).(*array.String)
	ts, ok2 := col(data.ColEventTime).(*array.Timestamp)
	types, ok3 := col(data.ColEventType).(*array.String)
	amt, ok4 := col(data.ColAmount).(*array.Float64)
	if !ok1 || !ok2 || !ok3 || !ok4 {
		return fmt.Errorf("%w: schema %s", ErrSchema, s)
	}
	for i := 0; i < int(rec.NumRows()); i++ {
		day := data.DayOf(int64(ts.Value(i)))
		if day > b.asOf {
			continue
		}
		ty := types.Value(i)
		k := kindOf(ty)
		id := ids.Value(i)
		a := b.accs[id]
		if a == nil {
			if k == kNone && !usage(ty) {
				continue // purchases of non-subscribers are not needed here
			}
			a = &acc{lastUsage: -1 << 30}
			b.accs[strings.Clone(id)] = a
		}
		if k != kNone {
			v := nan
			if amt.IsValid(i) {
				v = amt.Value(i)
			}
			a.evs = append(a.evs, sev{day, k, v})
			continue
		}
		if !usage(ty) {
			continue
		}
		age := b.asOf - day
		switch ty {
		case data.EventSupport:
			if age < 30 {
				a.support30++
			}
			if age < 90 {
				a.support90++
			}
		default:
			if age < 30 {
				a.visits30++
			} else if age < 90 {
				a.visitsPrev60++
			}
		}
		a.lastUsage = max(a.lastUsage, day)
	}
	return nil
}

// usage says whether an event type counts as usage (anything but
// purchases, returns and subscription events).
func usage(t string) bool {
	return t != data.EventPurchase && t != data.EventReturn && kindOf(t) == kNone
}

// Spell is one paid subscription of a customer, from subscribe (or the
// first renew of a left-truncated history) to its end or the as-of day.
type Spell struct {
	Start    int32
	Renewals int  // renewal opportunities taken
	Ended    bool // cancelled or expired: the renewal after Renewals was not taken
	// LeftTruncated: the history begins inside this spell (renew without
	// subscribe), so Renewals undercounts.
	LeftTruncated bool
}

// State is a subscriber's state at the as-of day.
type State struct {
	ID     string
	Status string
	// TrialStart is the day of the last trial_start, -1 if none.
	TrialStart int32
	// Paid: at least one paid spell.
	Paid bool
	// Spells in time order; the last one is current unless Status is a trial status.
	Spells []Spell
	// PeriodStart and PeriodEnd of the current (last) paid period; PeriodEnd
	// is the renewal date. Valid when Paid.
	PeriodStart, PeriodEnd int32
	PeriodDays             int32
	DaysToPeriodEnd        int32
	// Amount is the current recurring revenue per period (subscribe or the
	// last plan_change / priced renew).
	Amount                  float64
	PlanChanges, Downgrades int
	// WonBack: the current spell began after an earlier spell ended; WonBackDay its start.
	WonBack    bool
	WonBackDay int32
	// CancelDay is the day of the cancel of the current spell, -1 if none.
	CancelDay int32
	// LastExit is the last day a paid spell was cancelled or ended (cancel,
	// expire, or the period end of a lapse), -1 if never.
	LastExit int32
	// Usage counts: visits (any usage event but support) in the last 30
	// days and in the 60 days before, support tickets in the last 30 and 90.
	Visits30, VisitsPrev60, Support30, Support90 int32
	// DaysSinceUsage is -1 when there was no usage event.
	DaysSinceUsage int32
	TenureDays     int32 // since the start of the first spell (or trial)
}

// Current returns the current spell (the last), ok false for a customer who never paid.
func (s *State) Current() (Spell, bool) {
	if len(s.Spells) == 0 {
		return Spell{}, false
	}
	return s.Spells[len(s.Spells)-1], true
}

// Finish returns the states of the contractual customers, sorted by id.
// Customers with usage events only are not contractual and not returned.
func (b *Builder) Finish() []State {
	out := make([]State, 0, len(b.accs))
	for id, a := range b.accs {
		if len(a.evs) == 0 {
			continue
		}
		out = append(out, b.state(id, a))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func (b *Builder) state(id string, a *acc) State {
	r := b.rules
	evs := a.evs
	sort.SliceStable(evs, func(i, j int) bool {
		if evs[i].day != evs[j].day {
			return evs[i].day < evs[j].day
		}
		return evs[i].k < evs[j].k
	})
	st := State{ID: id, TrialStart: -1, CancelDay: -1, LastExit: -1, DaysSinceUsage: -1,
		Visits30: a.visits30, VisitsPrev60: a.visitsPrev60, Support30: a.support30, Support90: a.support90}
	if a.lastUsage > -1<<30 {
		st.DaysSinceUsage = b.asOf - a.lastUsage
	}
	var (
		inSpell   bool  // a spell is open (not ended)
		endDay    int32 = -1
		trialEnd  int32 = -1
		gap       int32 // observed period length of the current spell
		first     int32 = evs[0].day
		cancelled bool
	)
	periodLen := func() int32 {
		if gap > 0 {
			return gap
		}
		return r.PeriodDays
	}
	closeSpell := func(day int32) {
		if inSpell {
			st.Spells[len(st.Spells)-1].Ended = true
			inSpell = false
			endDay = day
			st.LastExit = max(st.LastExit, day)
		}
	}
	// lapse closes a spell whose period ended without renewal before day.
	lapse := func(day int32) {
		if inSpell {
			pe := st.PeriodStart + periodLen()
			if cancelled && day >= pe {
				closeSpell(pe)
			} else if !cancelled && day > pe+r.GraceDays {
				closeSpell(pe)
			}
		}
	}
	open := func(day int32, truncated bool) {
		if endDay >= 0 {
			st.WonBack, st.WonBackDay = true, day
		}
		st.Spells = append(st.Spells, Spell{Start: day, LeftTruncated: truncated})
		inSpell, cancelled, gap = true, false, 0
		st.PeriodStart, st.CancelDay, st.Paid = day, -1, true
	}
	for _, e := range evs {
		lapse(e.day)
		switch e.k {
		case kTrial:
			st.TrialStart, trialEnd = e.day, e.day+r.TrialDays
		case kSubscribe:
			if inSpell { // a second subscribe inside a spell: a plan restart
				if e.amount == e.amount && e.amount != st.Amount {
					st.PlanChanges++
					if e.amount < st.Amount {
						st.Downgrades++
					}
				}
			} else {
				open(e.day, false)
			}
			if e.amount == e.amount {
				st.Amount = e.amount
			}
		case kRenew:
			if !inSpell {
				open(e.day, len(st.Spells) == 0 && st.TrialStart < 0)
				if st.Spells[len(st.Spells)-1].LeftTruncated {
					st.WonBack = false
				}
			} else {
				if g := e.day - st.PeriodStart; g > 0 {
					gap = g
				}
				st.Spells[len(st.Spells)-1].Renewals++
				st.PeriodStart = e.day
				cancelled, st.CancelDay = false, -1 // a renewal revokes an earlier notice
			}
			if e.amount == e.amount && e.amount > 0 {
				st.Amount = e.amount
			}
		case kPlan:
			if e.amount == e.amount {
				if e.amount < st.Amount {
					st.Downgrades++
				}
				st.Amount = e.amount
			}
			st.PlanChanges++
		case kCancel:
			if inSpell {
				cancelled, st.CancelDay = true, e.day
				st.LastExit = max(st.LastExit, e.day)
			} else if trialEnd >= 0 && e.day < trialEnd {
				trialEnd = e.day
			}
		case kExpire:
			if inSpell {
				closeSpell(e.day)
			} else if trialEnd >= 0 && e.day < trialEnd {
				trialEnd = e.day
			}
		}
	}
	lapse(b.asOf + 1)
	st.TenureDays = b.asOf - first
	if st.Paid {
		st.PeriodDays = periodLen()
		st.PeriodEnd = st.PeriodStart + st.PeriodDays
		st.DaysToPeriodEnd = st.PeriodEnd - b.asOf
	}
	trialLater := st.TrialStart >= 0 && (!st.Paid || (!inSpell && st.TrialStart >= endDay))
	switch {
	case trialLater && b.asOf < trialEnd:
		st.Status = StatusTrial
	case trialLater:
		st.Status = StatusTrialExpired
	case !st.Paid:
		// cancel/expire/plan_change without any paid or trial event
		st.Status = StatusExpired
	case !inSpell:
		st.Status = StatusExpired
	case cancelled:
		st.Status = StatusCancelled
	default:
		st.Status = StatusActive
	}
	return st
}

var nan = func() float64 { var z float64; return z / z }()
