package data

import (
	"errors"
	"fmt"
	"io"
)

// Bounds of one quoted CSV field. A field still open after MaxQuotedLines
// line breaks or MaxQuotedBytes bytes, or one over more than one line
// break that the end of the file leaves open, is a stray quote, not data: the reader stops
// with ErrBrokenQuote naming the line of the quote, instead of reading the
// rest of the file as one rejected row.
const (
	MaxQuotedLines = 20
	MaxQuotedBytes = 1 << 20
)

var (
	// ErrBrokenQuote: a quoted CSV field runs over MaxQuotedLines lines or
	// MaxQuotedBytes bytes (a stray opening quote). Wrapped in a *ParseError
	// whose Line is the quote's.
	ErrBrokenQuote = errors.New("data: broken quote")
	// ErrRowCount: the rows read from a CSV file differ from the records
	// its lines hold; never passes silently.
	ErrRowCount = errors.New("data: rows read differ from the file's records")
)

// quoteGuard sits between the file and encoding/csv. It follows RFC 4180
// quoting as encoding/csv does (a quote opens a field only at its start;
// "" is an escaped quote; after a broken or bare quote encoding/csv drops
// the rest of the line), bounds quoted fields and counts the records: the
// non-empty lines outside quoted fields.
type quoteGuard struct {
	r     io.Reader
	path  string
	delim byte

	line               int64 // current physical line, 1-based
	atStart, hasData   bool
	inQuote, quoteSeen bool
	pendingCR          bool // a CR outside quotes, data unless a LF follows
	skipLine           bool
	qLine              int64
	qLines, qBytes     int
	records            int64
	err                error
	maxLines, maxBytes int
}

func newQuoteGuard(r io.Reader, path string, delim rune) *quoteGuard {
	return &quoteGuard{r: r, path: path, delim: byte(delim), line: 1, atStart: true,
		maxLines: MaxQuotedLines, maxBytes: MaxQuotedBytes}
}

func (g *quoteGuard) Read(p []byte) (int, error) {
	if g.err != nil {
		return 0, g.err
	}
	n, err := g.r.Read(p)
	for i := 0; i < n; i++ {
		if g.step(p[i]) {
			g.err = &ParseError{File: g.path, Line: g.qLine, Err: fmt.Errorf("%w: the quoted field opened on this line is still open after %d lines and %d bytes (at most %d lines, %d bytes): a stray \"?",
				ErrBrokenQuote, g.qLines, g.qBytes, g.maxLines, g.maxBytes)}
			return i, nil
		}
	}
	if err == io.EOF && g.inQuote && !g.quoteSeen && g.qLines > 1 {
		g.err = &ParseError{File: g.path, Line: g.qLine, Err: fmt.Errorf("%w: the quoted field opened on this line runs over %d lines to the end of the file: a stray \"?",
			ErrBrokenQuote, g.qLines)}
		return n, nil
	}
	if err == io.EOF && (g.hasData || g.inQuote) {
		g.records++ // the last line, without a line break
		g.hasData, g.inQuote = false, false
	}
	return n, err
}

func (g *quoteGuard) endLine() {
	if g.hasData {
		g.records++
	}
	g.line++
	g.atStart, g.hasData, g.skipLine = true, false, false
}

// step consumes one byte; true when a quoted field broke its bounds.
func (g *quoteGuard) step(b byte) bool {
	if g.skipLine {
		if b == '\n' {
			g.endLine()
		}
		return false
	}
	if g.inQuote {
		g.qBytes++
		if g.quoteSeen {
			g.quoteSeen = false
			switch b {
			case '"': // escaped quote
			case g.delim:
				g.inQuote, g.atStart = false, true
			case '\n':
				g.inQuote = false
				g.endLine()
			case '\r':
				g.inQuote, g.atStart = false, false
			default: // encoding/csv: ErrQuote, the rest of the line is dropped
				g.inQuote, g.skipLine = false, true
			}
			return false
		}
		switch b {
		case '"':
			g.quoteSeen = true
		case '\n':
			g.line++
			g.qLines++
		}
		return g.qLines > g.maxLines || g.qBytes > g.maxBytes
	}
	// encoding/csv drops the CR of a CRLF (and a CR that ends the file);
	// any other CR is field data: a line of "\r\r" is a record.
	if g.pendingCR {
		g.pendingCR = false
		if b != '\n' {
			g.hasData = true
		}
	}
	if b == '\r' {
		g.pendingCR, g.atStart = true, false
		return false
	}
	if b != '\n' {
		g.hasData = true
	}
	switch {
	case b == '"' && g.atStart:
		g.inQuote, g.qLine, g.qLines, g.qBytes = true, g.line, 0, 0
	case b == '"': // encoding/csv: ErrBareQuote, the rest of the line is dropped
		g.skipLine = true
	case b == g.delim:
		g.atStart = true
	case b == '\n':
		g.endLine()
	default:
		g.atStart = false
	}
	return false
}
