package features_test

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/churnpipe/churnpipe/data/synth"
	"github.com/churnpipe/churnpipe/features"
	"github.com/churnpipe/churnpipe/features/subscription"
)

// TestUsageMatchesSubscriptionBuilder: the subscriber states computed with
// the feature builder's usage counts (WithUsage, subscription's
// ExternalUsage + FinishUsing) equal those of a subscription builder that
// follows every customer's usage itself, at the as-of day and 30 days
// before it, on the synthetic contractual history (subscribers, buyers,
// visits and tickets), in time order and shuffled, with two workers.
func TestUsageMatchesSubscriptionBuilder(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	start, end := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2025, 12, 31, 0, 0, 0, 0, time.UTC)
	var recs []arrow.RecordBatch
	_, err := synth.GenerateContractual(context.Background(), synth.DefaultContractual(1500, start, end, 7), mem,
		func(r arrow.RecordBatch) error { r.Retain(); recs = append(recs, r); return nil })
	require.NoError(t, err)
	defer release(recs)
	rand.New(rand.NewPCG(8, 9)).Shuffle(len(recs), func(i, j int) { recs[i], recs[j] = recs[j], recs[i] })
	asOf := time.Date(2025, 9, 30, 0, 0, 0, 0, time.UTC)
	days := []time.Time{asOf, asOf.AddDate(0, 0, -30)}

	feat, b := build(t, mem, asOf, recs, features.WithUsage(days...), features.WithWorkers(2))
	feat.Release()
	ut := b.Usage()
	require.NotNil(t, ut)
	require.Greater(t, len(ut.IDs), 1000)
	for j, day := range days {
		own, err := subscription.NewBuilder(day, subscription.Rules{})
		require.NoError(t, err)
		ext, err := subscription.NewBuilder(day, subscription.Rules{})
		require.NoError(t, err)
		ext.ExternalUsage = true
		for _, r := range recs {
			require.NoError(t, own.Add(r))
			require.NoError(t, ext.Add(r))
		}
		want, got := own.Finish(), ext.FinishUsing(ut.At(j))
		require.Greater(t, len(want), 200, "subscribers at %s", day.Format(time.DateOnly))
		withUsage := 0
		for _, s := range want {
			if s.DaysSinceUsage >= 0 {
				withUsage++
			}
		}
		require.Greater(t, withUsage, 100, "subscribers with usage")
		assert.Equal(t, want, got, "states at %s", day.Format(time.DateOnly))
	}

	_, err = features.NewBuilderErr(asOf, features.WithUsage(asOf.AddDate(0, 0, 1)))
	assert.ErrorIs(t, err, features.ErrOption, "a usage day after the as-of day")
	empty, nb := build(t, mem, asOf, nil)
	empty.Release()
	assert.Nil(t, nb.Usage(), "without the option")
}
