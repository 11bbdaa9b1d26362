package data

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// WriteOptions configures CreateFile.
type WriteOptions struct {
	// Alloc allocates the writer's buffers; nil means memory.DefaultAllocator.
	Alloc memory.Allocator
}

// ErrUnsupported is returned when a format cannot hold a column type, or a
// file extension names no supported format.
var ErrUnsupported = errors.New("data: unsupported")

// parquetRowGroupRows is the number of rows buffered per Parquet row group.
// At most one row group is held in memory while writing.
const parquetRowGroupRows = 1 << 20

// FileWriter writes Arrow records to one file. It writes to a temporary file
// in the destination folder and renames it to the destination on Close, so a
// concurrent reader never sees a half-written file. A FileWriter is not safe
// for concurrent use.
type FileWriter struct {
	path   string
	tmp    *os.File
	bw     *bufio.Writer
	schema *arrow.Schema
	format string
	done   bool

	pq  *pqarrow.FileWriter
	ipc *ipc.FileWriter
	csv *csvWriter
}

// CreateFile writes Arrow records to path. The format is chosen by the
// extension: .parquet or .pq (Parquet, zstd compressed, Arrow schema stored),
// .arrow, .ipc or .feather (Arrow IPC file), .csv (header row; timestamps in
// RFC 3339 in UTC, e.g. 2024-03-01T10:00:00Z, with a fraction only when it is
// not zero; dates as 2006-01-02; nulls empty; floats in the shortest form that
// reads back exactly). CSV rejects nested columns (list, struct, map) with an
// error wrapping ErrUnsupported.
//
// The data go to a temporary file in the same folder, renamed to path on
// Close (mode 0644); Abort removes the temporary file. The usual pattern is
//
//	w, err := data.CreateFile(path, schema, data.WriteOptions{})
//	if err != nil { ... }
//	defer w.Abort() // no-op after a successful Close
//	... w.Write(rec) ...
//	return w.Close()
func CreateFile(path string, schema *arrow.Schema, opt WriteOptions) (*FileWriter, error) {
	if schema == nil {
		return nil, fmt.Errorf("data: CreateFile %s: nil schema", path)
	}
	format, err := formatOf(path)
	if err != nil {
		return nil, fmt.Errorf("data: CreateFile %s: %w", path, err)
	}
	if format == FormatCSV {
		if err := csvWritable(schema); err != nil {
			return nil, fmt.Errorf("data: CreateFile %s: %w", path, err)
		}
	}
	alloc := opt.Alloc
	if alloc == nil {
		alloc = memory.DefaultAllocator
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return nil, fmt.Errorf("data: CreateFile: %w", err)
	}
	if err := tmp.Chmod(0o644); err != nil { // CreateTemp makes 0600
		tmp.Close()
		os.Remove(tmp.Name())
		return nil, fmt.Errorf("data: CreateFile: %w", err)
	}
	w := &FileWriter{path: path, tmp: tmp, bw: bufio.NewWriterSize(tmp, 1<<16), schema: schema, format: format}
	switch format {
	case FormatParquet:
		props := parquet.NewWriterProperties(
			parquet.WithAllocator(alloc),
			parquet.WithCompression(compress.Codecs.Zstd),
			parquet.WithMaxRowGroupLength(parquetRowGroupRows),
		)
		aprops := pqarrow.NewArrowWriterProperties(pqarrow.WithAllocator(alloc), pqarrow.WithStoreSchema())
		// The Parquet writer closes its sink; the sink here must not close tmp.
		w.pq, err = pqarrow.NewFileWriter(schema, noClose{w.bw}, props, aprops)
	case FormatArrow:
		w.ipc, err = ipc.NewFileWriter(w.bw, ipc.WithSchema(schema), ipc.WithAllocator(alloc))
	case FormatCSV:
		w.csv, err = newCSVWriter(w.bw, schema)
	}
	if err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return nil, fmt.Errorf("data: CreateFile %s: %w", path, err)
	}
	return w, nil
}

// Schema returns the schema the writer was created with.
func (w *FileWriter) Schema() *arrow.Schema { return w.schema }

// Write appends the rows of rec, whose schema must equal the writer's. The
// writer does not keep rec after Write returns.
func (w *FileWriter) Write(rec arrow.RecordBatch) error {
	if w.done {
		return fmt.Errorf("data: write %s: writer is closed", w.path)
	}
	if !rec.Schema().Equal(w.schema) {
		return fmt.Errorf("data: write %s: record schema %s does not match the file schema %s", w.path, rec.Schema(), w.schema)
	}
	var err error
	switch w.format {
	case FormatParquet:
		err = w.pq.WriteBuffered(rec)
	case FormatArrow:
		err = w.writeIPC(rec)
	case FormatCSV:
		err = w.csv.write(rec)
	}
	if err != nil {
		return fmt.Errorf("data: write %s: %w", w.path, err)
	}
	return nil
}

// IPCBatchRows is the most rows one record batch of an Arrow IPC file
// written by CreateFile holds. Larger records are written as several
// batches: readers (arrow-go's included, which refuses a message body over
// 256 MiB) then never meet a batch too large to read — a feature table of
// 2.5 M customers is 600 MB in one batch.
const IPCBatchRows = 1 << 16

func (w *FileWriter) writeIPC(rec arrow.RecordBatch) error {
	n := rec.NumRows()
	if n <= IPCBatchRows {
		return w.ipc.Write(rec)
	}
	for off := int64(0); off < n; off += IPCBatchRows {
		sl := rec.NewSlice(off, min(off+IPCBatchRows, n))
		err := w.ipc.Write(sl)
		sl.Release()
		if err != nil {
			return err
		}
	}
	return nil
}

// Close finishes the file, flushes it to stable storage and renames it to
// its destination. On error the temporary file is removed. Calling Close or
// Abort after Close does nothing and returns nil.
func (w *FileWriter) Close() error {
	if w.done {
		return nil
	}
	w.done = true
	var err error
	switch w.format {
	case FormatParquet:
		err = w.pq.Close()
	case FormatArrow:
		err = w.ipc.Close()
	}
	if err == nil {
		err = w.bw.Flush()
	}
	if err == nil {
		err = w.tmp.Sync()
	}
	if cerr := w.tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(w.tmp.Name(), w.path)
	}
	if err != nil {
		os.Remove(w.tmp.Name())
		return fmt.Errorf("data: close %s: %w", w.path, err)
	}
	return nil
}

// Abort discards everything written and removes the temporary file; the
// destination is left untouched. It is a no-op after Close or Abort.
func (w *FileWriter) Abort() error {
	if w.done {
		return nil
	}
	w.done = true
	switch w.format {
	case FormatParquet:
		w.pq.Close() // releases buffers; the error is irrelevant
	case FormatArrow:
		w.ipc.Close()
	}
	w.tmp.Close()
	if err := os.Remove(w.tmp.Name()); err != nil {
		return fmt.Errorf("data: abort %s: %w", w.path, err)
	}
	return nil
}

// Supported formats, as named in Options.Format.
const (
	FormatCSV     = "csv"
	FormatParquet = "parquet"
	FormatArrow   = "arrow"
)

// formatOf returns the format of a path by its extension.
func formatOf(path string) (string, error) {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".csv", ".tsv", ".txt":
		return FormatCSV, nil
	case ".parquet", ".pq":
		return FormatParquet, nil
	case ".arrow", ".ipc", ".feather":
		return FormatArrow, nil
	}
	return "", fmt.Errorf("%w: file extension %q (want .csv, .tsv, .txt, .parquet, .pq, .arrow, .ipc or .feather)", ErrUnsupported, filepath.Ext(path))
}

// readFormatOf is formatOf for inputs, which may also be gzip-compressed
// delimited text: .csv.gz, .tsv.gz, .txt.gz.
func readFormatOf(path string) (string, error) {
	if name, gz := gzipExt(path); gz {
		if f, err := formatOf(name); err == nil && f == FormatCSV {
			return f, nil
		}
		return "", fmt.Errorf("%w: file extension %q (gzip is read for .csv.gz, .tsv.gz and .txt.gz; want those, .csv, .tsv, .txt, .parquet, .pq, .arrow, .ipc or .feather)", ErrUnsupported, filepath.Ext(path))
	}
	return formatOf(path)
}

// csvWritable reports whether every column of schema can be written to CSV.
func csvWritable(schema *arrow.Schema) error {
	for _, f := range schema.Fields() {
		switch f.Type.(type) {
		case arrow.NestedType:
			return fmt.Errorf("%w: CSV cannot hold column %q of nested type %s", ErrUnsupported, f.Name, f.Type)
		}
	}
	return nil
}

// noClose hides the Close method of a writer.
type noClose struct{ io.Writer }

// csvWriter writes RFC 4180 CSV with a header row and "\n" line ends.
type csvWriter struct {
	w   io.Writer
	buf []byte
}

func newCSVWriter(w io.Writer, schema *arrow.Schema) (*csvWriter, error) {
	c := &csvWriter{w: w}
	for i, fld := range schema.Fields() {
		if i > 0 {
			c.buf = append(c.buf, ',')
		}
		c.buf = appendCSVField(c.buf, fld.Name)
	}
	c.buf = append(c.buf, '\n')
	_, err := c.w.Write(c.buf)
	return c, err
}

func (c *csvWriter) write(rec arrow.RecordBatch) error {
	cols := rec.Columns()
	for i := 0; i < int(rec.NumRows()); i++ {
		c.buf = c.buf[:0]
		for j, col := range cols {
			if j > 0 {
				c.buf = append(c.buf, ',')
			}
			c.buf = appendCSVValue(c.buf, col, i)
		}
		c.buf = append(c.buf, '\n')
		if _, err := c.w.Write(c.buf); err != nil {
			return err
		}
	}
	return nil
}

// appendCSVValue appends the CSV text of col[i]; null is the empty field.
func appendCSVValue(b []byte, col arrow.Array, i int) []byte {
	if col.IsNull(i) {
		return b
	}
	switch a := col.(type) {
	case *array.String:
		return appendCSVField(b, a.Value(i))
	case *array.LargeString:
		return appendCSVField(b, a.Value(i))
	case *array.Int8:
		return strconv.AppendInt(b, int64(a.Value(i)), 10)
	case *array.Int16:
		return strconv.AppendInt(b, int64(a.Value(i)), 10)
	case *array.Int32:
		return strconv.AppendInt(b, int64(a.Value(i)), 10)
	case *array.Int64:
		return strconv.AppendInt(b, a.Value(i), 10)
	case *array.Uint8:
		return strconv.AppendUint(b, uint64(a.Value(i)), 10)
	case *array.Uint16:
		return strconv.AppendUint(b, uint64(a.Value(i)), 10)
	case *array.Uint32:
		return strconv.AppendUint(b, uint64(a.Value(i)), 10)
	case *array.Uint64:
		return strconv.AppendUint(b, a.Value(i), 10)
	case *array.Float32:
		return strconv.AppendFloat(b, float64(a.Value(i)), 'g', -1, 32)
	case *array.Float64:
		return strconv.AppendFloat(b, a.Value(i), 'g', -1, 64)
	case *array.Boolean:
		return strconv.AppendBool(b, a.Value(i))
	case *array.Timestamp:
		unit := a.DataType().(*arrow.TimestampType).Unit
		return a.Value(i).ToTime(unit).UTC().AppendFormat(b, time.RFC3339Nano)
	case *array.Date32:
		return a.Value(i).ToTime().UTC().AppendFormat(b, time.DateOnly)
	case *array.Date64:
		return a.Value(i).ToTime().UTC().AppendFormat(b, time.DateOnly)
	}
	return appendCSVField(b, col.ValueStr(i))
}

// appendCSVField appends s, quoted when RFC 4180 (or a leading space, which
// some readers trim) requires it.
func appendCSVField(b []byte, s string) []byte {
	if !csvNeedsQuotes(s) {
		return append(b, s...)
	}
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' {
			b = append(b, '"')
		}
		b = append(b, s[i])
	}
	return append(b, '"')
}

func csvNeedsQuotes(s string) bool {
	if s == "" {
		return false
	}
	if s[0] == ' ' || s[0] == '\t' || s[len(s)-1] == ' ' || s[len(s)-1] == '\t' || s == `\.` {
		return true
	}
	return strings.ContainsAny(s, ",\"\r\n")
}
