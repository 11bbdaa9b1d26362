package data

import (
	"math"
	"math/rand/v2"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestPassThroughMatchesRowByRow: a file of canonical column types with
// dirty rows scattered in it (ids with spaces, capitals or non-ASCII bytes,
// null markers, null times and types, implausible times, non-finite or huge
// amounts) reads to the same events, batches, counts and quarantine with the
// zero-copy path as without it, and the zero-copy path does take the clean
// batches.
func TestPassThroughMatchesRowByRow(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	sc := arrow.NewSchema([]arrow.Field{
		{Name: "customer_id", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "event_time", Type: &arrow.TimestampType{Unit: arrow.Millisecond}, Nullable: true}, // no zone
		{Name: "event_type", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "amount", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(mem, sc)
	defer b.Release()
	ids := b.Field(0).(*array.StringBuilder)
	ts := b.Field(1).(*array.TimestampBuilder)
	ty := b.Field(2).(*array.StringBuilder)
	am := b.Field(3).(*array.Float64Builder)
	// Batches of 250 rows: the first 8 clean, then each with one dirty row
	// of one kind, the kinds in turn, so that a check the zero-copy path
	// missed hands on a batch the row-by-row path changes.
	type dirt struct {
		id, typ                    string
		nullTime, nullType, nullID bool
		time                       int64
		amount                     float64
	}
	kinds := []dirt{
		{id: " c1"}, {id: "c1 "}, {id: "Müller"}, {id: "NULL"}, {id: "a b"}, {id: "顾客7"}, {id: `\N`}, {nullID: true}, {id: strings.Repeat("x", MaxIDLength+1)},
		{typ: "Purchase"}, {typ: " visit"}, {typ: "NA"}, {typ: ""}, {typ: "VISIT"}, {typ: "null"}, {nullType: true},
		{nullTime: true}, {time: -3e12}, {time: 8e12},
		{amount: math.NaN()}, {amount: math.Inf(-1)}, {amount: 2e15},
	}
	const batch = 250
	n := (8 + len(kinds)) * batch
	rng := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < n; i++ {
		var d *dirt
		if k := i/batch - 8; k >= 0 && i%batch == 100 {
			d = &kinds[k]
		}
		id, typ := "cust-"+strconv.Itoa(rng.IntN(700)), []string{EventPurchase, EventVisit, EventReturn, "other"}[rng.IntN(4)]
		t0 := mar1 + rng.Int64N(400*MillisPerDay)
		amount, nullAmount := math.Round(rng.NormFloat64()*5000)/100, rng.IntN(8) == 0
		if d != nil {
			if d.id != "" {
				id = d.id
			}
			if d.typ != "" || d.id == "" && !d.nullID && !d.nullType && !d.nullTime && d.time == 0 && d.amount == 0 {
				typ = d.typ
			}
			if d.time != 0 {
				t0 = d.time
			}
			if d.amount != 0 || math.IsNaN(d.amount) {
				amount, nullAmount = d.amount, false
			}
		}
		if d != nil && d.nullID {
			ids.AppendNull()
		} else {
			ids.Append(id)
		}
		if d != nil && d.nullTime {
			ts.AppendNull()
		} else {
			ts.Append(arrow.Timestamp(t0))
		}
		if d != nil && d.nullType {
			ty.AppendNull()
		} else {
			ty.Append(typ)
		}
		if nullAmount {
			am.AppendNull()
		} else {
			am.Append(amount)
		}
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	for _, ext := range []string{".parquet", ".arrow"} {
		t.Run(ext, func(t *testing.T) {
			path := writeRecord(t, mem, filepath.Join(t.TempDir(), "mixed"+ext), rec)
			fast, err := readAll(t, path, Options{BatchSize: batch})
			require.NoError(t, err)
			slow, err := readAll(t, path, Options{BatchSize: batch, noPassThrough: true})
			require.NoError(t, err)
			require.NotEmpty(t, slow.QRows, "the file has rows to reject")
			assert.Equal(t, slow.Events, fast.Events)
			assert.Equal(t, slow.Batches, fast.Batches)
			assert.Equal(t, slow.Stats, fast.Stats)
			assert.Equal(t, slow.QRows, fast.QRows)

			// The clean batches went the zero-copy way.
			r, err := Open(path, Options{BatchSize: batch, Alloc: mem, Quarantine: NewQuarantine(discard{})})
			require.NoError(t, err)
			for r.Next() {
			}
			require.NoError(t, r.Err())
			assert.Equal(t, 8, r.passed, "the 8 clean batches, and none of the dirty ones")
			r.Release()
		})
	}
}
