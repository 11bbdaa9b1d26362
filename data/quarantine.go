package data

import (
	"cmp"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Quarantine records rows that could not be read, as CSV with the header
// source_file,line,column,reason,raw. raw is the row's text as far as it is
// known: for CSV the fields re-joined with the delimiter, for Parquet and
// Arrow the values' text joined with ','. A Quarantine is safe for
// concurrent use by several readers.
type Quarantine struct {
	mu    sync.Mutex
	w     *csv.Writer
	c     io.Closer
	n     int64
	long  int64 // rows rejected for ErrLongID
	err   error
	row   [5]string
	close bool
	lazy  string // CreateQuarantineLazy: the file to create at the first Add
	cols  []colTally
}

// colTally counts the rows rejected for one column ("" for the row as a
// whole: a field count, a broken CSV row) and keeps the first one.
type colTally struct {
	column string
	n      int64
	first  string // "file line N: reason"
}

// CreateQuarantine creates (or truncates) the file at path and returns a
// Quarantine writing to it. Close flushes and closes the file. Errors wrap
// ErrOutput.
func CreateQuarantine(path string) (*Quarantine, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("%w: create quarantine: %w", ErrOutput, err)
	}
	q := NewQuarantine(f)
	q.c = f
	if q.err != nil {
		f.Close()
		return nil, q.err
	}
	return q, nil
}

// CreateQuarantineLazy returns a Quarantine that creates the file at path,
// and its folder, only when the first row is added: a run without bad rows
// leaves nothing behind. Errors of Add wrap ErrOutput.
func CreateQuarantineLazy(path string) *Quarantine {
	return &Quarantine{lazy: path}
}

// NewQuarantine returns a Quarantine writing to w. Close flushes but does
// not close w.
func NewQuarantine(w io.Writer) *Quarantine {
	q := &Quarantine{w: csv.NewWriter(w)}
	if err := q.w.Write([]string{"source_file", "line", "column", "reason", "raw"}); err != nil {
		q.err = fmt.Errorf("%w: write quarantine: %w", ErrOutput, err)
	}
	return q
}

// Add records one bad row. The reason column is e.Err's text.
func (q *Quarantine) Add(e *ParseError, raw string) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.err != nil {
		return q.err
	}
	if q.close {
		return fmt.Errorf("data: quarantine is closed")
	}
	if q.w == nil {
		if err := os.MkdirAll(filepath.Dir(q.lazy), 0o755); err != nil {
			q.err = fmt.Errorf("%w: create quarantine %s: %w", ErrOutput, q.lazy, err)
			return q.err
		}
		f, err := os.Create(q.lazy)
		if err != nil {
			q.err = fmt.Errorf("%w: create quarantine: %w", ErrOutput, err)
			return q.err
		}
		q.c = f
		q.w = csv.NewWriter(f)
		if err := q.w.Write([]string{"source_file", "line", "column", "reason", "raw"}); err != nil {
			q.err = fmt.Errorf("%w: write quarantine %s: %w", ErrOutput, q.lazy, err)
			return q.err
		}
	}
	q.row = [5]string{e.File, strconv.FormatInt(e.Line, 10), e.Column, e.Err.Error(), raw}
	if err := q.w.Write(q.row[:]); err != nil {
		q.err = fmt.Errorf("%w: write quarantine: %w", ErrOutput, err)
		return q.err
	}
	q.n++
	if errors.Is(e.Err, ErrLongID) {
		q.long++
	}
	q.tally(e)
	return nil
}

func (q *Quarantine) tally(e *ParseError) {
	for i := range q.cols {
		if q.cols[i].column == e.Column {
			q.cols[i].n++
			return
		}
	}
	q.cols = append(q.cols, colTally{column: e.Column, n: 1,
		first: e.File + " line " + strconv.FormatInt(e.Line, 10) + ": " + e.Err.Error()})
}

// columnHints say what usually makes every row of a column fail.
var columnHints = map[string]string{
	ColEventTime: "another time format? --time-layout takes a Go layout, e.g. '01/02/2006 15:04' or '02.01.2006'",
	ColAmount:    "a decimal comma or a currency sign? amounts must be plain decimals such as -1234.50",
	"":           "another delimiter? see --delimiter",
}

// Summary describes the rejected rows by column, most first: the count,
// the first row's file, line and reason, and for a column that rejected
// more than half of the rows read (read: the rows read, ≤ 0 unknown) a
// hint at the usual cause. "" when nothing was rejected.
func (q *Quarantine) Summary(read int64) string {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.cols) == 0 {
		return ""
	}
	cols := slices.Clone(q.cols)
	slices.SortStableFunc(cols, func(a, b colTally) int { return cmp.Compare(b.n, a.n) })
	var b strings.Builder
	b.WriteString("rejected rows by column: ")
	for i, c := range cols {
		if i == 3 {
			fmt.Fprintf(&b, "; %d more columns", len(cols)-3)
			break
		}
		if i > 0 {
			b.WriteString("; ")
		}
		name := c.column
		if name == "" {
			name = "whole row"
		}
		fmt.Fprintf(&b, "%s %d (first: %s)", name, c.n, c.first)
		if h, ok := columnHints[c.column]; ok && read > 0 && 2*c.n > read {
			b.WriteString(" — " + h)
		}
	}
	return b.String()
}

// LongIDs returns the number of rows added because their customer_id is
// longer than MaxIDLength (ErrLongID); they are part of Count.
func (q *Quarantine) LongIDs() int64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.long
}

// Count returns the number of rows added.
func (q *Quarantine) Count() int64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.n
}

// Close flushes the quarantine and closes the file it was created with.
// Calling it again does nothing.
func (q *Quarantine) Close() error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.close {
		return nil
	}
	q.close = true
	if q.w == nil {
		return q.err // a lazy quarantine that never got a row: no file
	}
	q.w.Flush()
	err := q.w.Error()
	if q.c != nil {
		if cerr := q.c.Close(); err == nil {
			err = cerr
		}
	}
	if err == nil {
		err = q.err
	}
	if err != nil {
		if errors.Is(err, ErrOutput) {
			return fmt.Errorf("data: close quarantine: %w", err)
		}
		return fmt.Errorf("%w: close quarantine: %w", ErrOutput, err)
	}
	return nil
}
