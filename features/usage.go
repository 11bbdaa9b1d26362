package features

import (
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/churnpipe/churnpipe/data"
	"github.com/churnpipe/churnpipe/features/subscription"
)

// UsageTable is, for every customer with a usage event (subscription.IsUsage:
// neither a purchase, a return nor a subscription event) on or before a
// usage day, its subscription.Usage at each of the builder's usage days
// (WithUsage): what a subscription.Builder at that day counts, so that the
// subscriber states need not follow every visitor themselves
// (subscription.Builder.ExternalUsage).
type UsageTable struct {
	Days  []int32                // the usage days (UTC day numbers)
	IDs   []string               // customers with usage, in customer_id order
	ByDay [][]subscription.Usage // ByDay[j][i]: customer IDs[i] at Days[j]
}

// WithUsage makes the builder count its customers' usage at each of days
// (each on or before the as-of day; at most 4), returned by Builder.Usage
// after Finish.
func WithUsage(days ...time.Time) Option {
	return func(b *Builder) error {
		if len(days) == 0 || len(days) > 4 {
			return fmt.Errorf("%w: %d usage days (want 1 … 4)", ErrOption, len(days))
		}
		for _, t := range days {
			d := data.DayOf(t.UnixMilli())
			if d > b.asOf {
				return fmt.Errorf("%w: usage day %s is after the as-of day", ErrOption, t.UTC().Format(time.DateOnly))
			}
			b.useDays = append(b.useDays, d)
		}
		return nil
	}
}

// Usage returns the usage table of WithUsage once Finish has run, nil
// without the option. It panics when called before Finish.
func (b *Builder) Usage() *UsageTable {
	if !b.finished {
		panic("features: Builder.Usage called before Finish")
	}
	return b.usage
}

// add appends customer id's entries if it has usage at any day.
func (t *UsageTable) add(id string, us []subscription.Usage) {
	if !slices.ContainsFunc(us, func(u subscription.Usage) bool { return u.LastUsage != subscription.NoUsage }) {
		return
	}
	t.IDs = append(t.IDs, id)
	for j, u := range us {
		t.ByDay[j] = append(t.ByDay[j], u)
	}
}

// At returns the look-up of the usage at Days[j] for
// subscription.Builder.FinishUsing.
func (t *UsageTable) At(j int) func(id string) (subscription.Usage, bool) {
	return func(id string) (subscription.Usage, bool) {
		i := sort.SearchStrings(t.IDs, id)
		if i == len(t.IDs) || t.IDs[i] != id {
			return subscription.Usage{}, false
		}
		u := t.ByDay[j][i]
		return u, u.LastUsage != subscription.NoUsage
	}
}
