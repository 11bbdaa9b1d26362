package data

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseTime(t *testing.T) {
	// Expected instants are written as RFC 3339 UTC by hand and converted
	// with time.Parse, not with the code under test.
	cases := []struct {
		in, layout string
		want       string // "" = error
		is         error
	}{
		{"2024-03-01", "", "2024-03-01T00:00:00Z", nil},
		{"2024-02-29", "", "2024-02-29T00:00:00Z", nil},
		{"2023-02-29", "", "", ErrBadTime},
		{"1900-02-29", "", "", ErrBadTime}, // 1900 is not a leap year
		{"2000-02-29", "", "2000-02-29T00:00:00Z", nil},
		{"2024-03-01T10:00:00Z", "", "2024-03-01T10:00:00Z", nil},
		{"2024-03-01T10:00:00.5Z", "", "2024-03-01T10:00:00.5Z", nil},
		{"2024-03-01T10:00:00.123456789Z", "", "2024-03-01T10:00:00.123Z", nil},
		{"2024-03-01T10:00:00+01:00", "", "2024-03-01T09:00:00Z", nil},
		{"2024-03-01T00:30:00-01:00", "", "2024-03-01T01:30:00Z", nil},
		{" 2024-03-01T10:00:00Z ", "", "2024-03-01T10:00:00Z", nil},
		{"2024-03-01T10:00:00", "", "", ErrBadTime},
		// Zoned forms of SQL clients and ISO 8601 basic (parseZoned): a space
		// for the T (RFC 3339 §5.6), offsets +0800 and +08, no seconds, " UTC".
		{"2024-03-01 10:00:00Z", "", "2024-03-01T10:00:00Z", nil},
		{"2024-03-01 10:00:00+08:00", "", "2024-03-01T02:00:00Z", nil},
		{"2024-03-01 10:00:00.25+08", "", "2024-03-01T02:00:00.25Z", nil}, // PostgreSQL timestamptz text
		{"2024-03-01T10:00:00-0530", "", "2024-03-01T15:30:00Z", nil},
		{"2024-03-01 10:00:00 +0100", "", "2024-03-01T09:00:00Z", nil},
		{"2024-03-01T10:00Z", "", "2024-03-01T10:00:00Z", nil},
		{"2024-03-01 10:00:00 UTC", "", "2024-03-01T10:00:00Z", nil},
		{"2024-03-01 10:00:00 EDT", "", "", ErrBadTime}, // an abbreviation other than UTC/GMT: ambiguous
		{"2024-03-01 10:00:00+25:00", "", "", ErrBadTime},
		{"2024-03-01 10:00:00", "", "", ErrBadTime}, // no zone: --time-layout decides
		{"2024-3-1", "", "", ErrBadTime},
		{"2024-03-01T24:00:00Z", "", "", ErrBadTime},
		{"2024-03-01T10:00:60Z", "", "", ErrBadTime},
		{"1969-12-31T23:59:59.9995Z", "", "1969-12-31T23:59:59.999Z", nil},
		{"1900-01-01T00:00:00Z", "", "1900-01-01T00:00:00Z", nil},
		{"1900-01-01T00:30:00+01:00", "", "", ErrBadTime}, // 1899 in UTC
		{"2200-12-31T23:59:59.999Z", "", "2200-12-31T23:59:59.999Z", nil},
		{"2201-01-01T00:00:00Z", "", "", ErrBadTime},
		{"9999-12-31", "", "", ErrBadTime},
		{"0000-01-01", "", "", ErrBadTime},
		{"", "", "", ErrBadTime},
		{"19970101", "20060102", "1997-01-01T00:00:00Z", nil},
		{"01/03/2024 15:04", "02/01/2006 15:04", "2024-03-01T15:04:00Z", nil},
		{"2024-03-01 10:00 +0200", "2006-01-02 15:04 -0700", "2024-03-01T08:00:00Z", nil},
		{"2024-03-01", "20060102", "", ErrBadTime},
		{"18991231", "20060102", "", ErrBadTime},
		// issue 14 item 6: a zone abbreviation Go cannot resolve was read as UTC (on main EDT = 10:00Z).
		{"2024-03-01 10:00 EDT", "2006-01-02 15:04 MST", "", ErrBadTime},
		{"2024-03-01 10:00 CET", "2006-01-02 15:04 MST", "", ErrBadTime},
		{"2024-03-01 10:00 UTC", "2006-01-02 15:04 MST", "2024-03-01T10:00:00Z", nil},
		{"2024-03-01 10:00 GMT", "2006-01-02 15:04 MST", "2024-03-01T10:00:00Z", nil},
		{"Fri, 01 Mar 2024 10:00:00 -0500", time.RFC1123Z, "2024-03-01T15:00:00Z", nil},
		{"2024-03-01 10:00 -0400 EDT", "2006-01-02 15:04 -0700 MST", "2024-03-01T14:00:00Z", nil}, // the offset decides
	}
	for _, tc := range cases {
		got, err := parseTime(tc.in, tc.layout)
		if tc.want == "" {
			assert.ErrorIs(t, err, tc.is, "%q", tc.in)
			if strings.Contains(tc.layout, "MST") {
				assert.ErrorContains(t, err, "cannot be resolved", "%q", tc.in)
			}
			continue
		}
		require.NoError(t, err, "%q", tc.in)
		want, perr := time.Parse(time.RFC3339Nano, tc.want)
		require.NoError(t, perr)
		assert.Equal(t, want.UnixMilli(), got, "%q → %s, got %s", tc.in, tc.want, time.UnixMilli(got).UTC())
	}
}

// FuzzParseTime checks the allocation-free fast path against time.Parse.
func FuzzParseTime(f *testing.F) {
	for _, s := range []string{"2024-03-01", "2024-03-01T10:00:00Z", "2024-03-01T10:00:00.123456Z", "2000-02-29", "1969-12-31T23:59:59.9995Z", "2024-13-01"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		fast, ok := parseTimeFast(s)
		layout := time.RFC3339
		if len(s) == 10 {
			layout = time.DateOnly
		}
		tm, err := time.Parse(layout, s)
		if !ok {
			return // time.Parse decides in parseTime
		}
		if err != nil {
			t.Fatalf("fast path accepted %q, time.Parse: %v", s, err)
		}
		want := tm.UnixNano() / 1e6
		if tm.UnixNano()%1e6 < 0 {
			want--
		}
		if tm.Year() >= 1700 && tm.Year() <= 2250 && fast != want {
			t.Fatalf("%q: fast %d, time.Parse %d", s, fast, want)
		}
	})
}

func TestParseAmount(t *testing.T) {
	cases := []struct {
		in     string
		want   float64
		valid  bool
		is     error
		reason string
	}{
		{"29.33", 29.33, true, nil, ""},
		{" -1.5 ", -1.5, true, nil, ""},
		{"1e15", 1e15, true, nil, ""},
		{"-1e15", -1e15, true, nil, ""},
		{"0", 0, true, nil, ""},
		{"", 0, false, nil, ""},
		{"  ", 0, false, nil, ""},
		{"1e-400", 0, true, nil, ""}, // underflows to 0: finite, kept
		{"1000000000000001", 0, false, ErrBadAmount, `implausible amount "1000000000000001"`},
		{"1e300", 0, false, ErrBadAmount, `implausible amount "1e300"`},
		{"1e400", 0, false, ErrBadAmount, `non-finite amount "1e400"`},
		{"-1e400", 0, false, ErrBadAmount, `non-finite amount "-1e400"`},
		{"NaN", 0, false, ErrBadAmount, `non-finite amount "NaN"`},
		{"Inf", 0, false, ErrBadAmount, `non-finite amount "Inf"`},
		{"-infinity", 0, false, ErrBadAmount, `non-finite amount "-infinity"`},
		{"1,234.50", 0, false, ErrBadAmount, `amount "1,234.50" contains ','`},
		{"12,5", 0, false, ErrBadAmount, `contains ','`},
		{"$12", 0, false, ErrBadAmount, `invalid amount "$12"`},
		{".5", 0.5, true, nil, ""},
		{"5.", 5, true, nil, ""},
		{"+3E+2", 300, true, nil, ""},
		// issue 14 item 6: Go-only syntax that strconv.ParseFloat accepts (on main 1000 and 16).
		{"1_000", 0, false, ErrBadAmount, `invalid amount "1_000": not a plain decimal number`},
		{"1_000.50", 0, false, ErrBadAmount, `invalid amount "1_000.50": not a plain decimal number`},
		{"0x1p4", 0, false, ErrBadAmount, `invalid amount "0x1p4": not a plain decimal number`},
		{"0X1P-2", 0, false, ErrBadAmount, `not a plain decimal number`},
		{"1e", 0, false, ErrBadAmount, `invalid amount "1e"`},
		{".", 0, false, ErrBadAmount, `invalid amount "."`},
		{"+Inf", 0, false, ErrBadAmount, `non-finite amount "+Inf"`},
		{"nan", 0, false, ErrBadAmount, `non-finite amount "nan"`},
	}
	for _, tc := range cases {
		v, valid, err := parseAmount(tc.in)
		if tc.is != nil {
			assert.ErrorIs(t, err, tc.is, tc.in)
			assert.Contains(t, err.Error(), tc.reason, tc.in)
			continue
		}
		require.NoError(t, err, tc.in)
		assert.Equal(t, tc.valid, valid, tc.in)
		assert.Equal(t, tc.want, v, tc.in)
	}
}

func TestCheckIDAndType(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		is       error
	}{
		{"c1", "c1", nil},
		{" \tc 1 ", "c 1", nil},
		{"Ünïcode", "Ünïcode", nil},
		{"", "", ErrEmptyID},
		{"   ", "", ErrEmptyID},
		{"a\x00b", "", ErrBadID},
		{"a\xffb", "", ErrBadID},
	} {
		got, err := checkID(tc.in)
		if tc.is != nil {
			assert.ErrorIs(t, err, tc.is, "%q", tc.in)
			continue
		}
		require.NoError(t, err)
		assert.Equal(t, tc.want, got)
	}
	for _, tc := range []struct{ in, want string }{
		{"", EventPurchase}, {"  ", EventPurchase}, {"purchase", EventPurchase},
		{" RETURN ", EventReturn}, {"Visit", EventVisit}, {"gift_card", "gift_card"}, {"ÉCHANGE", "échange"},
	} {
		got, err := normType(tc.in)
		require.NoError(t, err)
		assert.Equal(t, tc.want, got, "%q", tc.in)
	}
	_, err := normType("a\xff")
	assert.ErrorIs(t, err, ErrBadRow)
}

func TestParseHotPathAllocations(t *testing.T) {
	// The per-row conversions of a well-formed row must not allocate.
	n := testing.AllocsPerRun(100, func() {
		checkID("customer-123")
		parseTime("2024-03-01T10:00:00.123Z", "")
		parseTime("2024-03-01", "")
		normType("purchase")
		parseAmount("29.33")
	})
	assert.Zero(t, n)
}

// FuzzReadCSV reads arbitrary bytes as a CSV file (and as whitespace
// separated text) and checks that nothing panics, that every row is either
// emitted or quarantined, and that every emitted row obeys the canonical
// rules.
func FuzzReadCSV(f *testing.F) {
	seeds, err := filepath.Glob("testdata/*.csv")
	if err != nil || len(seeds) == 0 {
		f.Fatalf("no seed corpus in testdata: %v", err)
	}
	// The bad-input corpus of the nightly job (issue 6) seeds the fuzzer too.
	corpus, _ := filepath.Glob("../testdata/badinput/*.csv")
	seeds = append(seeds, corpus...)
	for _, p := range seeds {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, false)
	}
	f.Add([]byte("customer_id event_time\n c1 2024-03-01\n"), true)
	// Encoded exports (csvencoding.go): gzip, UTF-16 LE and BE, CR only.
	f.Add(gzipBytes(f, []byte(encodingSample)), false)
	f.Add(utf16Bytes(encodingSample, false), false)
	f.Add(utf16Bytes(encodingSample, true), false)
	f.Add([]byte(strings.ReplaceAll(encodingSample, "\n", "\r")), false)
	f.Fuzz(func(t *testing.T, in []byte, ws bool) {
		path := filepath.Join(t.TempDir(), "f.csv")
		if err := os.WriteFile(path, in, 0o644); err != nil {
			t.Fatal(err)
		}
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		defer mem.AssertSize(t, 0)
		q := NewQuarantine(discard{})
		r, err := Open(path, Options{Whitespace: ws, Alloc: mem, Quarantine: q, BatchSize: 7})
		if err != nil {
			if !errors.Is(err, ErrMissingColumn) && !errors.Is(err, ErrColumnType) {
				// Header problems are the only other Open errors.
				assert.Contains(t, err.Error(), path)
			}
			return
		}
		defer r.Release()
		var emitted int64
		for r.Next() {
			rec := r.Record()
			emitted += rec.NumRows()
			for _, e := range recordEvents(rec) {
				if e.ID == "" || !utf8.ValidString(e.ID) || e.TimeMS < minEventMS || e.TimeMS >= maxEventMS || e.Type == "" {
					t.Fatalf("bad row emitted: %+v", e)
				}
				if e.Amount != nil && (math.IsNaN(*e.Amount) || math.Abs(*e.Amount) > MaxAmount) {
					t.Fatalf("bad amount emitted: %+v", e)
				}
			}
		}
		if err := r.Err(); errors.Is(err, ErrBrokenQuote) || errors.Is(err, ErrCorrupt) {
			// A stray quote (issue 14) or a corrupt gzip stream: a documented
			// failure naming the file; ErrRowCount (the guard disagreeing
			// with encoding/csv) never is.
			assert.Contains(t, err.Error(), path)
			return
		}
		require.NoError(t, r.Err())
		s := r.Stats()
		if s.RowsRead != emitted+s.RowsRejected {
			t.Fatalf("RowsRead %d != emitted %d + rejected %d", s.RowsRead, emitted, s.RowsRejected)
		}
		if q.Count() != s.RowsRejected {
			t.Fatalf("quarantined %d, rejected %d", q.Count(), s.RowsRejected)
		}
	})
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// TestCheckIDLength: MaxIDLength counts characters, not bytes; a longer
// id is a reason wrapping ErrLongID and ErrBadID, naming the length.
func TestCheckIDLength(t *testing.T) {
	ok := strings.Repeat("é", MaxIDLength) // 382 bytes
	got, err := CheckID("  " + ok + " ")
	require.NoError(t, err)
	assert.Equal(t, ok, got)
	for _, long := range []string{ok + "x", strings.Repeat("x", 5000)} {
		_, err := CheckID(long)
		require.ErrorIs(t, err, ErrLongID)
		assert.ErrorIs(t, err, ErrBadID)
		assert.Contains(t, err.Error(), fmt.Sprintf("customer_id is %d characters, longer than the 191", utf8.RuneCountInString(long)))
		assert.Less(t, len(err.Error()), 200, "the reason quotes the id's head only")
	}
}
