package pipeline

import (
	"errors"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/churnpipe/churnpipe/data"
)

// countSource yields n one-column records 0, 1, … from mem, then err.
type countSource struct {
	mem      memory.Allocator
	n, i     int
	rec      arrow.RecordBatch
	err      error
	released bool
}

func (s *countSource) Next() bool {
	if s.rec != nil {
		s.rec.Release()
		s.rec = nil
	}
	if s.i == s.n {
		return false
	}
	b := array.NewInt64Builder(s.mem)
	defer b.Release()
	b.Append(int64(s.i))
	col := b.NewArray()
	defer col.Release()
	s.rec = array.NewRecordBatch(arrow.NewSchema([]arrow.Field{{Name: "i", Type: arrow.PrimitiveTypes.Int64}}, nil), []arrow.Array{col}, 1)
	s.i++
	return true
}
func (s *countSource) Record() arrow.RecordBatch { return s.rec }
func (s *countSource) Err() error {
	if s.i == s.n {
		return s.err
	}
	return nil
}
func (s *countSource) Stats() data.Stats { return data.Stats{RowsRead: int64(s.i)} }
func (s *countSource) Release() {
	if s.rec != nil {
		s.rec.Release()
		s.rec = nil
	}
	s.released = true
}

// Every record arrives once and in order, the source's error and counts
// come through, and nothing is leaked.
func TestPrefetchInOrder(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	boom := errors.New("boom")
	src := &countSource{mem: mem, n: 100, err: boom}
	p := prefetch(src)
	var got []int64
	for p.Next() {
		got = append(got, p.Record().Column(0).(*array.Int64).Value(0))
	}
	require.Len(t, got, 100)
	for i, v := range got {
		assert.Equal(t, int64(i), v)
	}
	assert.ErrorIs(t, p.Err(), boom)
	assert.Equal(t, int64(100), p.Stats().RowsRead)
	p.Release()
	assert.True(t, src.released)
}

// A consumer that gives up after one record stops the reader early, and the
// records it had read ahead are released.
func TestPrefetchStopEarly(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	src := &countSource{mem: mem, n: 1000}
	p := prefetch(src)
	require.True(t, p.Next())
	p.stop()
	assert.Less(t, src.i, 1000, "the reader went on after stop")
	assert.LessOrEqual(t, src.i, 1+prefetchDepth+1)
	assert.False(t, p.Next())
	src.Release()
}
