package synth

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/churnpipe/churnpipe/data"
)

// ContractualConfig describes a synthetic subscription business (the
// contractual setting): trials, paid periods renewed or cancelled with a
// per-subscriber probability θ ~ Beta(Alpha, Beta) at every renewal
// opportunity (the sBG of Fader & Hardie 2007, so the parameters are known),
// plan changes, win-backs, usage (visits, support tickets) whose decline
// precedes a cancellation, and one-off buyers mixed in.
type ContractualConfig struct {
	Customers  int // subscribers and buyers together
	Start, End time.Time
	Seed       uint64
	// Alpha, Beta: the sBG parameters of the cancel probability per period.
	Alpha, Beta float64
	PeriodDays  int // period length; renewals fall every PeriodDays days
	TrialDays   int
	// TrialShare of the subscribers start with a trial; TrialConversion of
	// those subscribe when it ends (the others expire).
	TrialShare, TrialConversion float64
	// BuyerShare of the customers are one-off buyers (purchases and visits
	// only, no subscription event).
	BuyerShare float64
	// WinBack is the probability that an ended subscription is followed by a
	// new one (with a fresh θ) after an exponential wait of mean 60 days.
	WinBack float64
	// PlanChange is the probability of a plan change per period.
	PlanChange float64
	// VisitsPerDay is the mean usage rate of an engaged subscriber (Gamma
	// distributed with shape 2 across subscribers); SupportPerDay the rate of
	// support tickets.
	VisitsPerDay, SupportPerDay float64
	// SignalDays before a cancellation the usage falls to SignalVisits × and
	// the support tickets rise to SignalSupport × their rate.
	SignalDays                  int
	SignalVisits, SignalSupport float64
}

// DefaultContractual returns the documented defaults: monthly periods, sBG
// α = 1.0, β = 6.0 (mean cancel probability 14 % a month), 60 % of the
// subscribers start with a 14-day trial of which 45 % convert, 20 % one-off
// buyers, 20 % win-back, usage falls to 5 % and support tickets rise tenfold 45 days before a cancellation.
func DefaultContractual(customers int, start, end time.Time, seed uint64) ContractualConfig {
	return ContractualConfig{
		Customers: customers, Start: start, End: end, Seed: seed,
		Alpha: 1.0, Beta: 6.0, PeriodDays: 30, TrialDays: 14,
		TrialShare: 0.6, TrialConversion: 0.45, BuyerShare: 0.2, WinBack: 0.2, PlanChange: 0.04,
		VisitsPerDay: 0.4, SupportPerDay: 0.01, SignalDays: 45, SignalVisits: 0.05, SignalSupport: 10,
	}
}

// Validate checks the configuration; errors wrap ErrConfig.
func (c ContractualConfig) Validate() error {
	switch {
	case c.Customers <= 0:
		return fmt.Errorf("%w: customers %d", ErrConfig, c.Customers)
	case !c.End.After(c.Start):
		return fmt.Errorf("%w: end %s not after start %s", ErrConfig, c.End.Format(time.DateOnly), c.Start.Format(time.DateOnly))
	case !(c.Alpha > 0) || !(c.Beta > 0):
		return fmt.Errorf("%w: sBG alpha %g, beta %g must be positive", ErrConfig, c.Alpha, c.Beta)
	case c.PeriodDays <= 0 || c.TrialDays <= 0 || c.SignalDays < 0:
		return fmt.Errorf("%w: period_days, trial_days must be positive", ErrConfig)
	}
	for _, p := range []float64{c.TrialShare, c.TrialConversion, c.BuyerShare, c.WinBack, c.PlanChange} {
		if !(p >= 0 && p <= 1) {
			return fmt.Errorf("%w: shares and probabilities must be in [0, 1]: %+v", ErrConfig, c)
		}
	}
	return nil
}

// ContractualStats counts what GenerateContractual emitted. Spells lists
// every paid subscription's first-spell outcome at the end day: renewals
// taken and whether it ended (for recovering Alpha and Beta).
type ContractualStats struct {
	Customers, Subscribers, Buyers, Trials, Events int64
	Cancels, Renewals, WinBacks                    int64
}

type cev struct {
	day    int32
	typ    string
	amount float64
	ms     int32 // time of day; usage events at a random second, subscription events at 08:00
}

// GenerateContractual streams the history as records with
// data.EventSchema, one record per 1,000 customers in customer order
// (subscribers "S…", buyers "B…"). emit must not Release the record.
// Deterministic for a given configuration.
func GenerateContractual(ctx context.Context, c ContractualConfig, alloc memory.Allocator, emit func(arrow.RecordBatch) error) (ContractualStats, error) {
	var st ContractualStats
	if err := c.Validate(); err != nil {
		return st, err
	}
	if alloc == nil {
		alloc = memory.DefaultAllocator
	}
	first := data.DayOf(c.Start.UTC().UnixMilli())
	last := data.DayOf(c.End.UTC().UnixMilli())
	b := array.NewRecordBuilder(alloc, data.EventSchema)
	defer b.Release()
	var evs []cev
	flush := func() error {
		rec := b.NewRecordBatch()
		defer rec.Release()
		if rec.NumRows() == 0 {
			return nil
		}
		return emit(rec)
	}
	for i := 0; i < c.Customers; i++ {
		if err := ctx.Err(); err != nil {
			return st, err
		}
		s1, s2 := streamSeeds(c.Seed^0x5b6c, uint64(i))
		r := rand.New(rand.NewPCG(s1, s2))
		evs = evs[:0]
		var id string
		if r.Float64() < c.BuyerShare {
			id = fmt.Sprintf("B%07d", i)
			evs = c.buyer(r, evs, first, last)
			st.Buyers++
		} else {
			id = fmt.Sprintf("S%07d", i)
			var cs ContractualStats
			evs = c.subscriber(r, evs, first, last, &cs)
			st.Subscribers++
			st.Trials += cs.Trials
			st.Cancels += cs.Cancels
			st.Renewals += cs.Renewals
			st.WinBacks += cs.WinBacks
		}
		st.Customers++
		sort.SliceStable(evs, func(a, b int) bool {
			if evs[a].day != evs[b].day {
				return evs[a].day < evs[b].day
			}
			return evs[a].ms < evs[b].ms
		})
		for _, e := range evs {
			b.Field(0).(*array.StringBuilder).Append(id)
			ms := int64(e.ms)
			if ms == 0 {
				ms = 8 * 3_600_000
			}
			b.Field(1).(*array.TimestampBuilder).Append(arrow.Timestamp(int64(e.day)*data.MillisPerDay + ms))
			b.Field(2).(*array.StringBuilder).Append(e.typ)
			if math.IsNaN(e.amount) {
				b.Field(3).AppendNull()
			} else {
				b.Field(3).(*array.Float64Builder).Append(e.amount)
			}
		}
		st.Events += int64(len(evs))
		if (i+1)%1000 == 0 {
			if err := flush(); err != nil {
				return st, err
			}
		}
	}
	return st, flush()
}

var plans = []float64{9.99, 19.99, 49.99}

// buyer simulates a one-off buyer as a BG/NBD customer: first purchase on
// a uniform day, then purchases at rate λ ~ Gamma(0.8, 40 days) until they
// drop out, with probability p ~ Beta(1, 3) after each purchase.
func (c ContractualConfig) buyer(r *rand.Rand, evs []cev, first, last int32) []cev {
	span := int(last - first + 1)
	lambda := gammaRate(r, 0.8, 40)
	p := beta(r, 1, 3)
	t := float64(first) + float64(r.IntN(span))
	for t <= float64(last) {
		d := int32(t)
		evs = append(evs, cev{d, data.EventPurchase, round2(10 + 60*r.Float64()), 1 + int32(r.IntN(data.MillisPerDay-1))})
		if r.Float64() < 0.5 {
			evs = append(evs, cev{d, data.EventVisit, math.NaN(), 1 + int32(r.IntN(data.MillisPerDay-1))})
		}
		if r.Float64() < p {
			break
		}
		t += 1 + r.ExpFloat64()/lambda
	}
	return evs
}

// subscriber simulates one subscriber: optional trial, then paid spells.
func (c ContractualConfig) subscriber(r *rand.Rand, evs []cev, first, last int32, st *ContractualStats) []cev {
	span := int(last - first + 1)
	join := first + int32(r.IntN(span))
	rate := c.VisitsPerDay * gammaRate(r, 2, 2)
	day := join
	nan := math.NaN()
	if r.Float64() < c.TrialShare {
		st.Trials++
		evs = append(evs, cev{join, "trial_start", nan, 0})
		end := join + int32(c.TrialDays)
		evs = c.usage(r, evs, join, min(end, last+1), rate, -1)
		if r.Float64() >= c.TrialConversion {
			if end <= last && r.Float64() < 0.8 {
				evs = append(evs, cev{end, "expire", nan, 0})
			}
			return evs
		}
		day = end
	}
	for day <= last {
		theta := beta(r, c.Alpha, c.Beta)
		amount := plans[r.IntN(len(plans))]
		evs = append(evs, cev{day, "subscribe", amount, 0})
		start := day
		// Renewal opportunity k falls at start + k·PeriodDays; the lifetime
		// T (periods paid) is drawn first so that the usage signal can
		// precede the cancel notice across period boundaries.
		T := geometric(r, theta)
		pe := start
		for k := 1; ; k++ {
			pe = start + int32(k*c.PeriodDays)
			if k == T || pe > last {
				break
			}
			evs = append(evs, cev{pe, "renew", math.NaN(), 0})
			if r.Float64() < c.PlanChange {
				amount = plans[r.IntN(len(plans))]
				evs = append(evs, cev{pe, "plan_change", amount, 0})
			}
			st.Renewals++
		}
		signal, usageEnd := int32(-1), min(pe, last+1)
		if pe-start == int32(T*c.PeriodDays) { // ends at pe: notice within the last period
			notice := pe - 1 - int32(r.IntN(max(1, c.PeriodDays-2)))
			signal = notice - int32(c.SignalDays)
			usageEnd = min(notice, last+1)
			if notice <= last {
				evs = append(evs, cev{notice, "cancel", nan, 0})
				st.Cancels++
			}
			if pe <= last {
				evs = append(evs, cev{pe, "expire", nan, 0})
			}
		}
		evs = c.usage(r, evs, start, usageEnd, rate, signal)
		day = pe
		if day > last || r.Float64() >= c.WinBack {
			break
		}
		day += int32(1 + r.ExpFloat64()*60)
		if day <= last {
			st.WinBacks++
		}
	}
	return evs
}

// usage emits visits and support tickets on the days [from, to); from day
// signal on (when ≥ 0) the visit rate falls and the support rate rises.
// The signal can begin before from: the usage of the whole period is then
// affected.
func (c ContractualConfig) usage(r *rand.Rand, evs []cev, from, to int32, rate float64, signal int32) []cev {
	for d := from; d < to; d++ {
		v, s := rate, c.SupportPerDay
		if signal >= 0 && d >= signal {
			v *= c.SignalVisits
			s *= c.SignalSupport
		}
		for range poisson(r, v) {
			evs = append(evs, cev{d, data.EventVisit, math.NaN(), 1 + int32(r.IntN(data.MillisPerDay-1))})
		}
		if r.Float64() < s {
			evs = append(evs, cev{d, data.EventSupport, math.NaN(), 1 + int32(r.IntN(data.MillisPerDay-1))})
		}
	}
	return evs
}
