package subscription

import (
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestStateJSONRoundTrip: a state written and read back (what a sharded
// night's finalize step reads from its workers) scores the same: every
// exported field, the current spell of accounts with several subscriptions
// and of their subscriptions, and a missing amount (NaN).
func TestStateJSONRoundTrip(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	n := math.NaN()
	evs := []sev2{
		// The current spell of the account is S1's (renewing next), not its last (S2's).
		{"two", "2025-05-05", "subscribe", 20, "S1", ""}, {"two", "2025-05-20", "subscribe", 10, "S2", "2026-05-20"},
		{"two", "2025-06-04", "renew", n, "S1", ""},
		{"two", "2025-06-10", "visit", n, "", ""},
		{"noamount", "2025-06-01", "subscribe", n, "", ""},
		{"trial", "2025-06-20", "trial_start", n, "", ""},
	}
	b, err := NewBuilder(time.Date(2025, 6, 30, 0, 0, 0, 0, time.UTC), Rules{})
	require.NoError(t, err)
	rec := record2(t, mem, evs)
	require.NoError(t, b.Add(rec))
	rec.Release()
	states := b.Finish()
	require.Len(t, states, 3)
	raw, err := json.Marshal(states)
	require.NoError(t, err)
	var back []State
	require.NoError(t, json.Unmarshal(raw, &back))
	require.Len(t, back, len(states))
	for i, s := range states {
		got := back[i]
		assert.Equal(t, s.ID, got.ID)
		assert.Equal(t, s.Status, got.Status)
		assert.Equal(t, s.PeriodEnd, got.PeriodEnd, s.ID)
		assert.Equal(t, s.Visits30, got.Visits30, s.ID)
		assert.Equal(t, math.IsNaN(s.Amount), math.IsNaN(got.Amount), s.ID)
		if !math.IsNaN(s.Amount) {
			assert.Equal(t, s.Amount, got.Amount, s.ID)
		}
		c1, ok1 := s.Current()
		c2, ok2 := got.Current()
		assert.Equal(t, ok1, ok2, s.ID)
		assert.Equal(t, c1, c2, s.ID)
		require.Len(t, got.Subscriptions, len(s.Subscriptions), s.ID)
		for k := range s.Subscriptions {
			a, _ := s.Subscriptions[k].Current()
			g, _ := got.Subscriptions[k].Current()
			assert.Equal(t, a, g, "%s subscription %d", s.ID, k)
		}
		again, err := json.Marshal(got)
		require.NoError(t, err)
		first, err := json.Marshal(s)
		require.NoError(t, err)
		assert.JSONEq(t, string(first), string(again), s.ID)
	}
	two := back[2]
	require.Equal(t, "two", two.ID)
	cur, _ := two.Current()
	assert.Less(t, two.cur, len(two.Spells), "the current spell is not the last one, so the index matters")
	assert.Equal(t, 1, cur.Renewals, "S1's spell (S2 never renewed)")
}

// TestBuilderKeep: Keep skips the other customers' events.
func TestBuilderKeep(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	b, err := NewBuilder(time.Date(2025, 6, 30, 0, 0, 0, 0, time.UTC), Rules{})
	require.NoError(t, err)
	b.Keep = func(id string) bool { return id != "b" }
	rec := record2(t, mem, []sev2{{"a", "2025-06-01", "subscribe", 10, "", ""}, {"b", "2025-06-01", "subscribe", 10, "", ""}})
	require.NoError(t, b.Add(rec))
	rec.Release()
	st := b.Finish()
	require.Len(t, st, 1)
	assert.Equal(t, "a", st[0].ID)
}
