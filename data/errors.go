package data

import (
	"errors"
	"fmt"
	"strconv"
)

// Sentinel errors. Row-level errors are wrapped in a *ParseError; test with
// errors.Is.
var (
	// ErrEmptyID: customer_id is empty or null.
	ErrEmptyID = errors.New("data: empty customer_id")
	// ErrBadID: customer_id is not valid UTF-8, contains a NUL byte, or is
	// longer than MaxIDLength (ErrLongID).
	ErrBadID = errors.New("data: bad customer_id")
	// ErrLongID: customer_id has more than MaxIDLength characters. It wraps
	// ErrBadID.
	ErrLongID = fmt.Errorf("%w: longer than %d characters", ErrBadID, MaxIDLength)
	// ErrBadTime: event_time is null, unparsable or outside the years 1900..2200.
	ErrBadTime = errors.New("data: bad event_time")
	// ErrBadAmount: amount is not a plain decimal number, not finite, or |amount| > 1e15.
	ErrBadAmount = errors.New("data: bad amount")
	// ErrBadPeriodEnd: period_end is unparsable, outside the years
	// 1900..2200, or on a UTC day before the event's.
	ErrBadPeriodEnd = errors.New("data: bad period_end")
	// ErrBadRow: the row as a whole cannot be read (wrong number of
	// fields, broken quoting, event_type not valid UTF-8).
	ErrBadRow = errors.New("data: bad row")
	// ErrCorrupt: a binary file's structure is damaged (a Parquet or Arrow
	// footer, or the Arrow schema a Parquet file stores in its metadata,
	// claims more bytes or entries than the file holds, or arrow-go
	// panicked decoding it). The whole file is unreadable (exit code 3).
	ErrCorrupt = errors.New("data: corrupt file")
	// ErrNotRegularFile: a file of an input folder is a FIFO, socket or
	// device (directly or through a symbolic link). Reading one would block
	// for ever or never end, so the folder is refused naming it.
	ErrNotRegularFile = errors.New("data: not a regular file")
	// ErrMissingColumn: a required column (customer_id, event_time), or a
	// column named in Options.Map, is absent or unusable. ErrColumnType and
	// ErrDuplicateColumn wrap it, so errors.Is(err, ErrMissingColumn)
	// catches every problem with a file's columns.
	ErrMissingColumn = errors.New("data: missing column")
	// ErrColumnType: a source column has an Arrow or Parquet type that
	// cannot be converted to its canonical column.
	ErrColumnType = fmt.Errorf("%w: unsupported column type", ErrMissingColumn)
	// ErrDuplicateColumn: a header or schema names a column twice.
	ErrDuplicateColumn = fmt.Errorf("%w: duplicated column name", ErrMissingColumn)
	// ErrOutput: a file churnpipe writes (the quarantine CSV) cannot be
	// created or written: missing folder, permissions, disk full. It is not
	// a problem of the input (exit code 8, not 3).
	ErrOutput = errors.New("data: cannot write output")
	// ErrTooManyRejects is wrapped by CheckRejects.
	ErrTooManyRejects = errors.New("data: too many rejected rows")
)

// ParseError is a row that cannot be read into the canonical layout. Like
// csv.ParseError it says where: File is the path of the source file, Line
// the 1-based physical line of a CSV file (the header is line 1) or the
// 1-based row number of a Parquet or Arrow file, Column the canonical column
// name ("" when the row as a whole is bad).
type ParseError struct {
	File   string
	Line   int64
	Column string
	Err    error
}

// Error returns for example `file.csv:17: column "amount": non-finite amount "NaN"`.
func (e *ParseError) Error() string {
	s := e.File + ":" + strconv.FormatInt(e.Line, 10) + ": "
	if e.Column != "" {
		s += "column " + strconv.Quote(e.Column) + ": "
	}
	return s + e.Err.Error()
}

// Unwrap returns Err.
func (e *ParseError) Unwrap() error { return e.Err }

// reason is a row-level error: its text is the human-readable reason and it
// unwraps to one of the sentinels.
type reason struct {
	sentinel error
	msg      string
}

func (r *reason) Error() string { return r.msg }
func (r *reason) Unwrap() error { return r.sentinel }

// newReason builds a reason with the text msg.
func newReason(sentinel error, msg string) error {
	return &reason{sentinel: sentinel, msg: msg}
}

// newReasonQ builds a reason with the text msg followed by value quoted.
func newReasonQ(sentinel error, msg, value string) error {
	return &reason{sentinel: sentinel, msg: msg + " " + strconv.Quote(value)}
}

// CheckRejects returns an error wrapping ErrTooManyRejects when the
// fraction of rejected rows, s.RowsRejected / s.RowsRead, exceeds
// maxFraction (0.01 = 1 %). No rows read is never an error.
func CheckRejects(s Stats, maxFraction float64) error {
	if s.RowsRead <= 0 {
		return nil
	}
	frac := float64(s.RowsRejected) / float64(s.RowsRead)
	if frac > maxFraction || (s.RowsRejected > 0 && maxFraction <= 0) {
		return fmt.Errorf("%w: %d of %d rows (%.2f %%) rejected, limit %.2f %%",
			ErrTooManyRejects, s.RowsRejected, s.RowsRead, 100*frac, 100*maxFraction)
	}
	return nil
}
