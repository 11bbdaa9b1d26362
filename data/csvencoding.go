package data

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// What CRM and spreadsheet exports look like besides plain UTF-8 CSV, and
// what the reader does with each (detected from the first bytes, never
// from the name alone):
//
//   - gzip-compressed (magic 1f 8b; .csv.gz, or a .csv that is gzip):
//     decompressed while reading; line numbers are the decompressed file's.
//   - UTF-16 with a byte-order mark (FF FE or FE FF; Excel's "Unicode
//     Text", usually tab-separated): transcoded to UTF-8. An unpaired
//     surrogate (or an odd last byte) becomes the byte 0xff, invalid
//     UTF-8, so the row is refused like any non-UTF-8 row (quarantined,
//     counted) instead of changed silently.
//   - UTF-8 byte-order mark: skipped.
//   - classic Mac line ends (CR only, no LF in the first 64 KiB): each CR
//     read as a line break.

// gzipExt strips a trailing ".gz" from a path: "h.csv.gz" → "h.csv".
func gzipExt(path string) (string, bool) {
	if strings.EqualFold(filepath.Ext(path), ".gz") {
		return path[:len(path)-3], true
	}
	return path, false
}

// DecodeText returns the text of a delimited file read from raw, decoded
// as the event reader decodes it (gzip, UTF-16 or UTF-8 byte-order mark,
// CR-only line ends: see above), for the other tables churnpipe reads
// (customer attributes, spend files). The closer, when not nil, must be
// closed after reading (before raw). Errors name path.
func DecodeText(raw io.Reader, path string) (io.Reader, io.Closer, error) {
	return decodeCSV(raw, path)
}

// decodeCSV wraps the raw bytes of a delimited text file in the decoders
// its first bytes ask for; the returned closer (nil when none) releases a
// gzip stream. The path is only for errors.
func decodeCSV(raw io.Reader, path string) (*bufio.Reader, io.Closer, error) {
	br := bufio.NewReaderSize(raw, 1<<16)
	var closer io.Closer
	if b, err := br.Peek(2); err == nil && b[0] == 0x1f && b[1] == 0x8b {
		gz, err := gzip.NewReader(br)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: %s: gzip header: %w", ErrCorrupt, path, err)
		}
		closer = gz
		br = bufio.NewReaderSize(gzipErrors{gz, path}, 1<<16)
	} else if _, gz := gzipExt(path); gz {
		return nil, nil, fmt.Errorf("%w: %s: named .gz but not gzip-compressed (no 1f 8b magic)", ErrCorrupt, path)
	}
	if b, err := br.Peek(2); err == nil && (b[0] == 0xff && b[1] == 0xfe || b[0] == 0xfe && b[1] == 0xff) {
		br.Discard(2)
		br = bufio.NewReaderSize(&utf16Reader{r: br, big: b[0] == 0xfe}, 1<<16)
	}
	if b, err := br.Peek(3); err == nil && string(b) == "\uFEFF" {
		br.Discard(3)
	}
	if b, _ := br.Peek(br.Size()); bytes.IndexByte(b, '\r') >= 0 && bytes.IndexByte(b, '\n') < 0 {
		br = bufio.NewReaderSize(crReader{br}, 1<<16)
	}
	return br, closer, nil
}

// gzipErrors names the file in a decompression error (a truncated or
// corrupt stream) and marks it ErrCorrupt.
type gzipErrors struct {
	r    io.Reader
	path string
}

func (g gzipErrors) Read(p []byte) (int, error) {
	n, err := g.r.Read(p)
	if err != nil && err != io.EOF {
		err = fmt.Errorf("%w: %s: gzip stream: %w", ErrCorrupt, g.path, err)
	}
	return n, err
}

// crReader reads a file whose lines end in CR alone: every CR is a line
// break (LF).
type crReader struct{ r io.Reader }

func (c crReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	for i, b := range p[:n] {
		if b == '\r' {
			p[i] = '\n'
		}
	}
	return n, err
}

// utf16Reader transcodes UTF-16 (little-endian unless big) to UTF-8.
type utf16Reader struct {
	r       io.Reader
	big     bool
	in      [4096]byte
	nin     int    // bytes of in not yet decoded
	out     []byte // decoded, not yet returned
	pending rune   // a high surrogate waiting for its pair, or 0
	eof     bool
}

func (u *utf16Reader) Read(p []byte) (int, error) {
	for len(u.out) == 0 {
		if u.eof {
			if u.pending != 0 {
				u.out = append(u.out, badUnit)
				u.pending = 0
				continue
			}
			if u.nin > 0 { // an odd last byte
				u.out = append(u.out, badUnit)
				u.nin = 0
				continue
			}
			return 0, io.EOF
		}
		n, err := u.r.Read(u.in[u.nin:])
		u.nin += n
		if err == io.EOF {
			u.eof = true
		} else if err != nil {
			return 0, err
		}
		u.decode()
	}
	n := copy(p, u.out)
	u.out = u.out[n:]
	return n, nil
}

// decode moves the complete code units of in to out.
func (u *utf16Reader) decode() {
	u.out = u.out[:0]
	i := 0
	for ; i+1 < u.nin; i += 2 {
		var c rune
		if u.big {
			c = rune(u.in[i])<<8 | rune(u.in[i+1])
		} else {
			c = rune(u.in[i+1])<<8 | rune(u.in[i])
		}
		switch {
		case u.pending != 0:
			if r := utf16.DecodeRune(u.pending, c); r != utf8.RuneError {
				u.out = utf8.AppendRune(u.out, r)
				u.pending = 0
				continue
			}
			u.out = append(u.out, badUnit)
			u.pending = 0
			if utf16.IsSurrogate(c) && c < 0xdc00 {
				u.pending = c
				continue
			}
			u.out = appendUnit(u.out, c)
		case utf16.IsSurrogate(c) && c < 0xdc00:
			u.pending = c
		default:
			u.out = appendUnit(u.out, c)
		}
	}
	u.nin = copy(u.in[:], u.in[i:u.nin])
}

// badUnit stands for a UTF-16 code unit that does not decode: a byte that
// is never valid UTF-8.
const badUnit = 0xff

// appendUnit appends a code unit that is not a high surrogate (a lone low
// surrogate is badUnit).
func appendUnit(out []byte, c rune) []byte {
	if utf16.IsSurrogate(c) {
		return append(out, badUnit)
	}
	return utf8.AppendRune(out, c)
}

// delimiterHint says which delimiter a header that resolved to a single
// field seems to use, or "".
func delimiterHint(names []string, delim rune) string {
	if len(names) != 1 {
		return ""
	}
	for _, c := range []struct {
		r    rune
		flag string
	}{{';', "';'"}, {'\t', "tab"}, {'|', "'|'"}, {',', "','"}} {
		if c.r != delim && strings.ContainsRune(names[0], c.r) {
			return fmt.Sprintf(" (the header looks %s-separated: try --delimiter %s)", strings.Trim(c.flag, "'"), c.flag)
		}
	}
	return ""
}
