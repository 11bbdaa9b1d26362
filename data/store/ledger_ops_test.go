package store

import (
	"context"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestPublishRecordsSuccessInItsTransaction is issue 14 item 5 on every
// backend: the ledger row of the publishing run says succeeded as soon as
// Publish returns, without FinishRun, and a later FinishRun with "failed"
// (an interruption after the commit) does not overwrite it.
func TestPublishRecordsSuccessInItsTransaction(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		s, _, _ := openFresh(t, b, "ledger_ops")
		r := &Run{AsOf: date(2024, 6, 30), RowsRead: 10, Customers: 3}
		require.NoError(t, s.StartRun(ctx, r))
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		recs := customersRecords(mem, syntheticNight(3, 0), 4096)
		ledger := *r
		require.NoError(t, s.Publish(ctx, Publication{RunID: r.ID, AsOf: r.AsOf, Records: recs, Run: &ledger}))
		release(recs)
		mem.AssertSize(t, 0)

		last, ok, err := s.LastRun(ctx, StatusSucceeded)
		require.NoError(t, err)
		require.True(t, ok, "succeeded without FinishRun")
		assert.Equal(t, r.ID, last.ID)
		assert.Equal(t, int64(3), last.Customers)

		r.Status, r.Error = StatusFailed, "context canceled"
		require.NoError(t, s.FinishRun(ctx, r))
		last, ok, err = s.LastRun(ctx, "")
		require.NoError(t, err)
		require.True(t, ok)
		assert.Equal(t, StatusSucceeded, last.Status, "a published night is never marked failed")
		pr, ok, err := s.PublishedRun(ctx)
		require.NoError(t, err)
		require.True(t, ok)
		assert.Equal(t, r.ID, pr.ID)
	})
}
