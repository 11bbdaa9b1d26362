package data

import (
	"context"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// arrowSource reads a Parquet file or an Arrow IPC file. It reads only the
// canonical columns.
type arrowSource struct {
	r    *Reader
	path string
	f    *os.File

	pf *file.Reader         // Parquet
	rr pqarrow.RecordReader // Parquet
	ir *ipc.FileReader      // Arrow IPC
	ni int                  // Arrow IPC: next record index

	names [nCanon]string // source column names; "" when absent

	cur     arrow.RecordBatch // current record, retained
	cols    [nCanon]arrow.Array
	off     int            // next row of cur
	rowBase int64          // 0-based row number in the file of cur's row 0
	scratch [nCanon][]byte // per id column: see intString
	decoded []arrow.Array  // dictionary columns of cur decoded to their values; released with cur
}

func openArrow(r *Reader, path, format string) (src *arrowSource, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("data: open: %w", err)
	}
	s := &arrowSource{r: r, path: path, f: f}
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("data: read %s: %w: %s file: %v", path, ErrCorrupt, format, p)
		}
		if err != nil {
			s.close()
			src = nil
		}
	}()
	var schema *arrow.Schema
	if format == FormatParquet {
		props := parquet.NewReaderProperties(r.alloc)
		props.BufferedStreamEnabled = true
		if s.pf, err = file.NewParquetReader(f, file.WithReadProps(props)); err != nil {
			return nil, fmt.Errorf("data: read %s: %w", path, err)
		}
		if err := checkParquetArrowSchema(path, s.pf.MetaData().KeyValueMetadata()); err != nil {
			return nil, err
		}
		fr, err := pqarrow.NewFileReader(s.pf, pqarrow.ArrowReadProperties{BatchSize: int64(r.batch)}, r.alloc)
		if err != nil {
			return nil, fmt.Errorf("data: read %s: %w", path, err)
		}
		if schema, err = fr.Schema(); err != nil {
			return nil, fmt.Errorf("data: read %s: %w", path, err)
		}
		if err := s.resolve(schema); err != nil {
			return nil, err
		}
		var leaves []int
		for _, n := range s.names {
			if n == "" {
				continue
			}
			i := s.pf.MetaData().Schema.ColumnIndexByName(n)
			if i < 0 {
				return nil, fmt.Errorf("%w: %s: column %q is not a top-level primitive column", ErrColumnType, path, n)
			}
			leaves = append(leaves, i)
		}
		if s.rr, err = fr.GetRecordReader(context.Background(), leaves, nil); err != nil {
			return nil, fmt.Errorf("data: read %s: %w", path, err)
		}
	} else {
		if err := checkArrowFooter(f, path); err != nil {
			return nil, err
		}
		if s.ir, err = ipc.NewFileReader(f, ipc.WithAllocator(r.alloc)); err != nil {
			var head [6]byte
			if n, _ := f.ReadAt(head[:], 0); n >= 4 && string(head[:]) != "ARROW1" && string(head[:4]) == "\xff\xff\xff\xff" {
				return nil, fmt.Errorf("%w: %s: an Arrow IPC stream, not an Arrow IPC file (no ARROW1 footer): write the file format (pyarrow.ipc.new_file, pyarrow.feather.write_feather) or Parquet", ErrUnsupported, path)
			}
			return nil, fmt.Errorf("data: read %s: %w", path, err)
		}
		if err := s.resolve(s.ir.Schema()); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// resolve finds the canonical columns in schema and checks their types.
func (s *arrowSource) resolve(schema *arrow.Schema) error {
	names := make([]string, schema.NumFields())
	seen := make(map[string]bool, len(names))
	for i, f := range schema.Fields() {
		if seen[f.Name] {
			return fmt.Errorf("%w: %s: %q", ErrDuplicateColumn, s.path, f.Name)
		}
		seen[f.Name] = true
		names[i] = f.Name
	}
	idx, err := s.r.resolveColumns(s.path, names)
	if err != nil {
		return err
	}
	for c, i := range idx {
		if i < 0 {
			continue
		}
		f := schema.Field(i)
		s.names[c] = f.Name
		if !typeOK(c, f.Type) {
			return fmt.Errorf("%w: %s: column %q (for %s) has type %s; want %s", ErrColumnType, s.path, f.Name, canonicalCols[c], f.Type, wantTypes[c])
		}
	}
	return nil
}

var wantTypes = [nCanon]string{
	"utf8, an integer type or float64 holding whole numbers",
	"timestamp, date32, date64 or utf8",
	"utf8",
	"a numeric type or utf8",
	"utf8 or an integer type",
	"utf8 or an integer type",
	"timestamp, date32, date64 or utf8",
}

func typeOK(c int, t arrow.DataType) bool {
	switch t.ID() {
	case arrow.DICTIONARY: // read as its values
		return typeOK(c, t.(*arrow.DictionaryType).ValueType)
	case arrow.STRING, arrow.LARGE_STRING, arrow.BINARY, arrow.LARGE_BINARY:
		// BINARY: Parquet byte arrays without the UTF8 annotation (older Hive,
		// Impala, Spark writers) read as text; invalid UTF-8 is a bad value.
		return true
	case arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64, arrow.UINT8, arrow.UINT16, arrow.UINT32, arrow.UINT64:
		return c == cID || c == cAmount || c == cEventID || c == cSubID
	case arrow.TIMESTAMP, arrow.DATE32, arrow.DATE64:
		return c == cTime || c == cPeriodEnd
	case arrow.FLOAT32, arrow.FLOAT64:
		// Float ids: pandas turns an integer id column with a missing value
		// into float64; each value must be a whole number (floatID).
		return c == cAmount || c == cID || c == cEventID || c == cSubID
	case arrow.FLOAT16, arrow.DECIMAL128, arrow.DECIMAL256:
		return c == cAmount
	}
	return false
}

// nextRecord loads the next record; ok is false at the end of the file.
func (s *arrowSource) nextRecord() (ok bool, err error) {
	if s.cur != nil {
		s.rowBase += s.cur.NumRows()
		s.cur.Release()
		s.cur = nil
	}
	s.releaseDecoded()
	var rec arrow.RecordBatch
	if s.rr != nil {
		if !s.rr.Next() {
			if err := s.rr.Err(); err != nil {
				return false, fmt.Errorf("data: read %s: %w", s.path, err)
			}
			return false, nil
		}
		rec = s.rr.RecordBatch()
		rec.Retain()
	} else {
		if s.ni >= s.ir.NumRecords() {
			return false, nil
		}
		rec, err = s.ir.RecordBatchAt(s.ni)
		s.ni++
		if err != nil {
			return false, fmt.Errorf("data: read %s: %w", s.path, err)
		}
	}
	s.cur, s.off = rec, 0
	sc := rec.Schema()
	for c, n := range s.names {
		s.cols[c] = nil
		if n == "" {
			continue
		}
		idx := sc.FieldIndices(n)
		if len(idx) != 1 {
			return false, fmt.Errorf("data: read %s: column %q missing from a record batch", s.path, n)
		}
		s.cols[c] = rec.Column(idx[0])
		if d, ok := s.cols[c].(*array.Dictionary); ok {
			// A dictionary-encoded column (pandas "category", Spark and
			// DuckDB write them) is decoded once per record batch.
			ctx := compute.WithAllocator(context.Background(), s.r.alloc)
			v, err := compute.TakeArray(ctx, d.Dictionary(), d.Indices())
			if err != nil {
				return false, fmt.Errorf("%w: %s: column %q: decode dictionary: %w", ErrCorrupt, s.path, n, err)
			}
			s.decoded = append(s.decoded, v)
			s.cols[c] = v
		}
	}
	return true, nil
}

func (s *arrowSource) releaseDecoded() {
	for _, a := range s.decoded {
		a.Release()
	}
	s.decoded = s.decoded[:0]
}

func (s *arrowSource) fill(n int) (added int, eof bool, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("data: read %s: corrupt file: %v", s.path, p)
		}
	}()
	r := s.r
	for added < n {
		if s.cur == nil || s.off >= int(s.cur.NumRows()) {
			ok, err := s.nextRecord()
			if err != nil {
				return added, false, err
			}
			if !ok {
				return added, true, nil
			}
			continue
		}
		i := s.off
		s.off++
		r.stats.RowsRead++
		if col, err := s.row(i); err != nil {
			e := &ParseError{File: s.path, Line: s.rowBase + int64(i) + 1, Column: canonicalCols[col], Err: err}
			if err := r.reject(e, s.raw(i)); err != nil {
				return added, false, err
			}
			continue
		}
		added++
	}
	return added, false, nil
}

// row converts and appends row i of the current record; on error it
// returns the index of the bad canonical column.
func (s *arrowSource) row(i int) (int, error) {
	id, err := s.id(i)
	if err != nil {
		return 0, err
	}
	ms, err := s.time(i)
	if err != nil {
		return 1, err
	}
	typ := EventPurchase
	if a := s.cols[2]; a != nil && a.IsValid(i) {
		if typ, err = normType(stringAt(a, i)); err != nil {
			return 2, err
		}
	}
	var amount float64
	var valid bool
	if a := s.cols[3]; a != nil && a.IsValid(i) {
		if amount, valid, err = s.amount(a, i); err != nil {
			return 3, err
		}
	}
	var x extra
	if a := s.cols[cEventID]; a != nil && a.IsValid(i) {
		if x.eventID, err = s.eventID(a, i); err != nil {
			return cEventID, err
		}
	}
	if a := s.cols[cSubID]; a != nil && a.IsValid(i) {
		if v, ok, err := floatID(a, i, &s.scratch[cSubID], ColSubscriptionID); ok || err != nil {
			if err != nil {
				return cSubID, err
			}
			x.subID = v
		} else if v, ok := intString(a, i, &s.scratch[cSubID]); ok {
			x.subID = v
		} else if x.subID, err = checkSubscriptionID(stringAt(a, i)); err != nil {
			return cSubID, err
		}
	}
	if a := s.cols[cPeriodEnd]; a != nil && a.IsValid(i) {
		if x.periodEnd, x.hasEnd, err = s.periodEnd(a, i, ms); err != nil {
			return cPeriodEnd, err
		}
	}
	s.r.appendRow(id, ms, typ, amount, valid, &x)
	return 0, nil
}

// periodEnd converts row i (valid) of a period_end column of any accepted
// type and checks it against the event's time eventMS.
func (s *arrowSource) periodEnd(a arrow.Array, i int, eventMS int64) (int64, bool, error) {
	switch a.(type) {
	case *array.String, *array.LargeString, *array.Binary, *array.LargeBinary:
		return parsePeriodEnd(stringAt(a, i), s.r.opt.TimeLayout, eventMS)
	}
	ms, err := typedTimeMS(a, i)
	if err != nil {
		return 0, false, newReason(ErrBadPeriodEnd, "period_end: "+err.Error())
	}
	if err := checkPeriodEnd(ms, eventMS, a.ValueStr(i)); err != nil {
		return 0, false, err
	}
	return ms, true, nil
}

// typedTimeMS converts row i of a timestamp, date32 or date64 array to
// milliseconds since the epoch; a seconds timestamp far outside the years
// 1900..2200 is an error (the multiplication would overflow).
func typedTimeMS(a arrow.Array, i int) (int64, error) {
	switch a := a.(type) {
	case *array.Timestamp:
		v := int64(a.Value(i))
		switch a.DataType().(*arrow.TimestampType).Unit {
		case arrow.Second:
			if v < minEventMS/1000-1 || v > maxEventMS/1000+1 {
				return 0, newReasonQ(ErrBadTime, "implausible time", a.ValueStr(i))
			}
			return v * 1000, nil
		case arrow.Millisecond:
			return v, nil
		case arrow.Microsecond:
			return floorDiv(v, 1000), nil
		default:
			return floorDiv(v, 1_000_000), nil
		}
	case *array.Date32:
		return int64(a.Value(i)) * MillisPerDay, nil
	case *array.Date64:
		return int64(a.Value(i)), nil
	}
	return 0, newReason(ErrBadTime, "not a time column")
}

// stringAt returns element i of a string or binary array (a binary value
// as a view of its bytes, valid while the record is).
func stringAt(a arrow.Array, i int) string {
	switch a := a.(type) {
	case *array.String:
		return a.Value(i)
	case *array.LargeString:
		return a.Value(i)
	case *array.Binary:
		return bytesString(a.Value(i))
	case *array.LargeBinary:
		return bytesString(a.Value(i))
	}
	panic("data: not a string array") // excluded by typeOK
}

// bytesString views b as a string without copying; the result must not be
// kept after b is modified.
func bytesString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// eventID returns the event_id of row i (valid) of a, integers in decimal.
// The result is a view valid until the next call.
func (s *arrowSource) eventID(a arrow.Array, i int) (string, error) {
	if v, ok, err := floatID(a, i, &s.scratch[cEventID], ColEventID); ok || err != nil {
		return v, err
	}
	if v, ok := intString(a, i, &s.scratch[cEventID]); ok {
		return v, nil
	}
	return checkEventID(stringAt(a, i))
}

func (s *arrowSource) id(i int) (string, error) {
	a := s.cols[0]
	if a.IsNull(i) {
		return "", ErrEmptyID
	}
	if v, ok, err := floatID(a, i, &s.scratch[cID], ColCustomerID); ok || err != nil {
		return v, err
	}
	if v, ok := intString(a, i, &s.scratch[cID]); ok {
		return v, nil
	}
	return checkID(stringAt(a, i))
}

// floatID formats row i (valid) of a float32 or float64 id column as the
// integer it holds (a view of *scratch, like intString); ok is false for
// other types. NaN is an empty id; a fraction, an infinity or a value
// beyond ±2⁵³ (±2²⁴ for float32), where the type stops holding every
// integer, is a bad id.
func floatID(a arrow.Array, i int, scratch *[]byte, col string) (v string, ok bool, err error) {
	var f float64
	exact := float64(1 << 53)
	switch a := a.(type) {
	case *array.Float64:
		f = a.Value(i)
	case *array.Float32:
		f, exact = float64(a.Value(i)), 1<<24
	default:
		return "", false, nil
	}
	if math.IsNaN(f) {
		if col == ColCustomerID {
			return "", false, ErrEmptyID
		}
		return "", true, nil // a missing event_id or subscription_id
	}
	if f != math.Trunc(f) || math.Abs(f) > exact {
		return "", false, newReasonQ(ErrBadID, col+" is a float that is not a whole number:", strconv.FormatFloat(f, 'g', -1, 64))
	}
	*scratch = strconv.AppendInt((*scratch)[:0], int64(f), 10)
	return bytesString(*scratch), true, nil
}

// intString formats row i of an integer array in decimal (a view of
// *scratch, valid until the next call with it); ok is false for other
// types. Each id column has a scratch buffer of its own, so that the views
// of one row's ids do not overwrite each other.
func intString(a arrow.Array, i int, scratch *[]byte) (v string, ok bool) {
	switch a := a.(type) {
	case *array.Int8:
		*scratch = strconv.AppendInt((*scratch)[:0], int64(a.Value(i)), 10)
	case *array.Int16:
		*scratch = strconv.AppendInt((*scratch)[:0], int64(a.Value(i)), 10)
	case *array.Int32:
		*scratch = strconv.AppendInt((*scratch)[:0], int64(a.Value(i)), 10)
	case *array.Int64:
		*scratch = strconv.AppendInt((*scratch)[:0], a.Value(i), 10)
	case *array.Uint8:
		*scratch = strconv.AppendUint((*scratch)[:0], uint64(a.Value(i)), 10)
	case *array.Uint16:
		*scratch = strconv.AppendUint((*scratch)[:0], uint64(a.Value(i)), 10)
	case *array.Uint32:
		*scratch = strconv.AppendUint((*scratch)[:0], uint64(a.Value(i)), 10)
	case *array.Uint64:
		*scratch = strconv.AppendUint((*scratch)[:0], a.Value(i), 10)
	default:
		return "", false
	}
	return bytesString(*scratch), true
}

func (s *arrowSource) time(i int) (int64, error) {
	a := s.cols[1]
	if a.IsNull(i) {
		return 0, newReason(ErrBadTime, "null event_time")
	}
	switch a.(type) {
	case *array.String, *array.LargeString, *array.Binary, *array.LargeBinary:
		return parseTime(stringAt(a, i), s.r.opt.TimeLayout)
	}
	ms, err := typedTimeMS(a, i)
	if err != nil {
		return 0, err
	}
	if ms < minEventMS || ms >= maxEventMS {
		return 0, newReasonQ(ErrBadTime, "implausible time", s.cols[1].ValueStr(i))
	}
	return ms, nil
}

func (s *arrowSource) amount(a arrow.Array, i int) (float64, bool, error) {
	var v float64
	switch a := a.(type) {
	case *array.Float64:
		v = a.Value(i)
	case *array.Float32:
		v = float64(a.Value(i))
	case *array.Float16:
		v = float64(a.Value(i).Float32())
	case *array.Int8:
		v = float64(a.Value(i))
	case *array.Int16:
		v = float64(a.Value(i))
	case *array.Int32:
		v = float64(a.Value(i))
	case *array.Int64:
		v = float64(a.Value(i))
	case *array.Uint8:
		v = float64(a.Value(i))
	case *array.Uint16:
		v = float64(a.Value(i))
	case *array.Uint32:
		v = float64(a.Value(i))
	case *array.Uint64:
		v = float64(a.Value(i))
	case *array.Decimal128:
		v = a.Value(i).ToFloat64(a.DataType().(*arrow.Decimal128Type).Scale)
	case *array.Decimal256:
		v = a.Value(i).ToFloat64(a.DataType().(*arrow.Decimal256Type).Scale)
	default:
		return parseAmount(stringAt(a, i))
	}
	if math.IsNaN(v) || math.IsInf(v, 0) || math.Abs(v) > MaxAmount {
		return 0, false, checkAmount(v, a.ValueStr(i))
	}
	return v, true, nil
}

// raw renders row i of the current record for the quarantine.
func (s *arrowSource) raw(i int) string {
	var b strings.Builder
	for c, a := range s.cols {
		if c >= cEventID && a == nil {
			continue // an optional column the file does not have
		}
		if c > 0 {
			b.WriteByte(',')
		}
		if a != nil && a.IsValid(i) {
			b.WriteString(a.ValueStr(i))
		}
	}
	return b.String()
}

func (s *arrowSource) rows() int64 {
	if s.pf != nil {
		return s.pf.NumRows()
	}
	return -1
}

func (s *arrowSource) close() error {
	if s.cur != nil {
		s.cur.Release()
		s.cur = nil
	}
	s.releaseDecoded()
	if s.rr != nil {
		s.rr.Release()
		s.rr = nil
	}
	if s.ir != nil {
		s.ir.Close()
		s.ir = nil
	}
	if s.pf != nil {
		s.pf.Close() // closes f
		s.pf = nil
	}
	if s.f != nil {
		s.f.Close()
		s.f = nil
	}
	return nil
}
