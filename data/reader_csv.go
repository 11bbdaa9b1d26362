package data

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// csvSource reads delimited text: RFC 4180 CSV through encoding/csv, or
// whitespace-separated fields without quoting.
type csvSource struct {
	r      *Reader
	path   string
	f      *os.File
	cr     *csv.Reader // nil in whitespace mode
	ws     *wsReader   // nil in CSV mode
	delim  rune
	col    [nCanon]int
	nf     int         // expected fields per row
	layout string      // Options.TimeLayout
	guard  *quoteGuard // bounds quoted fields and counts records; nil in whitespace mode
	first  int64       // the reader's RowsRead when this file's data rows began
	header int64       // 1 when the file has a header row
	gz     io.Closer   // the gzip stream of a compressed file, or nil
	names  []string    // the header's names, trimmed; nil without header
}

// isHeader reports whether rec repeats the header (files concatenated
// with their headers), ignoring case and spaces.
func (s *csvSource) isHeader(rec []string) bool {
	if len(rec) != len(s.names) || len(rec) == 0 {
		return false
	}
	for i, f := range rec {
		if !strings.EqualFold(strings.TrimSpace(f), s.names[i]) {
			return false
		}
	}
	return true
}

func openCSV(r *Reader, path string) (*csvSource, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("data: open: %w", err)
	}
	s := &csvSource{r: r, path: path, f: f, layout: r.opt.TimeLayout}
	if err := s.init(); err != nil {
		f.Close()
		return nil, err
	}
	return s, nil
}

func (s *csvSource) init() error {
	opt := &s.r.opt
	br, gz, err := decodeCSV(s.f, s.path)
	if err != nil {
		return err
	}
	s.gz = gz
	if opt.Whitespace {
		s.ws = &wsReader{br: br}
	} else {
		s.delim = opt.Delimiter
		if s.delim == 0 {
			s.delim = ','
			if name, _ := gzipExt(s.path); strings.EqualFold(filepath.Ext(name), ".tsv") {
				s.delim = '\t'
			}
		}
		if s.delim < 0x80 && s.delim != '"' {
			s.guard = newQuoteGuard(br, s.path, s.delim)
			s.cr = csv.NewReader(s.guard)
		} else {
			s.cr = csv.NewReader(br)
		}
		s.cr.Comma = s.delim
		s.cr.FieldsPerRecord = -1 // counted here, so that a bad count is a bad row
		s.cr.ReuseRecord = true
	}

	s.first = s.r.stats.RowsRead
	if opt.NoHeader {
		// Every row must have as many fields as the first good one.
		s.nf = -1
		return s.resolveNumbers()
	}
	s.header = 1
	first, _, err := s.read()
	if err == io.EOF {
		return fmt.Errorf("%w: %s: empty file, no header row", ErrMissingColumn, s.path)
	}
	if err != nil {
		return fmt.Errorf("data: read %s: header: %w", s.path, err)
	}
	s.nf = len(first)
	names := make([]string, len(first))
	seen := make(map[string]bool, len(first))
	for i, n := range first {
		n = strings.TrimSpace(n)
		if seen[n] {
			return fmt.Errorf("%w: %s: %q", ErrDuplicateColumn, s.path, n)
		}
		seen[n] = true
		names[i] = n
	}
	s.names = names
	s.col, err = s.r.resolveColumns(s.path, names)
	if err != nil && s.ws == nil {
		if h := delimiterHint(names, s.delim); h != "" {
			err = fmt.Errorf("%w%s", err, h)
		}
	}
	return err
}

// resolveNumbers resolves the 1-based column numbers of a file without
// header.
func (s *csvSource) resolveNumbers() error {
	for c, canon := range canonicalCols {
		s.col[c] = -1
		v, ok := s.r.opt.Map[canon]
		if !ok {
			if c < 2 {
				return fmt.Errorf("%w: %s: file has no header and column %q is not mapped to a column number", ErrMissingColumn, s.path, canon)
			}
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return fmt.Errorf("data: %s: file has no header, so Map[%q] must be a 1-based column number, not %q", s.path, canon, v)
		}
		s.col[c] = n - 1
		s.r.optional |= optBit(c)
	}
	return nil
}

// beyond reports whether a mapped column number is beyond a row of n fields.
func (s *csvSource) beyond(n int) bool {
	for _, c := range s.col {
		if c >= n {
			return true
		}
	}
	return false
}

// read returns the next record and its physical line number.
func (s *csvSource) read() ([]string, int64, error) {
	if s.ws != nil {
		return s.ws.read()
	}
	rec, err := s.cr.Read()
	if err != nil {
		return nil, 0, err
	}
	line, _ := s.cr.FieldPos(0)
	return rec, int64(line), nil
}

// raw re-joins the fields of a bad row for the quarantine.
func (s *csvSource) raw(rec []string) string {
	if s.ws != nil {
		return s.ws.text
	}
	return strings.Join(rec, string(s.delim))
}

func (s *csvSource) fill(n int) (int, bool, error) {
	r := s.r
	added := 0
	for added < n {
		rec, line, err := s.read()
		if err == io.EOF {
			if g := s.guard; g != nil {
				if read := r.stats.RowsRead - s.first; read != g.records-s.header {
					return added, false, fmt.Errorf("%w: %s: %d rows read, but its lines hold %d records (header excluded)",
						ErrRowCount, s.path, read, g.records-s.header)
				}
			}
			return added, true, nil
		}
		if err != nil {
			var pe *csv.ParseError
			if !errors.As(err, &pe) {
				return added, false, fmt.Errorf("data: read %s: %w", s.path, err)
			}
			r.stats.RowsRead++
			if err := r.reject(&ParseError{File: s.path, Line: int64(pe.StartLine), Err: newReason(ErrBadRow, pe.Err.Error())}, ""); err != nil {
				return added, false, err
			}
			continue
		}
		r.stats.RowsRead++
		if s.nf < 0 {
			s.nf = len(rec) // the first row of a file without header
		}
		if len(rec) != s.nf {
			msg := "row has " + strconv.Itoa(len(rec)) + " fields, want " + strconv.Itoa(s.nf)
			if len(rec) == s.nf+1 && strings.TrimSpace(rec[s.nf]) == "" {
				msg += " (a delimiter at the end of the line?)"
			}
			e := &ParseError{File: s.path, Line: line, Err: newReason(ErrBadRow, msg)}
			if err := r.reject(e, s.raw(rec)); err != nil {
				return added, false, err
			}
			continue
		}
		if s.beyond(len(rec)) {
			e := &ParseError{File: s.path, Line: line, Err: newReason(ErrBadRow, "row has "+strconv.Itoa(len(rec))+" fields, fewer than the mapped column numbers")}
			if err := r.reject(e, s.raw(rec)); err != nil {
				return added, false, err
			}
			continue
		}
		if s.isHeader(rec) {
			e := &ParseError{File: s.path, Line: line, Err: newReason(ErrBadRow, "the header line repeated (files concatenated with their headers?)")}
			if err := r.reject(e, s.raw(rec)); err != nil {
				return added, false, err
			}
			continue
		}
		col, err := s.row(rec)
		if err != nil {
			if err := r.reject(&ParseError{File: s.path, Line: line, Column: canonicalCols[col], Err: err}, s.raw(rec)); err != nil {
				return added, false, err
			}
			continue
		}
		added++
	}
	return added, false, nil
}

// row converts and appends one row; on error it returns the index of the
// bad canonical column.
func (s *csvSource) row(rec []string) (int, error) {
	id, err := checkID(rec[s.col[0]])
	if err != nil {
		return 0, err
	}
	ms, err := parseTime(rec[s.col[1]], s.layout)
	if err != nil {
		return 1, err
	}
	typ := EventPurchase
	if s.col[2] >= 0 {
		if typ, err = normType(rec[s.col[2]]); err != nil {
			return 2, err
		}
	}
	var amount float64
	var valid bool
	if s.col[3] >= 0 {
		if amount, valid, err = parseAmount(rec[s.col[3]]); err != nil {
			return 3, err
		}
	}
	var x extra
	if c := s.col[cEventID]; c >= 0 {
		if x.eventID, err = checkEventID(rec[c]); err != nil {
			return cEventID, err
		}
	}
	if c := s.col[cSubID]; c >= 0 {
		if x.subID, err = checkSubscriptionID(rec[c]); err != nil {
			return cSubID, err
		}
	}
	if c := s.col[cPeriodEnd]; c >= 0 {
		if x.periodEnd, x.hasEnd, err = parsePeriodEnd(rec[c], s.layout, ms); err != nil {
			return cPeriodEnd, err
		}
	}
	s.r.appendRow(id, ms, typ, amount, valid, &x)
	return 0, nil
}

func (s *csvSource) close() error {
	if s.gz != nil {
		s.gz.Close()
	}
	return s.f.Close()
}

func (s *csvSource) rows() int64 { return -1 }

// wsReader splits lines into fields separated by runs of spaces and tabs.
// Blank lines are skipped; "\r\n" and a last line without newline are fine.
type wsReader struct {
	br     *bufio.Reader
	line   int64
	buf    []byte
	fields []string
	text   string // the current line, without line end
}

func (w *wsReader) read() ([]string, int64, error) {
	for {
		b, err := w.br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			w.buf = append(w.buf[:0], b...)
			for err == bufio.ErrBufferFull {
				b, err = w.br.ReadSlice('\n')
				w.buf = append(w.buf, b...)
			}
			b = w.buf
		}
		if err != nil && err != io.EOF {
			return nil, 0, err
		}
		if len(b) == 0 && err == io.EOF {
			return nil, 0, io.EOF
		}
		w.line++
		for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
			b = b[:len(b)-1]
		}
		w.text = string(b)
		w.fields = w.fields[:0]
		t := w.text
		for {
			i := 0
			for i < len(t) && (t[i] == ' ' || t[i] == '\t') {
				i++
			}
			t = t[i:]
			if t == "" {
				break
			}
			j := 0
			for j < len(t) && t[j] != ' ' && t[j] != '\t' {
				j++
			}
			w.fields = append(w.fields, t[:j])
			t = t[j:]
		}
		if len(w.fields) > 0 {
			return w.fields, w.line, nil
		}
		if err == io.EOF {
			return nil, 0, io.EOF
		}
	}
}
