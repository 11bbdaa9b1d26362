package data

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// encodingSample is a small history with a quoted field over two lines, a
// non-ASCII id and a supplementary-plane character (a surrogate pair in
// UTF-16), so that every decoder is exercised.
const encodingSample = hdr +
	"c1,2024-03-01,purchase,10.5\n" +
	"\"c2\",2024-03-02T10:00:00Z,visit,\n" +
	"café,2024-03-03,purchase,3\n" +
	"𝒳-7,2024-03-04,purchase,4\n" +
	"c1,2024-03-05,\"re\nturn\",-2\n" +
	"c9,2024-03-06,purchase,1\n"

func utf16Bytes(s string, big bool) []byte {
	var b []byte
	if big {
		b = []byte{0xfe, 0xff}
	} else {
		b = []byte{0xff, 0xfe}
	}
	for _, u := range utf16.Encode([]rune(s)) {
		if big {
			b = append(b, byte(u>>8), byte(u))
		} else {
			b = append(b, byte(u), byte(u>>8))
		}
	}
	return b
}

func gzipBytes(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	_, err := w.Write(b)
	require.NoError(t, err)
	require.NoError(t, w.Close())
	return buf.Bytes()
}

// TestCSVEncodings: the exports CRM systems and spreadsheets produce —
// gzip (by name or by content), UTF-16 LE/BE with a byte-order mark
// (Excel "Unicode Text"), a UTF-8 BOM, CRLF and CR-only line ends — read
// to the same events, line numbers and counts as the plain UTF-8 file.
func TestCSVEncodings(t *testing.T) {
	plain := []byte(encodingSample)
	want, err := readAll(t, writeTemp(t, "plain.csv", encodingSample), Options{})
	require.NoError(t, err)
	require.Len(t, want.Events, 6, "the sample reads completely")
	require.Zero(t, want.Stats.RowsRejected)

	crlf := []byte(strings.ReplaceAll(encodingSample, "\n", "\r\n"))
	cases := []struct {
		name string
		file string
		b    []byte
	}{
		{"gzip by name", "h.csv.gz", gzipBytes(t, plain)},
		{"gzip content named .csv", "h.csv", gzipBytes(t, plain)},
		{"UTF-16 LE with BOM", "h.csv", utf16Bytes(encodingSample, false)},
		{"UTF-16 BE with BOM", "h.csv", utf16Bytes(encodingSample, true)},
		{"UTF-16 LE, CRLF, gzip", "h.csv.gz", gzipBytes(t, utf16Bytes(string(crlf), false))},
		{"UTF-8 BOM", "h.csv", append([]byte("\uFEFF"), plain...)},
		{"CRLF", "h.csv", crlf},
		{"CR only (classic Mac)", "h.csv", []byte(strings.ReplaceAll(encodingSample, "\n", "\r"))},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), tc.file)
			require.NoError(t, os.WriteFile(p, tc.b, 0o644))
			got, err := readAll(t, p, Options{})
			require.NoError(t, err)
			assert.Equal(t, want.Events, got.Events)
			assert.Equal(t, want.Stats.RowsRead, got.Stats.RowsRead)
			assert.Zero(t, got.Stats.RowsRejected)
		})
	}
}

// TestCSVEncodingLineNumbers: a bad row of a gzip or UTF-16 file is
// quarantined with the line number of the decoded file.
func TestCSVEncodingLineNumbers(t *testing.T) {
	src := hdr + "c1,2024-03-01,purchase,1\nc2,not-a-time,purchase,2\nc3,2024-03-02,purchase,3\n"
	for name, b := range map[string][]byte{
		"h.csv.gz":  gzipBytes(t, []byte(src)),
		"h16.csv":   utf16Bytes(src, false),
		"hcr.csv":   []byte(strings.ReplaceAll(src, "\n", "\r")),
		"plain.csv": []byte(src),
	} {
		p := filepath.Join(t.TempDir(), name)
		require.NoError(t, os.WriteFile(p, b, 0o644))
		got, err := readAll(t, p, Options{})
		require.NoError(t, err, name)
		require.Len(t, got.QRows, 1, name)
		assert.Equal(t, []string{p, "3", "event_time"}, got.QRows[0][:3], name)
		assert.Len(t, got.Events, 2, name)
	}
}

// TestCSVEncodingErrors: what cannot be decoded is an error naming the
// file (a truncated gzip stream, a .gz that is not gzip); an unpaired
// UTF-16 surrogate in an id is a quarantined row, not a silent change; a
// header that is one field with another delimiter in it says which flag
// to use.
func TestCSVEncodingErrors(t *testing.T) {
	gz := gzipBytes(t, []byte(encodingSample+strings.Repeat("c5,2024-03-07,purchase,1\n", 2000)))
	p := filepath.Join(t.TempDir(), "cut.csv.gz")
	require.NoError(t, os.WriteFile(p, gz[:len(gz)/2], 0o644))
	err := firstError(t, p, Options{})
	require.Error(t, err)
	assert.ErrorIs(t, err, ErrCorrupt)
	assert.ErrorContains(t, err, p)

	p = writeTemp(t, "fake.csv.gz", encodingSample)
	_, err = Open(p, Options{})
	require.Error(t, err)
	assert.ErrorIs(t, err, ErrCorrupt)
	assert.ErrorContains(t, err, "not gzip-compressed")

	// A high surrogate followed by a letter: the id is not valid text.
	b := utf16Bytes(hdr+"c", false)
	b = append(b, 0x00, 0xd8) // U+D800, little-endian
	b = append(b, utf16Bytes("x,2024-03-01,purchase,1\nc2,2024-03-02,purchase,2\n", false)[2:]...)
	p = filepath.Join(t.TempDir(), "surrogate.csv")
	require.NoError(t, os.WriteFile(p, b, 0o644))
	got, err := readAll(t, p, Options{})
	require.NoError(t, err)
	require.Len(t, got.QRows, 1, "the row with the broken id is quarantined")
	assert.Equal(t, []string{p, "2", "customer_id"}, got.QRows[0][:3])
	assert.Len(t, got.Events, 1)

	for delim, flag := range map[string]string{";": "--delimiter ';'", "\t": "--delimiter tab", "|": "--delimiter '|'"} {
		p = writeTemp(t, "h.csv", strings.ReplaceAll(encodingSample, ",", delim))
		_, err = Open(p, Options{})
		require.ErrorIs(t, err, ErrMissingColumn)
		assert.ErrorContains(t, err, flag)
	}
	p = writeTemp(t, "h.csv", encodingSample)
	_, err = Open(p, Options{Delimiter: ';'})
	require.ErrorIs(t, err, ErrMissingColumn)
	assert.ErrorContains(t, err, "--delimiter ','")
}

// TestFolderReadsGzip: a folder of daily exports, some gzip-compressed,
// is read whole; other .gz files are not inputs.
func TestFolderReadsGzip(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a.csv"), []byte(hdr+"c1,2024-03-01,purchase,1\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "b.csv.gz"), gzipBytes(t, []byte(hdr+"c2,2024-03-02,purchase,2\n")), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "notes.json.gz"), gzipBytes(t, []byte("{}")), 0o644))
	got, err := readAll(t, dir, Options{})
	require.NoError(t, err)
	assert.Len(t, got.Events, 2)
	assert.Equal(t, 2, got.Stats.Files)

	_, err = Open(filepath.Join(dir, "notes.json.gz"), Options{})
	assert.ErrorIs(t, err, ErrUnsupported)
}
