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
	sub    int32   // index in acc.subs of the event's subscription_id
	pend   int32   // period_end day, -1 when not given
	amount float64 // NaN when null
}

type acc struct {
	evs []sev
	// subs are the distinct subscription_id values of the account's
	// subscription events ("" for events without one), in order of appearance.
	subs []string
	Usage
}

// NoUsage is Usage.LastUsage of an account without a usage event.
const NoUsage int32 = -1 << 30

// Usage is an account's usage at the builder's as-of day: the events that
// are neither purchases, returns nor subscription events (IsUsage), by age
// in days (as-of − event day): Visits30 the non-ticket ones younger than
// 30 days, VisitsPrev60 those 30–89 days old, Support30 and Support90 the
// support tickets younger than 30 and 90 days; LastUsage is the day of the
// newest one (NoUsage: none).
type Usage struct {
	Visits30, VisitsPrev60, Support30, Support90 int32
	LastUsage                                    int32
}

// IsUsage says whether an event type counts as usage.
func IsUsage(t string) bool { return usage(t) }

// AddUsage counts one usage event of type t that is age days old (age ≥ 0)
// on day; it is what Builder.Add does with a usage event.
func (u *Usage) AddUsage(t string, age, day int32) {
	switch t {
	case data.EventSupport:
		if age < 30 {
			u.Support30++
		}
		if age < 90 {
			u.Support90++
		}
	default:
		if age < 30 {
			u.Visits30++
		} else if age < 90 {
			u.VisitsPrev60++
		}
	}
	u.LastUsage = max(u.LastUsage, day)
}

// subIndex interns a subscription id.
func (a *acc) subIndex(id string) int32 {
	for k, s := range a.subs {
		if s == id {
			return int32(k)
		}
	}
	a.subs = append(a.subs, strings.Clone(id))
	return int32(len(a.subs) - 1)
}

// Builder accumulates the events of a history up to an as-of day. It is
// not safe for concurrent use.
type Builder struct {
	asOf  int32
	rules Rules
	accs  map[string]*acc
	// Keep, when set, says which customers to follow (a shard worker's
	// own); the events of the others are skipped.
	Keep func(customerID string) bool
	// ExternalUsage makes Add skip the usage events, so that only the
	// accounts with subscription events are followed; FinishUsing then
	// takes their usage from the caller (a feature builder that counts it
	// anyway, see features.WithUsage), instead of every visitor being
	// followed in case they subscribe.
	ExternalUsage bool
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
// event_type and amount, and the optional subscription_id and period_end
// (all looked up by name). Events after the as-of day are ignored.
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
	var subs *array.String
	var ends *array.Timestamp
	if c := col(data.ColSubscriptionID); c != nil {
		if subs, ok1 = c.(*array.String); !ok1 {
			return fmt.Errorf("%w: schema %s", ErrSchema, s)
		}
	}
	if c := col(data.ColPeriodEnd); c != nil {
		if ends, ok1 = c.(*array.Timestamp); !ok1 {
			return fmt.Errorf("%w: schema %s", ErrSchema, s)
		}
	}
	var lastID string // the previous looked-up customer of this record, and its accumulator
	var lastAcc *acc
	for i := 0; i < int(rec.NumRows()); i++ {
		ty := types.Value(i)
		k := kindOf(ty)
		if k == kNone && (b.ExternalUsage || ty == data.EventPurchase || ty == data.EventReturn) {
			continue // purchases and returns never change a subscriber's state: no lookup
		}
		day := data.DayOf(int64(ts.Value(i)))
		if day > b.asOf {
			continue
		}
		id := ids.Value(i)
		var a *acc
		if id == lastID && lastID != "" {
			// Exports list a customer's events together: one map look-up
			// per run of them.
			if a = lastAcc; a == nil {
				continue // a customer of another shard
			}
		} else {
			a = b.accs[id]
			if a == nil && (b.Keep == nil || b.Keep(id)) {
				a = &acc{Usage: Usage{LastUsage: NoUsage}}
				b.accs[strings.Clone(id)] = a
			}
			lastID, lastAcc = id, a
			if a == nil {
				continue
			}
		}
		if k != kNone {
			e := sev{day: day, k: k, pend: -1, amount: nan}
			if amt.IsValid(i) {
				e.amount = amt.Value(i)
			}
			sub := ""
			if subs != nil && subs.IsValid(i) {
				sub = subs.Value(i)
			}
			e.sub = a.subIndex(sub)
			if ends != nil && ends.IsValid(i) {
				e.pend = data.DayOf(int64(ends.Value(i)))
			}
			a.evs = append(a.evs, e)
			continue
		}
		if !usage(ty) {
			continue
		}
		a.AddUsage(ty, b.asOf-day, day)
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
	// Notice: a cancel was given in the current period and not revoked,
	// the spell has not ended yet (paid until its period end).
	Notice bool
	// LeftTruncated: the history begins inside this spell (renew without
	// subscribe), so Renewals undercounts.
	LeftTruncated bool
}

// State is a subscriber's state at the as-of day. For an account with
// several subscriptions (subscription_id) it is the account's state merged
// from theirs (see Subscriptions and package doc); the per-period fields
// (PeriodStart, PeriodEnd, PeriodDays, DaysToPeriodEnd, CancelDay, the
// current spell) are those of the primary subscription: the active one
// renewing next.
type State struct {
	ID     string
	Status string
	// SubscriptionID is the subscription of a per-subscription state, and
	// of the primary subscription in an account's state ("" when the input
	// has no subscription_id).
	SubscriptionID string
	// Subscriptions are the per-subscription states of an account with
	// more than one subscription (nil otherwise), in order of appearance.
	Subscriptions []State
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

	cur int // 1 + index in Spells of the current spell; 0 = the last

	// committed are the [from, to) day intervals in which a spell was paid
	// without notice (to = 1<<31-1 while it still is); exits the days of its
	// cancels and ends. They merge the subscriptions of an account.
	committed [][2]int32
	exits     []int32
}

// Current returns the current spell (the primary subscription's last;
// the last spell when there is one subscription), ok false for a customer
// who never paid.
func (s *State) Current() (Spell, bool) {
	if len(s.Spells) == 0 {
		return Spell{}, false
	}
	if s.cur > 0 && s.cur <= len(s.Spells) {
		return s.Spells[s.cur-1], true
	}
	return s.Spells[len(s.Spells)-1], true
}

// FinishUsing is Finish for a builder with ExternalUsage: usage(id) gives
// each subscriber's usage at the as-of day (false: none).
func (b *Builder) FinishUsing(usage func(id string) (Usage, bool)) []State {
	for id, a := range b.accs {
		if u, ok := usage(id); ok {
			a.Usage = u
		}
	}
	return b.Finish()
}

// Finish returns the states of the contractual customers, sorted by id.
// Customers with usage events only are not contractual and not returned.
func (b *Builder) Finish() []State {
	// Most accounts of a mixed history are buyers with usage only (no
	// subscription event): size the result by the subscribers, not by them.
	n := 0
	for _, a := range b.accs {
		if len(a.evs) > 0 {
			n++
		}
	}
	out := make([]State, 0, n)
	for id, a := range b.accs {
		if len(a.evs) == 0 {
			continue
		}
		out = append(out, b.state(id, a))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// state returns the state of account id: of its one subscription, or its
// subscriptions' states merged (see merge).
func (b *Builder) state(id string, a *acc) State {
	evs := a.evs
	sort.SliceStable(evs, func(i, j int) bool {
		if evs[i].day != evs[j].day {
			return evs[i].day < evs[j].day
		}
		return evs[i].k < evs[j].k
	})
	if len(a.subs) == 1 {
		st := b.subState(id, evs, a)
		st.SubscriptionID = a.subs[0]
		return st
	}
	groups := make([][]sev, len(a.subs))
	for _, e := range evs {
		groups[e.sub] = append(groups[e.sub], e)
	}
	subs := make([]State, len(groups))
	for k, g := range groups {
		subs[k] = b.subState(id, g, a)
		subs[k].SubscriptionID = a.subs[k]
	}
	return b.merge(id, subs, evs[0].day)
}

// statusRank orders the statuses of an account's subscriptions: the
// account takes the best (lowest) one.
func statusRank(s string) int {
	switch s {
	case StatusActive:
		return 0
	case StatusCancelled:
		return 1
	case StatusTrial:
		return 2
	case StatusTrialExpired:
		return 3
	}
	return 4
}

// merge combines the states of an account's subscriptions. The account's
// status is the best of theirs (active > cancelled > trial > trial_expired >
// expired), so a cancel of one subscription does not cancel the account
// while another is active. The primary subscription is, among those with
// that status, the one whose period ends first (for the trial statuses the
// latest trial); the account takes its period, renewal date and current
// spell. Amount is the sum of the recurring amounts of the subscriptions
// with the account's status (active or on notice), else the primary's; plan
// changes and downgrades add up; every spell is kept (each is an
// observation of the retention model). The account exits (LastExit) on a
// cancel or end of a subscription on a day no other subscription is paid
// without notice; it is won back when its current spell began after such
// an exit.
func (b *Builder) merge(id string, subs []State, first int32) State {
	p := 0
	for k := 1; k < len(subs); k++ {
		rk, rp := statusRank(subs[k].Status), statusRank(subs[p].Status)
		switch {
		case rk < rp:
			p = k
		case rk > rp:
		case subs[k].Paid && subs[p].Paid && rk <= 1:
			if subs[k].PeriodEnd < subs[p].PeriodEnd {
				p = k
			}
		case subs[k].TrialStart > subs[p].TrialStart:
			p = k
		}
	}
	st := subs[p]
	st.ID, st.Subscriptions = id, subs
	st.Spells, st.committed, st.exits = nil, nil, nil
	st.PlanChanges, st.Downgrades, st.Paid = 0, 0, false
	amount, nAmount := 0.0, 0
	for k := range subs {
		s := &subs[k]
		if k == p && s.Paid {
			cur := s.cur
			if cur == 0 {
				cur = len(s.Spells)
			}
			st.cur = len(st.Spells) + cur
		}
		st.Spells = append(st.Spells, s.Spells...)
		st.committed = append(st.committed, s.committed...)
		st.PlanChanges += s.PlanChanges
		st.Downgrades += s.Downgrades
		st.Paid = st.Paid || s.Paid
		st.TrialStart = max(st.TrialStart, s.TrialStart)
		if s.Status == st.Status && (s.Status == StatusActive || s.Status == StatusCancelled) {
			amount += s.Amount
			nAmount++
		}
	}
	if nAmount > 0 {
		st.Amount = amount
	}
	st.LastExit = -1
	for k := range subs {
		for _, d := range subs[k].exits {
			if d > st.LastExit && !coveredByOther(subs, k, d) {
				st.LastExit = d
			}
		}
	}
	st.WonBack, st.WonBackDay = false, 0
	if cur, ok := st.Current(); ok && st.LastExit >= 0 && cur.Start >= st.LastExit && statusRank(st.Status) <= 1 {
		st.WonBack, st.WonBackDay = true, cur.Start
	}
	st.TenureDays = b.asOf - first
	return st
}

// coveredByOther reports whether a subscription other than k was paid
// without notice on day d.
func coveredByOther(subs []State, k int, d int32) bool {
	for j := range subs {
		if j == k {
			continue
		}
		for _, iv := range subs[j].committed {
			if iv[0] <= d && d < iv[1] {
				return true
			}
		}
	}
	return false
}

// subState computes the state of one subscription from its events (sorted
// by day, then kind); the usage counts come from the account a.
func (b *Builder) subState(id string, evs []sev, a *acc) State {
	r := b.rules
	st := State{ID: id, TrialStart: -1, CancelDay: -1, LastExit: -1, DaysSinceUsage: -1,
		Visits30: a.Visits30, VisitsPrev60: a.VisitsPrev60, Support30: a.Support30, Support90: a.Support90}
	if a.LastUsage > NoUsage {
		st.DaysSinceUsage = b.asOf - a.LastUsage
	}
	const forever = int32(1<<31 - 1)
	var (
		inSpell   bool  // a spell is open (not ended)
		endDay    int32 = -1
		trialEnd  int32 = -1
		gap       int32      // observed period length of the current spell
		given     int32      // length of the last period with a given period_end, 0 if none
		curEnd    int32 = -1 // the current period's given period_end, -1 = inferred
		first     int32 = evs[0].day
		cancelled bool
		commitAt  int32 = -1 // start of the current committed interval, -1 = none
	)
	periodLen := func() int32 {
		switch {
		case gap > 0:
			return gap
		case given > 0:
			return given
		}
		return r.PeriodDays
	}
	periodEnd := func() int32 {
		if curEnd >= 0 {
			return curEnd
		}
		return st.PeriodStart + periodLen()
	}
	setEnd := func(e sev) {
		if e.pend >= 0 {
			curEnd = e.pend
			if l := e.pend - st.PeriodStart; l > 0 {
				given = l
			}
		}
	}
	commit := func(day int32) {
		if commitAt < 0 {
			commitAt = day
		}
	}
	uncommit := func(day int32) {
		if commitAt >= 0 {
			st.committed = append(st.committed, [2]int32{commitAt, day})
			commitAt = -1
		}
	}
	closeSpell := func(day int32) {
		if inSpell {
			st.Spells[len(st.Spells)-1].Ended = true
			inSpell = false
			endDay = day
			st.LastExit = max(st.LastExit, day)
			st.exits = append(st.exits, day)
			uncommit(day)
		}
	}
	// lapse closes a spell whose period ended without renewal before day.
	lapse := func(day int32) {
		if inSpell {
			pe := periodEnd()
			if cancelled && day >= pe {
				closeSpell(pe)
			} else if !cancelled && day > pe+r.GraceDays {
				closeSpell(pe)
			}
		}
	}
	openSpell := func(day int32, truncated bool) {
		if endDay >= 0 {
			st.WonBack, st.WonBackDay = true, day
		}
		st.Spells = append(st.Spells, Spell{Start: day, LeftTruncated: truncated})
		inSpell, cancelled, gap, given, curEnd = true, false, 0, 0, -1
		st.PeriodStart, st.CancelDay, st.Paid = day, -1, true
		commit(day)
	}
	for _, e := range evs {
		lapse(e.day)
		switch e.k {
		case kTrial:
			st.TrialStart, trialEnd = e.day, e.day+r.TrialDays
			if e.pend >= 0 {
				trialEnd = e.pend
			}
		case kSubscribe:
			if inSpell { // a second subscribe inside a spell: a plan restart
				if e.amount == e.amount && e.amount != st.Amount {
					st.PlanChanges++
					if e.amount < st.Amount {
						st.Downgrades++
					}
				}
			} else {
				openSpell(e.day, false)
			}
			setEnd(e)
			if e.amount == e.amount {
				st.Amount = e.amount
			}
		case kRenew:
			if !inSpell {
				openSpell(e.day, len(st.Spells) == 0 && st.TrialStart < 0)
				if st.Spells[len(st.Spells)-1].LeftTruncated {
					st.WonBack = false
				}
			} else {
				if g := e.day - st.PeriodStart; g > 0 {
					gap = g
				}
				st.Spells[len(st.Spells)-1].Renewals++
				st.PeriodStart, curEnd = e.day, -1
				cancelled, st.CancelDay = false, -1 // a renewal revokes an earlier notice
				commit(e.day)
			}
			setEnd(e)
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
			if inSpell {
				setEnd(e)
			}
		case kCancel:
			if inSpell {
				cancelled, st.CancelDay = true, e.day
				st.LastExit = max(st.LastExit, e.day)
				st.exits = append(st.exits, e.day)
				uncommit(e.day)
				setEnd(e) // "paid until"
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
	uncommit(forever)
	st.TenureDays = b.asOf - first
	if st.Paid {
		st.PeriodEnd = periodEnd()
		st.PeriodDays = max(st.PeriodEnd-st.PeriodStart, 1)
		st.DaysToPeriodEnd = st.PeriodEnd - b.asOf
		if inSpell && cancelled {
			st.Spells[len(st.Spells)-1].Notice = true
		}
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
