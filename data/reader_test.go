package data

import (
	"bytes"
	"encoding/csv"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// readResult is everything a test looks at after reading an input.
type readResult struct {
	Events  []event
	Stats   Stats
	QRows   [][]string // the quarantine CSV, header excluded
	Batches []int      // rows per batch
}

// readAll reads path to the end with a checked allocator and a quarantine,
// and checks the invariants every read must keep.
func readAll(t testing.TB, path string, opt Options) (readResult, error) {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	var res readResult
	var buf bytes.Buffer
	q := NewQuarantine(&buf)
	opt.Alloc = mem
	opt.Quarantine = q
	r, err := Open(path, opt)
	if err != nil {
		return res, err
	}
	defer r.Release()
	for r.Next() {
		rec := r.Record()
		require.True(t, rec.Schema().Equal(EventSchema))
		res.Batches = append(res.Batches, int(rec.NumRows()))
		res.Events = append(res.Events, recordEvents(rec)...)
	}
	res.Stats = r.Stats()
	require.NoError(t, q.Close())
	rows, err := csv.NewReader(&buf).ReadAll()
	require.NoError(t, err)
	require.Equal(t, []string{"source_file", "line", "column", "reason", "raw"}, rows[0])
	res.QRows = rows[1:]
	assert.Equal(t, q.Count(), res.Stats.RowsRejected, "every rejected row is quarantined")
	assert.Equal(t, int64(len(res.QRows)), q.Count())
	err = r.Err()
	if err == nil {
		// After an error the rows of the unfinished batch are dropped.
		assert.Equal(t, res.Stats.RowsRead, int64(len(res.Events))+res.Stats.RowsRejected, "RowsRead = emitted + rejected")
	}
	r.Release()
	r.Release() // idempotent
	return res, err
}

// firstError reads path without a quarantine and returns Err().
func firstError(t *testing.T, path string, opt Options) error {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	opt.Alloc = mem
	r, err := Open(path, opt)
	require.NoError(t, err)
	defer r.Release()
	for r.Next() {
	}
	return r.Err()
}

func writeTemp(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	return p
}

const hdr = "customer_id,event_time,event_type,amount\n"

// Day 2024-03-01 00:00 UTC in ms: 19783 days since 1970-01-01 (date -d 2024-03-01 +%s = 1709251200).
const mar1 = int64(1709251200000)

func TestReadCSVRules(t *testing.T) {
	// Each case: the file text, options, the rows expected (computed by hand),
	// and the rejects as (line, column, reason substring) plus the sentinel
	// of the first one.
	type rej struct {
		line   int64
		column string
		reason string
	}
	cases := []struct {
		name    string
		file    string // temp file name; decides the format
		text    string
		opt     Options
		want    []event
		rejects []rej
		sent    error
	}{
		{name: "plain", text: hdr + "c1,2024-03-01,purchase,1.5\n",
			want: []event{{"c1", mar1, EventPurchase, f64(1.5)}}},
		{name: "id trimmed, type lower-cased and trimmed", text: hdr + "  c1 , 2024-03-01 , ReTurn ,-2\n",
			want: []event{{"c1", mar1, EventReturn, f64(-2)}}},
		{name: "empty type is purchase, empty amount is null", text: hdr + "c1,2024-03-01,,\n",
			want: []event{{"c1", mar1, EventPurchase, nil}}},
		{name: "unknown type kept", text: hdr + "c1,2024-03-01,Wishlist,\n",
			want: []event{{"c1", mar1, "wishlist", nil}}},
		{name: "optional columns absent", text: "event_time,customer_id\n2024-03-01,c1\n",
			want: []event{{"c1", mar1, EventPurchase, nil}}},
		{name: "header names matched ignoring case", text: "Customer_ID,EVENT_TIME\nc1,2024-03-01\n",
			want: []event{{"c1", mar1, EventPurchase, nil}}},
		{name: "quoted fields, embedded newline counts lines", text: "customer_id,event_time,event_type,amount,note\n\"c1\",2024-03-01,purchase,1,\"two\nlines\"\n\"\",2024-03-01,purchase,1,x\n",
			want:    []event{{"c1", mar1, EventPurchase, f64(1)}},
			rejects: []rej{{4, ColCustomerID, "empty customer_id"}}, sent: ErrEmptyID},
		{name: "the header repeated by concatenated files", text: hdr + "c1,2024-03-01,purchase,1\n Customer_ID,event_time,EVENT_TYPE,amount\nc2,2024-03-01,purchase,1\n",
			want:    []event{{"c1", mar1, EventPurchase, f64(1)}, {"c2", mar1, EventPurchase, f64(1)}},
			rejects: []rej{{3, "", "the header line repeated"}}, sent: ErrBadRow},
		{name: "a delimiter at the end of a data line", text: hdr + "c1,2024-03-01,purchase,1,\nc2,2024-03-01,purchase,1\n",
			want:    []event{{"c2", mar1, EventPurchase, f64(1)}},
			rejects: []rej{{2, "", "row has 5 fields, want 4 (a delimiter at the end of the line?)"}}, sent: ErrBadRow},
		{name: "an id with a line break is kept as it is", text: hdr + "\"c\n1\",2024-03-01,purchase,1\n",
			want: []event{{"c\n1", mar1, EventPurchase, f64(1)}}},
		{name: "null markers", text: hdr +
			"NULL,2024-03-01,purchase,1\n\\N,2024-03-01,purchase,1\n" + // SQL exports' missing ids: rejected
			"c1,2024-03-01,NULL,NULL\nc1,2024-03-01,visit,\\N\nc1,2024-03-01,visit,N/A\n" + // missing type and amounts
			"null,2024-03-01,purchase,NaN\n", // "null" may be an id; NaN is a non-finite amount
			want:    []event{{"c1", mar1, EventPurchase, nil}, {"c1", mar1, EventVisit, nil}, {"c1", mar1, EventVisit, nil}},
			rejects: []rej{{2, ColCustomerID, `"NULL" marks a missing value`}, {3, ColCustomerID, `"\\N" marks a missing value`}, {7, ColAmount, "non-finite"}}, sent: ErrEmptyID},
		{name: "blank lines skipped, line numbers physical", text: hdr + "\nc1,2024-03-01,purchase,1\n\n,2024-03-01,purchase,1\n",
			want:    []event{{"c1", mar1, EventPurchase, f64(1)}},
			rejects: []rej{{5, ColCustomerID, "empty"}}, sent: ErrEmptyID},
		{name: "time with offset to UTC", text: hdr + "c1,2024-03-01T02:30:00+02:30,purchase,1\n",
			want: []event{{"c1", mar1, EventPurchase, f64(1)}}},
		{name: "fraction of second kept to ms", text: hdr + "c1,2024-03-01T00:00:00.1239Z,purchase,1\n",
			want: []event{{"c1", mar1 + 123, EventPurchase, f64(1)}}},
		{name: "time without zone rejected by default", text: hdr + "c1,2024-03-01T00:00:00,purchase,1\n",
			rejects: []rej{{2, ColEventTime, "time without zone (give --time-layout"}}, sent: ErrBadTime},
		{name: "custom layout without zone is UTC", text: hdr + "c1,01/03/2024 10:00,purchase,1\n",
			opt:  Options{TimeLayout: "02/01/2006 15:04"},
			want: []event{{"c1", mar1 + 10*3600_000, EventPurchase, f64(1)}}},
		{name: "custom layout with zone converted", text: hdr + "c1,2024-03-01 10:00 -0100,purchase,1\n",
			opt:  Options{TimeLayout: "2006-01-02 15:04 -0700"},
			want: []event{{"c1", mar1 + 11*3600_000, EventPurchase, f64(1)}}},
		{name: "implausible years", text: hdr + "c1,1899-12-31T23:59:59.999Z,purchase,1\nc2,2201-01-01,purchase,1\nc3,1900-01-01,purchase,1\n",
			want:    []event{{"c3", ms("1900-01-01T00:00:00Z"), EventPurchase, f64(1)}},
			rejects: []rej{{2, ColEventTime, "implausible time"}, {3, ColEventTime, "implausible time"}}, sent: ErrBadTime},
		{name: "amount rules", text: hdr + "a,2024-03-01,,NaN\nb,2024-03-01,,Inf\nc,2024-03-01,,1e400\nd,2024-03-01,,1e300\ne,2024-03-01,,\"1,234.50\"\nf,2024-03-01,,-1e15\ng,2024-03-01,,0x1p-2\n",
			want: []event{{"f", mar1, EventPurchase, f64(-1e15)}},
			rejects: []rej{{2, ColAmount, `non-finite amount "NaN"`}, {3, ColAmount, `non-finite amount "Inf"`},
				{4, ColAmount, `non-finite amount "1e400"`}, {5, ColAmount, `implausible amount "1e300"`},
				{6, ColAmount, `amount "1,234.50" contains ','`},
				{8, ColAmount, `invalid amount "0x1p-2": not a plain decimal number (digits, one '.', an optional e exponent)`}}, sent: ErrBadAmount},
		{name: "wrong number of fields", text: hdr + "c1,2024-03-01,purchase\nc2,2024-03-01,purchase,1,x\n",
			rejects: []rej{{2, "", "row has 3 fields, want 4"}, {3, "", "row has 5 fields, want 4"}}, sent: ErrBadRow},
		{name: "bare quote is a bad row, reading goes on", text: hdr + "c1,2024-03-01,pur\"chase,1\nc2,2024-03-01,purchase,2\n",
			want:    []event{{"c2", mar1, EventPurchase, f64(2)}},
			rejects: []rej{{2, "", "bare \""}}, sent: ErrBadRow},
		{name: "unterminated quote at the end", text: hdr + "c1,2024-03-01,purchase,1\n\"c2,2024-03-01,purchase,2\n",
			want:    []event{{"c1", mar1, EventPurchase, f64(1)}},
			rejects: []rej{{3, "", "extraneous or missing \""}}, sent: ErrBadRow},
		{name: "map and semicolon delimiter", text: "Kunde;Datum;Betrag\nk1;2024-03-01;3.5\n",
			opt:  Options{Delimiter: ';', Map: map[string]string{ColCustomerID: "Kunde", ColEventTime: "Datum", ColAmount: "Betrag"}},
			want: []event{{"k1", mar1, EventPurchase, f64(3.5)}}},
		{name: "tsv by extension", file: "e.tsv", text: "customer_id\tevent_time\nc 1\t2024-03-01\n",
			want: []event{{"c 1", mar1, EventPurchase, nil}}},
		{name: "txt is csv", file: "e.txt", text: hdr + "c1,2024-03-01,,\n",
			want: []event{{"c1", mar1, EventPurchase, nil}}},
		{name: "format overrides extension", file: "e.dat", text: hdr + "c1,2024-03-01,,\n",
			opt:  Options{Format: FormatCSV},
			want: []event{{"c1", mar1, EventPurchase, nil}}},
		{name: "no header, column numbers", text: "x,c1,2024-03-01,9\nx,c2,2024-03-02\n",
			opt:     Options{NoHeader: true, Map: map[string]string{ColCustomerID: "2", ColEventTime: "3", ColAmount: "4"}},
			want:    []event{{"c1", mar1, EventPurchase, f64(9)}},
			rejects: []rej{{2, "", "row has 3 fields, want 4"}}, sent: ErrBadRow},
		{name: "whitespace separated, CRLF, leading blanks, no final newline",
			text:    " 00004 0001 19970101  2   29.33\r\n\r\n\t00021  0002 19970102 1 1\r\n 1 2 3",
			opt:     Options{Whitespace: true, NoHeader: true, Map: map[string]string{ColCustomerID: "2", ColEventTime: "3", ColAmount: "5"}, TimeLayout: "20060102"},
			want:    []event{{"0001", ms("1997-01-01T00:00:00Z"), EventPurchase, f64(29.33)}, {"0002", ms("1997-01-02T00:00:00Z"), EventPurchase, f64(1)}},
			rejects: []rej{{4, "", "row has 3 fields, want 5"}}, sent: ErrBadRow},
		{name: "whitespace with header", text: "customer_id   event_time\n c1 2024-03-01\n",
			opt:  Options{Whitespace: true},
			want: []event{{"c1", mar1, EventPurchase, nil}}},
		{name: "bad UTF-8 in event_type", text: hdr + "c1,2024-03-01,\xff,1\n",
			rejects: []rej{{2, ColEventType, "not valid UTF-8"}}, sent: ErrBadRow},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			name := tc.file
			if name == "" {
				name = "e.csv"
			}
			path := writeTemp(t, name, tc.text)
			res, err := readAll(t, path, tc.opt)
			require.NoError(t, err)
			assert.Equal(t, tc.want, res.Events)
			var got []rej
			for _, q := range res.QRows {
				assert.Equal(t, path, q[0])
				line, err := strconv.ParseInt(q[1], 10, 64)
				require.NoError(t, err)
				got = append(got, rej{line, q[2], q[3]})
			}
			require.Len(t, got, len(tc.rejects))
			for i, w := range tc.rejects {
				assert.Equal(t, w.line, got[i].line, "line of reject %d", i)
				assert.Equal(t, w.column, got[i].column, "column of reject %d", i)
				assert.Contains(t, got[i].reason, w.reason, "reason of reject %d", i)
			}
			err = firstError(t, path, tc.opt)
			if tc.sent == nil {
				assert.NoError(t, err)
				return
			}
			var pe *ParseError
			require.ErrorAs(t, err, &pe)
			assert.ErrorIs(t, err, tc.sent)
			assert.Equal(t, tc.rejects[0].line, pe.Line)
			assert.Equal(t, path, pe.File)
		})
	}
}

func TestReadCSVFixtures(t *testing.T) {
	d := ms("2024-03-01T00:00:00Z")
	cases := []struct {
		file  string
		ids   []string // emitted customer ids, in order
		lines []int64  // quarantined lines
	}{
		{"bom.csv", []string{"c1", "c2"}, nil},
		{"crlf.csv", []string{"c1", "c,2"}, nil},
		{"nul.csv", []string{"c1", "c3"}, []int64{3}},
		{"nonutf8.csv", []string{"c1", "c3"}, []int64{3}},
		{"truncated_complete.csv", []string{"c1", "c2"}, nil},
		{"truncated_incomplete.csv", []string{"c1"}, []int64{3}},
		{"bad_rows.csv", []string{"c1", "c5"}, []int64{3, 4, 5}},
		{"amounts.csv", []string{"ok1", "ok2", "neg", "null"}, []int64{3, 4, 5, 6, 7, 10, 11}},
		{"times.csv", []string{"ok1", "ok2", "ok3"}, []int64{5, 6, 7, 8, 9, 10, 11}},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			res, err := readAll(t, filepath.Join("testdata", tc.file), Options{})
			require.NoError(t, err)
			var ids []string
			for _, e := range res.Events {
				ids = append(ids, e.ID)
			}
			assert.Equal(t, tc.ids, ids)
			var lines []int64
			for _, q := range res.QRows {
				l, _ := strconv.ParseInt(q[1], 10, 64)
				lines = append(lines, l)
			}
			assert.Equal(t, tc.lines, lines)
		})
	}
	// Values of fixture rows, by hand.
	res, err := readAll(t, "testdata/crlf.csv", Options{})
	require.NoError(t, err)
	assert.Equal(t, []event{{"c1", d + 10*3600_000, EventPurchase, f64(1.5)}, {"c,2", d + 86_400_000, EventReturn, f64(-2)}}, res.Events)
	res, err = readAll(t, "testdata/times.csv", Options{})
	require.NoError(t, err)
	// 10:00+02:00 is 08:00Z; 2200-12-31T23:59:59.999Z is the last plausible ms.
	assert.Equal(t, []int64{d + 8*3600_000, ms("1900-01-01T00:00:00Z"), ms("2200-12-31T23:59:59.999Z")},
		[]int64{res.Events[0].TimeMS, res.Events[1].TimeMS, res.Events[2].TimeMS})
	res, err = readAll(t, "testdata/amounts.csv", Options{})
	require.NoError(t, err)
	assert.Equal(t, []*float64{f64(29.33), f64(1e15), f64(-1e15), nil},
		[]*float64{res.Events[0].Amount, res.Events[1].Amount, res.Events[2].Amount, res.Events[3].Amount})
	assert.Equal(t, `non-finite amount "NaN"`, res.QRows[1][3])
	assert.Equal(t, "nan,2024-03-01,purchase,NaN", res.QRows[1][4], "raw row")
}

func TestOpenErrors(t *testing.T) {
	missing := writeTemp(t, "m.csv", "CustomerID,when\nc1,2024-03-01\n")
	cases := []struct {
		name  string
		path  string
		opt   Options
		is    error
		parts []string // substrings the message must contain
	}{
		{"missing customer_id", missing, Options{}, ErrMissingColumn,
			[]string{missing, `"customer_id"`, "own name", `"CustomerID", "when"`}},
		{"mapped name missing", missing, Options{Map: map[string]string{ColCustomerID: "CustomerID", ColEventTime: "InvoiceDate"}}, ErrMissingColumn,
			[]string{missing, `"event_time"`, `mapped to "InvoiceDate"`, `"CustomerID", "when"`}},
		{"mapped optional missing", missing, Options{Map: map[string]string{ColCustomerID: "CustomerID", ColEventTime: "when", ColAmount: "Total"}}, ErrMissingColumn,
			[]string{`"amount"`, `"Total"`}},
		{"no header fixture", "testdata/missing_header.csv", Options{}, ErrMissingColumn, []string{"missing_header.csv", `"c1"`}},
		{"duplicated header", "testdata/dup_header.csv", Options{}, ErrDuplicateColumn, []string{"dup_header.csv", `duplicated column name: testdata/dup_header.csv: "amount"`}},
		{"empty file", writeTemp(t, "empty.csv", ""), Options{}, ErrMissingColumn, []string{"empty.csv", "no header"}},
		{"wrong parquet types", "testdata/wrong_types.parquet", Options{}, ErrMissingColumn, []string{"wrong_types.parquet", `"event_time"`, "int64"}}, // float64 ids are read (TestReadFloatIDs); the int64 time is refused
		{"truncated parquet", "testdata/truncated.parquet", Options{}, nil, []string{"truncated.parquet"}},
		{"truncated arrow", "testdata/truncated.arrow", Options{}, nil, []string{"truncated.arrow"}},
		{"not parquet", writeTemp(t, "x.parquet", "hello, this is not parquet"), Options{}, nil, []string{"x.parquet"}},
		{"unknown extension", writeTemp(t, "x.json", "{}"), Options{}, ErrUnsupported, []string{"x.json"}},
		{"unknown format", missing, Options{Format: "xlsx"}, ErrUnsupported, []string{"xlsx"}},
		{"unknown map key", missing, Options{Map: map[string]string{"customer": "CustomerID"}}, nil, []string{`"customer"`}},
		{"no header, map not numeric", missing, Options{NoHeader: true, Map: map[string]string{ColCustomerID: "CustomerID", ColEventTime: "2"}}, nil, []string{"1-based column number"}},
		{"no header, required unmapped", missing, Options{NoHeader: true}, ErrMissingColumn, []string{"customer_id"}},
		{"empty folder", t.TempDir(), Options{}, nil, []string{"no supported files"}},
		{"absent", filepath.Join(t.TempDir(), "nope.csv"), Options{}, os.ErrNotExist, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			tc.opt.Alloc = mem
			r, err := Open(tc.path, tc.opt)
			if r != nil {
				r.Release()
			}
			require.Error(t, err)
			t.Log(err)
			if tc.is != nil {
				assert.ErrorIs(t, err, tc.is)
			}
			for _, p := range tc.parts {
				assert.Contains(t, err.Error(), p)
			}
		})
	}
}

func TestParseErrorFormat(t *testing.T) {
	// The format of the brief, like csv.ParseError.
	e := &ParseError{File: "file.csv", Line: 17, Column: ColAmount, Err: newReasonQ(ErrBadAmount, "non-finite amount", "NaN")}
	assert.Equal(t, `file.csv:17: column "amount": non-finite amount "NaN"`, e.Error())
	assert.ErrorIs(t, e, ErrBadAmount)
	e = &ParseError{File: "f.csv", Line: 3, Err: newReason(ErrBadRow, "row has 3 fields, want 4")}
	assert.Equal(t, `f.csv:3: row has 3 fields, want 4`, e.Error())
	assert.False(t, errors.Is(e, ErrBadAmount))
}

func TestParseMap(t *testing.T) {
	m, err := ParseMap(" customer_id=CustomerID, event_time = InvoiceDate ")
	require.NoError(t, err)
	assert.Equal(t, map[string]string{ColCustomerID: "CustomerID", ColEventTime: "InvoiceDate"}, m)
	m, err = ParseMap("")
	require.NoError(t, err)
	assert.Empty(t, m)
	for _, tc := range []struct{ in, part string }{
		{"customer_id", `bad pair "customer_id"`},
		{"customer_id=", `bad pair "customer_id="`},
		{"=x", `bad pair "=x"`},
		{"customer_id=a,,event_time=b", `bad pair ""`},
		{"cust=CustomerID", `unknown canonical column "cust"`},
		{"amount=a,amount=b", `"amount" mapped twice`},
	} {
		_, err := ParseMap(tc.in)
		require.Error(t, err, tc.in)
		assert.Contains(t, err.Error(), tc.part, tc.in)
	}
}

func TestCheckRejects(t *testing.T) {
	err := CheckRejects(Stats{RowsRead: 100000, RowsRejected: 1234}, 0.01)
	require.ErrorIs(t, err, ErrTooManyRejects)
	assert.Contains(t, err.Error(), "1234 of 100000 rows (1.23 %) rejected, limit 1.00 %")
	assert.NoError(t, CheckRejects(Stats{RowsRead: 100000, RowsRejected: 1000}, 0.01), "exactly at the limit")
	assert.NoError(t, CheckRejects(Stats{}, 0), "nothing read")
	assert.NoError(t, CheckRejects(Stats{RowsRead: 5}, 0))
	assert.ErrorIs(t, CheckRejects(Stats{RowsRead: 5, RowsRejected: 1}, 0), ErrTooManyRejects)
}

func TestNoQuarantineStops(t *testing.T) {
	path := writeTemp(t, "e.csv", hdr+"c1,2024-03-01,,1\nc2,2024-03-01,,NaN\nc3,2024-03-01,,1\n")
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	r, err := Open(path, Options{Alloc: mem})
	require.NoError(t, err)
	defer r.Release()
	assert.False(t, r.Next(), "the batch holding the bad row is not emitted")
	var pe *ParseError
	require.ErrorAs(t, r.Err(), &pe)
	assert.Equal(t, path+`:3: column "amount": non-finite amount "NaN"`, pe.Error())
	assert.Equal(t, Stats{Files: 1, RowsRead: 2, RowsRejected: 1}, r.Stats())
	assert.False(t, r.Next(), "stays stopped")
}

func TestQuarantineFile(t *testing.T) {
	dir := t.TempDir()
	qp := filepath.Join(dir, "q.csv")
	q, err := CreateQuarantine(qp)
	require.NoError(t, err)
	require.NoError(t, q.Add(&ParseError{File: "a.csv", Line: 2, Column: ColAmount, Err: newReasonQ(ErrBadAmount, "invalid amount", "x")}, `c1,"x"`))
	require.NoError(t, q.Add(&ParseError{File: "a.csv", Line: 9, Err: newReason(ErrBadRow, "row has 1 fields, want 4")}, "c1"))
	assert.Equal(t, int64(2), q.Count())
	require.NoError(t, q.Close())
	require.NoError(t, q.Close())
	assert.Error(t, q.Add(&ParseError{File: "a.csv", Line: 10, Err: ErrBadRow}, ""), "add after close")
	got, err := os.ReadFile(qp)
	require.NoError(t, err)
	// RFC 4180 by hand: the raw field with quotes is quoted and its quotes doubled.
	assert.Equal(t, "source_file,line,column,reason,raw\n"+
		"a.csv,2,amount,\"invalid amount \"\"x\"\"\",\"c1,\"\"x\"\"\"\n"+
		"a.csv,9,,\"row has 1 fields, want 4\",c1\n", string(got))
	_, err = CreateQuarantine(filepath.Join(dir, "no", "q.csv"))
	assert.Error(t, err)
}

// TestQuarantineSummary: the summary that a failed reject limit carries
// counts the rejected rows by column, most first, names the first row of
// each, and hints at the usual cause where a column rejected most rows.
func TestQuarantineSummary(t *testing.T) {
	q := NewQuarantine(io.Discard)
	assert.Empty(t, q.Summary(10))
	for i := range 6 {
		require.NoError(t, q.Add(&ParseError{File: "a.csv", Line: int64(2 + i), Column: ColEventTime, Err: newReasonQ(ErrBadTime, "unparsable time", "07/06/2023")}, ""))
	}
	require.NoError(t, q.Add(&ParseError{File: "a.csv", Line: 20, Column: ColAmount, Err: newReasonQ(ErrBadAmount, "invalid amount", "1,5")}, ""))
	require.NoError(t, q.Add(&ParseError{File: "b.csv", Line: 3, Err: newReason(ErrBadRow, "row has 2 fields, want 4")}, ""))
	got := q.Summary(10)
	assert.Equal(t, `rejected rows by column: event_time 6 (first: a.csv line 2: unparsable time "07/06/2023") — another time format? --time-layout takes a Go layout, e.g. '01/02/2006 15:04' or '02.01.2006'; amount 1 (first: a.csv line 20: invalid amount "1,5"); whole row 1 (first: b.csv line 3: row has 2 fields, want 4)`, got)
	assert.NotContains(t, q.Summary(100), "--time-layout", "no hint when the column rejected a minority of the rows")
}

// TestEventIDNullMarkers: an event_id written as a missing value (NULL,
// \N, null…) is null, so that the duplicate rule never matches such rows
// with one another (they would all be "re-deliveries" of one event).
func TestEventIDNullMarkers(t *testing.T) {
	p := writeTemp(t, "e.csv", "customer_id,event_time,event_id,subscription_id\n"+
		"c1,2024-03-01,NULL,NULL\nc1,2024-03-02,\\N,\\N\nc1,2024-03-03,null,<NA>\nc1,2024-03-04,e7,s1\n")
	r, err := Open(p, Options{})
	require.NoError(t, err)
	defer r.Release()
	var eids, subs []string
	for r.Next() {
		rec := r.Record()
		e := rec.Column(ColumnIndex(rec.Schema(), ColEventID)).(*array.String)
		s := rec.Column(ColumnIndex(rec.Schema(), ColSubscriptionID)).(*array.String)
		for i := 0; i < e.Len(); i++ {
			eids = append(eids, map[bool]string{true: e.Value(i), false: "<null>"}[e.IsValid(i)])
			subs = append(subs, map[bool]string{true: s.Value(i), false: "<null>"}[s.IsValid(i)])
		}
	}
	require.NoError(t, r.Err())
	assert.Equal(t, []string{"<null>", "<null>", "<null>", "e7"}, eids)
	assert.Equal(t, []string{"<null>", "<null>", "<null>", "s1"}, subs)
}

func TestReadBatches(t *testing.T) {
	var text bytes.Buffer
	text.WriteString(hdr)
	for i := 0; i < 10; i++ {
		text.WriteString("c" + strconv.Itoa(i) + ",2024-03-01,,\n")
	}
	path := writeTemp(t, "e.csv", text.String())
	res, err := readAll(t, path, Options{BatchSize: 4})
	require.NoError(t, err)
	assert.Equal(t, []int{4, 4, 2}, res.Batches)
	assert.Equal(t, "c9", res.Events[9].ID)
	_, err = Open(path, Options{BatchSize: -1})
	assert.Error(t, err)
}

// TestFolderWithFIFOIsRefused: a FIFO (here named like an input file, and
// behind a symbolic link) in an input folder used to block the run for ever
// at open(2); the folder is refused naming the file (issue 14 item 9).
func TestFolderWithFIFOIsRefused(t *testing.T) {
	for _, viaLink := range []bool{false, true} {
		dir := t.TempDir()
		require.NoError(t, os.WriteFile(filepath.Join(dir, "a.csv"), []byte("customer_id,event_time,event_type,amount\n1,2024-01-01,purchase,5\n"), 0o644))
		fifo := filepath.Join(dir, "b.csv")
		if viaLink {
			fifo = filepath.Join(t.TempDir(), "pipe")
		}
		if err := syscall.Mkfifo(fifo, 0o644); err != nil {
			t.Skipf("mkfifo: %v", err)
		}
		if viaLink {
			require.NoError(t, os.Symlink(fifo, filepath.Join(dir, "b.csv")))
		}
		done := make(chan error, 1)
		go func() {
			r, err := Open(dir, Options{})
			if err == nil {
				r.Release()
			}
			done <- err
		}()
		select {
		case err := <-done:
			require.Error(t, err)
			assert.ErrorIs(t, err, ErrNotRegularFile)
			assert.Contains(t, err.Error(), filepath.Join(dir, "b.csv"))
			assert.Contains(t, err.Error(), "FIFO")
		case <-time.After(10 * time.Second):
			t.Fatal("opening a folder with a FIFO hangs")
		}
	}
}

// TestPartialColumns: a folder whose files disagree on an optional column
// says which files lack it (their rows have it null); files that agree,
// and a single file, say nothing.
func TestPartialColumns(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a.csv"), []byte(hdr+"c1,2024-03-01,purchase,1\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "b.csv"), []byte("customer_id,event_time,event_type\nc2,2024-03-02,purchase\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "c.csv"), []byte(hdr+"c3,2024-03-03,visit,\n"), 0o644))
	r, err := Open(dir, Options{})
	require.NoError(t, err)
	for r.Next() {
	}
	require.NoError(t, r.Err())
	assert.Equal(t, []string{"column amount is missing from 1 of 3 files (" + filepath.Join(dir, "b.csv") + "): their rows have no amount"}, r.PartialColumns(),
		"reported once per column, though reading opens the files again")
	r.Release()

	r, err = Open(filepath.Join(dir, "a.csv"), Options{})
	require.NoError(t, err)
	assert.Empty(t, r.PartialColumns())
	r.Release()
	require.NoError(t, os.Remove(filepath.Join(dir, "b.csv")))
	r, err = Open(dir, Options{})
	require.NoError(t, err)
	assert.Empty(t, r.PartialColumns(), "a.csv and c.csv agree")
	r.Release()
}
