package data

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/churnpipe/churnpipe/internal/testenv"
)

// readAllCSV reads path with a quarantine and returns rows read, rejected
// and the error.
func readAllCSV(t *testing.T, path string) (Stats, error) {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	r, err := Open(path, Options{Alloc: mem, Quarantine: NewQuarantine(discard{})})
	if err != nil {
		return Stats{}, err
	}
	for r.Next() {
	}
	err = r.Err()
	s := r.Stats()
	r.Release()
	return s, err
}

// TestStrayQuoteOnCDNOW is issue 14 item 2 on the real CDNOW sample (6,919
// rows): a bare opening quote at 70 % of the file made main read 4,844 rows
// and drop the rest as one rejected row, exit 0. Now the read stops with
// ErrBrokenQuote naming the quote's line.
func TestStrayQuoteOnCDNOW(t *testing.T) {
	src := testenv.SharedData(t, "cdnow/cdnow_sample_interactions.csv")
	b, err := os.ReadFile(src)
	require.NoError(t, err)
	lines := strings.Split(string(b), "\n")
	at := len(lines) * 7 / 10 // 0-based index: physical line at+1
	lines[at] = strings.Replace(lines[at], ",", `,"`, 1)
	path := filepath.Join(t.TempDir(), "stray.csv")
	require.NoError(t, os.WriteFile(path, []byte(strings.Join(lines, "\n")), 0o644))

	_, err = readAllCSV(t, path)
	require.Error(t, err)
	assert.ErrorIs(t, err, ErrBrokenQuote)
	var pe *ParseError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, int64(at+1), pe.Line, "the line of the quote")
	assert.Contains(t, err.Error(), path)

	// The untouched file reads all its rows.
	s, err := readAllCSV(t, src)
	require.NoError(t, err)
	assert.Equal(t, int64(len(strings.Split(strings.TrimRight(string(b), "\n"), "\n"))-1), s.RowsRead)
}

// TestQuoteGuardAgreesWithEncodingCSV: on tricky but bounded quoting the
// guard's record count equals the rows encoding/csv reads (otherwise the
// read fails with ErrRowCount), and bad rows stay counted rejects. Cases
// are written by hand after RFC 4180 and encoding/csv's documented rules.
func TestQuoteGuardAgreesWithEncodingCSV(t *testing.T) {
	const h = "customer_id,event_time,event_type,amount\n"
	cases := []struct {
		name, body     string
		read, rejected int64
	}{
		{"multi-line quoted field", "a,2024-01-01,\"pur\nchase\",1\nb,2024-01-02,purchase,2\n", 2, 0},
		{"escaped quotes", "\"a\"\"x\",2024-01-01,purchase,1\n", 1, 0},
		{"bare quote mid-field", "a\"b,2024-01-01,purchase,1\nc,2024-01-01,purchase,1\n", 2, 1},
		{"quote then text", "\"a\"x,2024-01-01,purchase,1\nc,2024-01-01,purchase,1\n", 2, 1},
		{"crlf and blank lines", "a,2024-01-01,purchase,1\r\n\r\n\nb,2024-01-01,purchase,1", 2, 0},
		{"unterminated at the end", "a,2024-01-01,purchase,1\n\"b,2024", 2, 1},
		{"quoted empty", "\"\",2024-01-01,purchase,1\n", 1, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "x.csv")
			require.NoError(t, os.WriteFile(path, []byte(h+c.body), 0o644))
			s, err := readAllCSV(t, path)
			require.NoError(t, err)
			assert.Equal(t, c.read, s.RowsRead)
			assert.Equal(t, c.rejected, s.RowsRejected)
		})
	}
}

// A quoted field over the byte bound is broken even on one line.
func TestQuoteGuardByteBound(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.csv")
	body := "customer_id,event_time\n\"" + strings.Repeat("x", MaxQuotedBytes+10) + "\",2024-01-01\n"
	require.NoError(t, os.WriteFile(path, []byte(body), 0o644))
	_, err := readAllCSV(t, path)
	assert.True(t, errors.Is(err, ErrBrokenQuote), "%v", err)
}
