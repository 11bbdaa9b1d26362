package synth

import (
	"context"
	"hash/fnv"
	"math"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/churnpipe/churnpipe/data"
)

var (
	winStart = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	winEnd   = time.Date(2025, 12, 31, 0, 0, 0, 0, time.UTC)
)

// row is one emitted event, copied out of Arrow.
type row struct {
	id     string
	ms     int64
	typ    string
	amount float64 // 0 when null
	valid  bool    // amount is not null
}

// collect generates cfg and copies every row; it also returns the number of
// records and a hash of the rows (independent of record boundaries).
func collect(t testing.TB, cfg Config) ([]row, Stats, int, uint64) {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	var rows []row
	recs := 0
	h := fnv.New64a()
	var buf [8]byte
	st, err := Generate(context.Background(), cfg, mem, func(r arrow.RecordBatch) error {
		recs++
		if !r.Schema().Equal(data.EventSchema) {
			t.Fatalf("schema %v", r.Schema())
		}
		ids := r.Column(0).(*array.String)
		ts := r.Column(1).(*array.Timestamp)
		ty := r.Column(2).(*array.String)
		am := r.Column(3).(*array.Float64)
		for i := range int(r.NumRows()) {
			x := row{id: ids.Value(i), ms: int64(ts.Value(i)), typ: ty.Value(i)}
			if am.IsValid(i) {
				x.amount, x.valid = am.Value(i), true
			}
			rows = append(rows, x)
			h.Write([]byte(x.id))
			putU64(&buf, uint64(x.ms))
			h.Write(buf[:])
			h.Write([]byte(x.typ))
			putU64(&buf, math.Float64bits(x.amount))
			h.Write(buf[:])
			if x.valid {
				h.Write([]byte{1})
			}
		}
		return nil
	})
	require.NoError(t, err)
	mem.AssertSize(t, 0)
	return rows, st, recs, h.Sum64()
}

func putU64(b *[8]byte, v uint64) {
	for i := range b {
		b[i] = byte(v >> (8 * i))
	}
}

// customerRows groups consecutive rows by customer id (rows come grouped).
func customerRows(rows []row) [][]row {
	var out [][]row
	for i := 0; i < len(rows); {
		j := i
		for j < len(rows) && rows[j].id == rows[i].id {
			j++
		}
		out = append(out, rows[i:j])
		i = j
	}
	return out
}

// plainConfig is DefaultConfig with every realism layer off: exact BG/NBD.
func plainConfig(customers int, seed uint64) Config {
	c := DefaultConfig(customers, winStart, winEnd, seed)
	c.ProspectShare, c.SameDayRate, c.Seasonality = 0, 0, 0
	c.GrowingShare, c.WarningShare, c.ReactivationShare = 0, 0, 0
	return c
}

// windowStartMs is the first millisecond of winStart.
var windowStartMs = winStart.UnixMilli()

// dayIdx returns the day of ms relative to winStart.
func dayIdx(ms int64) int { return int(data.DayOf(ms) - data.DayOf(windowStartMs)) }
