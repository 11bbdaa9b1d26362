package features_test

import (
	"context"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/churnpipe/churnpipe/data"
	"github.com/churnpipe/churnpipe/data/synth"
	"github.com/churnpipe/churnpipe/features"
)

// srow is one synthetic event copied out of Arrow.
type srow struct {
	id    string
	ms    int64
	typ   string
	amt   float64
	valid bool
}

// synthRows returns a synthetic history of n customers over 2024–2025 (in
// customer and time order). Amounts are rounded to multiples of 1/4, so
// that every sum is exact whatever the order of the events; 2 % of the
// visits are relabelled "email_open" (another event type).
func synthRows(t testing.TB, n int, seed uint64) []srow {
	t.Helper()
	cfg := synth.DefaultConfig(n, time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2025, 12, 31, 0, 0, 0, 0, time.UTC), seed)
	r := rand.New(rand.NewPCG(seed, 99))
	var rows []srow
	_, err := synth.Generate(context.Background(), cfg, memory.DefaultAllocator, func(rec arrow.RecordBatch) error {
		ids := rec.Column(0).(*array.String)
		tm := rec.Column(1).(*array.Timestamp)
		ty := rec.Column(2).(*array.String)
		am := rec.Column(3).(*array.Float64)
		for i := range int(rec.NumRows()) {
			s := srow{id: ids.Value(i), ms: int64(tm.Value(i)), typ: ty.Value(i), valid: am.IsValid(i)}
			if s.valid {
				s.amt = math.Round(am.Value(i)*4) / 4
			}
			if s.typ == data.EventVisit && r.Float64() < 0.02 {
				s.typ = "email_open"
			}
			rows = append(rows, s)
		}
		return nil
	})
	require.NoError(t, err)
	return rows
}

// records splits rows into canonical records of at most size rows.
func records(mem memory.Allocator, rows []srow, size int) []arrow.RecordBatch {
	var out []arrow.RecordBatch
	for lo := 0; lo < len(rows); lo += size {
		b := array.NewRecordBuilder(mem, data.EventSchema)
		for _, s := range rows[lo:min(lo+size, len(rows))] {
			b.Field(0).(*array.StringBuilder).Append(s.id)
			b.Field(1).(*array.TimestampBuilder).Append(arrow.Timestamp(s.ms))
			b.Field(2).(*array.StringBuilder).Append(s.typ)
			if s.valid {
				b.Field(3).(*array.Float64Builder).Append(s.amt)
			} else {
				b.Field(3).AppendNull()
			}
		}
		out = append(out, b.NewRecordBatch())
		b.Release()
	}
	return out
}

// build folds recs into a new builder with opts and returns the table.
func build(t testing.TB, mem memory.Allocator, asOf time.Time, recs []arrow.RecordBatch, opts ...features.Option) (arrow.RecordBatch, *features.Builder) {
	t.Helper()
	b, err := features.NewBuilderErr(asOf, opts...)
	require.NoError(t, err)
	for _, r := range recs {
		require.NoError(t, b.Add(r))
	}
	return b.Finish(mem), b
}

func release(recs []arrow.RecordBatch) {
	for _, r := range recs {
		r.Release()
	}
}

// rowKeys maps customer_id → every value of its row, floats by their bits.
func rowKeys(t testing.TB, rec arrow.RecordBatch) map[string]string {
	t.Helper()
	out := make(map[string]string, rec.NumRows())
	ids := rec.Column(0).(*array.String)
	for i := range int(rec.NumRows()) {
		var sb strings.Builder
		for c := 1; c < int(rec.NumCols()); c++ {
			col := rec.Column(c)
			switch {
			case col.IsNull(i):
				sb.WriteString("null")
			case col.DataType().ID() == arrow.FLOAT64:
				fmt.Fprintf(&sb, "%x", math.Float64bits(col.(*array.Float64).Value(i)))
			default:
				sb.WriteString(col.ValueStr(i))
			}
			sb.WriteByte('|')
		}
		_, dup := out[ids.Value(i)]
		require.False(t, dup, "customer %s twice", ids.Value(i))
		out[ids.Value(i)] = sb.String()
	}
	return out
}

func sortedIDs(t *testing.T, rec arrow.RecordBatch) {
	t.Helper()
	ids := rec.Column(0).(*array.String)
	for i := 1; i < ids.Len(); i++ {
		require.Less(t, ids.Value(i-1), ids.Value(i), "rows ordered by customer_id")
	}
}

// TestBuilderOrderAndWorkers checks that the table depends neither on the
// order of the events (a random permutation of every row, records of
// another size) nor on the number of workers. The amounts are exact in
// binary, so every order gives the same sums bit for bit.
func TestBuilderOrderAndWorkers(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	rows := synthRows(t, 3000, 11)
	asOf := day("2025-06-30") // mid-window: later events are excluded
	ordered := records(mem, rows, 8192)
	defer release(ordered)
	shuffled := append([]srow(nil), rows...)
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	mixed := records(mem, shuffled, 1000)
	defer release(mixed)

	want, wb := build(t, mem, asOf, ordered)
	defer want.Release()
	require.Greater(t, wb.Excluded(), int64(0))
	require.Greater(t, want.NumRows(), int64(1500))
	sortedIDs(t, want)
	for _, tc := range []struct {
		name    string
		recs    []arrow.RecordBatch
		workers int
	}{
		{"shuffled", mixed, 1},
		{"2 workers", ordered, 2},
		{"3 workers shuffled", mixed, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, gb := build(t, mem, asOf, tc.recs, features.WithWorkers(tc.workers))
			defer got.Release()
			assert.Equal(t, wb.Rows(), gb.Rows())
			assert.Equal(t, wb.Excluded(), gb.Excluded())
			assert.Equal(t, wb.Customers(), gb.Customers())
			assert.True(t, array.RecordEqual(want, got), "feature table differs")
			if !array.RecordEqual(want, got) {
				w, g := rowKeys(t, want), rowKeys(t, got)
				for id, v := range w {
					if g[id] != v {
						t.Logf("first difference, customer %s:\nwant %s\ngot  %s", id, v, g[id])
						break
					}
				}
			}
		})
	}
}

// TestBuilderShards checks that the tables of shards 0…3 of 4, concatenated
// and ordered by customer_id, equal the 1-shard table, that every customer
// is in the shard ShardOf names, and that the event counts add up.
func TestBuilderShards(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	rows := synthRows(t, 2000, 5)
	recs := records(mem, rows, 5000)
	defer release(recs)
	asOf := day("2025-09-30")

	all, ab := build(t, mem, asOf, recs)
	defer all.Release()
	want := rowKeys(t, all)

	const n = 4
	got := map[string]string{}
	var rowsUsed, excluded, skipped int64
	for i := range n {
		for _, workers := range []int{1, 2} {
			sh, sb := build(t, mem, asOf, recs, features.WithShard(i, n), features.WithWorkers(workers))
			sortedIDs(t, sh)
			ids := sh.Column(0).(*array.String)
			for j := range ids.Len() {
				require.Equal(t, i, features.ShardOf(ids.Value(j), n), ids.Value(j))
			}
			keys := rowKeys(t, sh)
			sh.Release()
			if workers == 2 {
				continue // the same shard again: counted once
			}
			assert.InDelta(t, len(want)/n, len(keys), float64(len(want))/n*0.2, "shard %d holds about a quarter", i)
			for id, v := range keys {
				_, dup := got[id]
				require.False(t, dup, "customer %s in two shards", id)
				got[id] = v
			}
			rowsUsed += sb.Rows()
			excluded += sb.Excluded()
			skipped += sb.Skipped()
		}
	}
	assert.Equal(t, want, got, "4 shards concatenated differ from 1 shard")
	assert.Equal(t, ab.Rows(), rowsUsed)
	assert.Equal(t, ab.Excluded(), excluded)
	assert.EqualValues(t, len(rows), ab.Rows()+ab.Excluded())
	assert.EqualValues(t, (n-1)*len(rows), skipped, "each event is skipped by the other 3 shards")
	assert.Zero(t, ab.Skipped())
}

func TestShardOf(t *testing.T) {
	// FNV-1a 64 test vectors from the FNV reference (draft-eastlake-fnv):
	// "" → 0xcbf29ce484222325, "a" → 0xaf63dc4c8601ec8c, "foobar" → 0x85944171f73967e8.
	for _, tc := range []struct {
		id   string
		hash uint64
	}{
		{"", 0xcbf29ce484222325},
		{"a", 0xaf63dc4c8601ec8c},
		{"foobar", 0x85944171f73967e8},
	} {
		for _, n := range []int{1, 2, 4, 7, 1000} {
			assert.Equal(t, int(tc.hash%uint64(n)), features.ShardOf(tc.id, n), "%q mod %d", tc.id, n)
		}
	}
	// Against the standard library's FNV-1a on customer-like ids.
	for i := range 1000 {
		id := fmt.Sprintf("C%07d", i)
		h := fnv.New64a()
		h.Write([]byte(id))
		assert.Equal(t, int(h.Sum64()%16), features.ShardOf(id, 16))
		assert.Equal(t, data.ShardOf(id, 16), features.ShardOf(id, 16), "the partition files and the builder agree")
	}
	assert.Panics(t, func() { features.ShardOf("a", 0) })
}

func TestBuilderOptionErrors(t *testing.T) {
	for _, o := range []features.Option{
		features.WithShard(4, 4), features.WithShard(-1, 4), features.WithShard(0, 0), features.WithWorkers(0),
	} {
		_, err := features.NewBuilderErr(day("2024-01-01"), o)
		assert.ErrorIs(t, err, features.ErrOption)
	}
	assert.Panics(t, func() { features.NewBuilder(day("2024-01-01"), features.WithWorkers(-1)) })
}
