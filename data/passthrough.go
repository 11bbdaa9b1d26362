package data

import (
	"fmt"
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// The pass-through path: a Parquet or Arrow IPC record whose columns are
// already the canonical types (customer_id and event_type utf8, event_time
// timestamp[ms], amount float64) and whose next batch of rows the
// row-by-row path would append unchanged is handed on as a zero-copy slice
// instead of being copied value by value into the builders (half of the
// reading goroutine's CPU on tier M). A batch with a row that the row-by-row
// path would change or check further — an id or a type with spaces,
// capitals, non-ASCII bytes or a null marker, a null or implausible time, a
// non-finite or huge amount — goes the row-by-row way (conversion, or
// rejection and quarantine), so both paths give the same rows in the same
// batches.

// passThrough returns rows [s.off, s.off+n) of the current record as a
// record of EventSchema sharing the record's buffers when they are all
// plain; nil when the current record's columns are not of the canonical
// types, when fewer than n plain rows follow in it, or at the end of the file
// (fill then copies, so that every batch but the input's last has n rows).
func (s *arrowSource) passThrough(n int) (rec arrow.RecordBatch, err error) {
	defer func() {
		if p := recover(); p != nil { // as in fill: a corrupt file's offsets
			if rec != nil {
				rec.Release()
			}
			rec, err = nil, fmt.Errorf("data: read %s: corrupt file: %v", s.path, p)
		}
	}()
	if s.cur == nil || s.off >= int(s.cur.NumRows()) {
		ok, err := s.nextRecord()
		if err != nil || !ok {
			return nil, err
		}
	}
	ids, ok1 := s.cols[cID].(*array.String)
	ts, ok2 := s.cols[1].(*array.Timestamp)
	types, ok3 := s.cols[2].(*array.String)
	amt, ok4 := s.cols[3].(*array.Float64)
	if !ok1 || !ok2 || !ok3 || !ok4 || ts.DataType().(*arrow.TimestampType).Unit != arrow.Millisecond {
		return nil, nil
	}
	for c := cEventID; c < nCanon; c++ {
		if s.cols[c] != nil {
			return nil, nil
		}
	}
	lo := s.off
	hi := min(int(s.cur.NumRows()), lo+n)
	times := ts.TimestampValues()
	amounts := amt.Float64Values()
	end := lo
	for ; end < hi; end++ {
		if !ids.IsValid(end) || !plainID(ids.Value(end)) || !ts.IsValid(end) || !types.IsValid(end) || !plainType(types.Value(end)) {
			break
		}
		if ms := int64(times[end]); ms < minEventMS || ms >= maxEventMS {
			break
		}
		if amt.IsValid(end) {
			if v := amounts[end]; math.IsNaN(v) || math.IsInf(v, 0) || math.Abs(v) > MaxAmount {
				break
			}
		}
	}
	k := end - lo
	if k < n {
		// A batch is full unless the input ends (batches span records and
		// files): a shorter run is copied with the rows that follow it.
		return nil, nil
	}
	cols := [4]arrow.Array{
		array.NewSlice(ids, int64(lo), int64(end)),
		nil,
		array.NewSlice(types, int64(lo), int64(end)),
		array.NewSlice(amt, int64(lo), int64(end)),
	}
	// The time column under the canonical type (a timestamp[ms] of another
	// or no zone holds the same UTC instants).
	td := ts.Data()
	d := array.NewData(EventTimeType, k, td.Buffers(), nil, 0, td.Offset()+lo)
	cols[1] = array.MakeFromData(d)
	d.Release()
	rec = array.NewRecordBatch(EventSchema, cols[:], int64(k))
	for _, c := range cols {
		c.Release()
	}
	s.off = end
	s.r.stats.RowsRead += int64(k)
	return rec, nil
}

// plainID reports whether checkID would accept s unchanged, for the ids it
// can tell at a glance: 1 to MaxIDLength printable ASCII bytes without a
// space, and not a null marker. Other ids go the row-by-row way.
func plainID(s string) bool {
	if len(s) == 0 || len(s) > MaxIDLength {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f {
			return false
		}
	}
	return !idNullMarker(s)
}

// plainType reports whether normType would return s unchanged: non-empty,
// no capital, space, control or non-ASCII byte, and not a null marker.
func plainType(s string) bool {
	if len(s) == 0 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f || c >= 'A' && c <= 'Z' {
			return false
		}
	}
	return !nullMarker(s)
}
