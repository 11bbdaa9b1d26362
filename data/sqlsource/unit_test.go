package sqlsource

import (
	"context"
	"encoding/binary"
	"math"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/churnpipe/churnpipe/data"
)

// These tests need no database server.

// The pipeline's Source interface (pipeline.Source; not imported: data must
// not import up).
var _ interface {
	Next() bool
	Record() arrow.RecordBatch
	Err() error
	Stats() data.Stats
	Release()
} = (*Reader)(nil)

func TestParseTable(t *testing.T) {
	cases := []struct {
		in   string
		want pgx.Identifier // nil: an error
	}{
		{"events", pgx.Identifier{"events"}},
		{"crm.events", pgx.Identifier{"crm", "events"}},
		{"Crm.Events", pgx.Identifier{"Crm", "Events"}}, // exact: no case folding
		{"ev ents", pgx.Identifier{"ev ents"}},
		{" crm . ev ents ", pgx.Identifier{"crm", "ev ents"}},
		{`"ev ents"`, pgx.Identifier{"ev ents"}},
		{`crm."a.b"`, pgx.Identifier{"crm", "a.b"}},
		{`"we""ird"`, pgx.Identifier{`we"ird`}},
		{`"c r m" . "x"`, pgx.Identifier{"c r m", "x"}},
		{"", nil},
		{"crm.", nil},
		{".events", nil},
		{"a.b.c", nil},
		{`"unterminated`, nil},
		{`"x"y`, nil},
		{`we"ird`, nil},
		{"a\x00b", nil},
	}
	for _, tc := range cases {
		got, err := parseTable(tc.in)
		if tc.want == nil {
			assert.Error(t, err, "%q", tc.in)
			continue
		}
		if assert.NoError(t, err, "%q", tc.in) {
			assert.Equal(t, tc.want, got, "%q", tc.in)
		}
	}
	// The SQL sent quotes every part.
	id, err := parseTable(`crm."we""ird"`)
	require.NoError(t, err)
	assert.Equal(t, `"crm"."we""ird"`, id.Sanitize())
}

// numeric builds the binary form of a numeric from its base-10000 digits
// (PostgreSQL's NumericVar: value = Σ digits[i]·10000^(weight−i)).
func numeric(weight int16, sign uint16, dscale int16, digits ...int16) []byte {
	b := make([]byte, 8+2*len(digits))
	binary.BigEndian.PutUint16(b[0:], uint16(len(digits)))
	binary.BigEndian.PutUint16(b[2:], uint16(weight))
	binary.BigEndian.PutUint16(b[4:], sign)
	binary.BigEndian.PutUint16(b[6:], uint16(dscale))
	for i, d := range digits {
		binary.BigEndian.PutUint16(b[8+2*i:], uint16(d))
	}
	return b
}

// TestAppendNumeric: hand-encoded values; the expected text is the value
// written out by hand with dscale digits after the point, as numeric_out
// does. (TestNumericText checks against the server itself.)
func TestAppendNumeric(t *testing.T) {
	cases := []struct {
		raw  []byte
		want string
	}{
		{numeric(0, numPos, 0), "0"},
		{numeric(0, numPos, 2), "0.00"},
		{numeric(0, numPos, 2, 29, 3300), "29.33"},
		{numeric(0, numNeg, 2, 29, 3300), "-29.33"},
		{numeric(1, numPos, 0, 1), "10000"},                             // 1·10000¹, trailing zero group omitted
		{numeric(-1, numPos, 4, 1), "0.0001"},                           // 1·10000⁻¹
		{numeric(-2, numPos, 5, 1000), "0.00001"},                       // 1000·10000⁻²
		{numeric(2, numPos, 3, 12, 3456, 7890, 1230), "1234567890.123"}, // dscale cuts the last group
		{numeric(0, numNaN, 0), "NaN"},
		{numeric(0, numPInf, 0), "Infinity"},
		{numeric(0, numNInf, 0), "-Infinity"},
	}
	for _, tc := range cases {
		got, err := appendNumeric(nil, tc.raw)
		require.NoError(t, err)
		assert.Equal(t, tc.want, string(got))
	}
	_, err := appendNumeric(nil, []byte{0, 1, 0})
	assert.Error(t, err, "short")
	_, err = appendNumeric(nil, numeric(0, 0x1234, 0, 1))
	assert.Error(t, err, "bad sign")
}

// TestBinaryTimes: the PostgreSQL epoch is 2000-01-01 UTC; values before
// it floor to the earlier millisecond; infinity is implausible.
func TestBinaryTimes(t *testing.T) {
	be8 := func(v int64) []byte { return binary.BigEndian.AppendUint64(nil, uint64(v)) }
	be4 := func(v int32) []byte { return binary.BigEndian.AppendUint32(nil, uint32(v)) }
	ms, err := timestampMS(be8(0))
	require.NoError(t, err)
	assert.Equal(t, time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli(), ms)
	ms, _ = timestampMS(be8(-1)) // 1999-12-31T23:59:59.999999 → .999
	assert.Equal(t, time.Date(1999, 12, 31, 23, 59, 59, 999e6, time.UTC).UnixMilli(), ms)
	ms, _ = timestampMS(be8(math.MaxInt64))
	assert.Error(t, data.CheckTimeMS(ms, "infinity"))
	ms, _ = dateMS(be4(-36524)) // 1900-01-01 is 36,524 days before 2000-01-01
	assert.Equal(t, time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli(), ms)
	ms, _ = dateMS(be4(math.MinInt32))
	assert.Error(t, data.CheckTimeMS(ms, "-infinity"))
	_, err = timestampMS([]byte{1, 2})
	assert.Error(t, err)
	assert.Equal(t, "1899-12-31T23:59:59.5Z", string(appendText(nil, kTimestamp, be8(-3155673600500000))))
	assert.Equal(t, "infinity", string(appendText(nil, kDate, be4(math.MaxInt32))))
}

// TestOpenErrors: option and DSN errors never show the password.
func TestOpenErrors(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cases := []struct {
		name string
		dsn  string
		opt  Options
		is   error
	}{
		{"neither table nor query", "postgres://u:s3cret@127.0.0.1:1/x", Options{}, nil},
		{"both", "postgres://u:s3cret@127.0.0.1:1/x", Options{Table: "t", Query: "SELECT 1"}, nil},
		{"negative batch", "postgres://u:s3cret@127.0.0.1:1/x", Options{Table: "t", BatchSize: -1}, nil},
		{"mysql", "mysql://u:s3cret@127.0.0.1:3306/crm", Options{Table: "t"}, data.ErrUnsupported},
		{"other scheme", "sqlserver://u:s3cret@h/x", Options{Table: "t"}, data.ErrUnsupported},
		{"bad table", "postgres://u:s3cret@127.0.0.1:1/x", Options{Table: "a.b.c"}, nil},
		{"invalid DSN", "postgres://u:s3cret@127.0.0.1:99999999/x?sslmode=bogus", Options{Table: "t"}, nil},
		{"password parameter", "postgres://u@127.0.0.1:99999999/x?password=s3cret&sslmode=bogus", Options{Table: "t"}, nil},
		{"connection refused", "postgres://u:s3cret@127.0.0.1:1/x?connect_timeout=5", Options{Table: "t"}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Open(ctx, tc.dsn, tc.opt)
			require.Error(t, err)
			assert.Nil(t, r)
			assert.NotContains(t, err.Error(), "s3cret")
			if tc.is != nil {
				assert.ErrorIs(t, err, tc.is)
			}
		})
	}
}
