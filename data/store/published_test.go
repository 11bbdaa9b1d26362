package store

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// PublishedRun is the run whose night the current table holds: not a
// later blocked or dry run, and none before the first publication.
func TestPublishedRun(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		s, _, _ := openFresh(t, b, "")
		_, ok, err := s.PublishedRun(ctx)
		require.NoError(t, err)
		assert.False(t, ok, "nothing published yet")

		asOf := date(2024, 6, 30)
		pub := &Run{AsOf: asOf, RowsRead: 1000, Details: map[string]any{"profile": map[string]any{"feed": "x"}}}
		require.NoError(t, s.StartRun(ctx, pub))
		publishNight(t, s, asOf, pub.ID, syntheticNight(30, 0))
		pub.Status, pub.Customers = StatusSucceeded, 30
		require.NoError(t, s.FinishRun(ctx, pub))
		time.Sleep(2 * time.Millisecond)
		for _, status := range []string{StatusBlocked, StatusSucceeded} { // a blocked night, then a dry run
			r := &Run{AsOf: asOf.AddDate(0, 0, 1), RowsRead: 5}
			require.NoError(t, s.StartRun(ctx, r))
			r.Status = status
			require.NoError(t, s.FinishRun(ctx, r))
			time.Sleep(2 * time.Millisecond)
		}
		got, ok, err := s.PublishedRun(ctx)
		require.NoError(t, err)
		require.True(t, ok)
		assert.Equal(t, pub.ID, got.ID)
		assert.Equal(t, int64(1000), got.RowsRead)
		assert.Equal(t, int64(30), got.Customers)
		assert.Equal(t, asOf, got.AsOf)
		assert.Equal(t, map[string]any{"profile": map[string]any{"feed": "x"}}, got.Details)
		last, _, err := s.LastRun(ctx, StatusSucceeded)
		require.NoError(t, err)
		assert.NotEqual(t, pub.ID, last.ID, "LastRun sees the dry run; PublishedRun does not")
	})
}
