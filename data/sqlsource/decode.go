package sqlsource

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"math"
	"strconv"
	"time"
	"unsafe"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/churnpipe/churnpipe/data"
)

// kind says how the raw bytes of a result column are decoded.
type kind uint8

const (
	kText      kind = iota // the bytes are text: text-like types in either format, any type in text format
	kInt2                  // binary big-endian int16
	kInt4                  // binary big-endian int32
	kInt8                  // binary big-endian int64
	kFloat4                // binary IEEE 754 float32
	kFloat8                // binary IEEE 754 float64
	kNumeric               // binary numeric
	kTimestamp             // binary timestamp or timestamptz: µs since 2000-01-01 00:00 UTC
	kDate                  // binary date: days since 2000-01-01
	kUUID                  // binary uuid: 16 bytes
	kScanTime              // a time type in text format: decoded by pgx
)

// Offsets of the PostgreSQL epoch (2000-01-01 UTC) from the Unix epoch.
const (
	pgEpochMS   = 946_684_800_000
	pgEpochDays = 10_957
)

// Type classes of the PostgreSQL types a canonical column accepts.
const (
	classText = iota // text-like, or a type pgx does not know (enum, citext…), read as text
	classInt
	classFloat
	classNumeric
	classTime
	classUUID
	classOther
)

func classOf(oid uint32, m *pgtype.Map) int {
	switch oid {
	case pgtype.TextOID, pgtype.VarcharOID, pgtype.BPCharOID, pgtype.NameOID, pgtype.UnknownOID:
		return classText
	case pgtype.Int2OID, pgtype.Int4OID, pgtype.Int8OID:
		return classInt
	case pgtype.Float4OID, pgtype.Float8OID:
		return classFloat
	case pgtype.NumericOID:
		return classNumeric
	case pgtype.TimestamptzOID, pgtype.TimestampOID, pgtype.DateOID:
		return classTime
	case pgtype.UUIDOID:
		return classUUID
	}
	if _, known := m.TypeForOID(oid); !known {
		return classText
	}
	return classOther
}

// accepts reports whether canonical column c (schema order) accepts a
// column of class cl.
func accepts(c, cl int) bool {
	switch cl {
	case classText:
		return true
	case classInt, classNumeric:
		return c == cID || c == cAmount || c == cEventID || c == cSubID
	case classFloat:
		return c == 3
	case classTime:
		return c == cTime || c == cPeriodEnd
	case classUUID:
		return c == cID || c == cEventID || c == cSubID
	}
	return false
}

// Indexes of the canonical columns (data.CanonicalColumns).
const (
	cID = iota
	cTime
	cType
	cAmount
	cEventID
	cSubID
	cPeriodEnd
)

var wantTypes = [data.NumCanonical]string{
	"text, varchar, char, an integer type, numeric or uuid",
	"timestamptz, timestamp, date or text",
	"text, varchar or char",
	"double precision, real, an integer type, numeric or text",
	"text, varchar, char, an integer type, numeric or uuid",
	"text, varchar, char, an integer type, numeric or uuid",
	"timestamptz, timestamp, date or text",
}

// kindOf chooses the decoder of a result column from its type and the
// format pgx asked for.
func kindOf(oid uint32, format int16) kind {
	if format == pgtype.TextFormatCode {
		switch oid {
		case pgtype.TimestamptzOID, pgtype.TimestampOID, pgtype.DateOID:
			return kScanTime
		}
		return kText
	}
	switch oid {
	case pgtype.Int2OID:
		return kInt2
	case pgtype.Int4OID:
		return kInt4
	case pgtype.Int8OID:
		return kInt8
	case pgtype.Float4OID:
		return kFloat4
	case pgtype.Float8OID:
		return kFloat8
	case pgtype.NumericOID:
		return kNumeric
	case pgtype.TimestamptzOID, pgtype.TimestampOID:
		return kTimestamp
	case pgtype.DateOID:
		return kDate
	case pgtype.UUIDOID:
		return kUUID
	}
	return kText // text-like types: the binary format is the text
}

var errShort = errors.New("short binary value")

// bytesString views b as a string without copying; the result must not be
// kept after b changes (pgx reuses the row buffer on the next row).
func bytesString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// intValue decodes a binary integer of kind k.
func intValue(k kind, raw []byte) (int64, error) {
	switch k {
	case kInt2:
		if len(raw) != 2 {
			return 0, errShort
		}
		return int64(int16(binary.BigEndian.Uint16(raw))), nil
	case kInt4:
		if len(raw) != 4 {
			return 0, errShort
		}
		return int64(int32(binary.BigEndian.Uint32(raw))), nil
	default:
		if len(raw) != 8 {
			return 0, errShort
		}
		return int64(binary.BigEndian.Uint64(raw)), nil
	}
}

// floatValue decodes a binary float4 or float8.
func floatValue(k kind, raw []byte) (float64, error) {
	if k == kFloat4 {
		if len(raw) != 4 {
			return 0, errShort
		}
		return float64(math.Float32frombits(binary.BigEndian.Uint32(raw))), nil
	}
	if len(raw) != 8 {
		return 0, errShort
	}
	return math.Float64frombits(binary.BigEndian.Uint64(raw)), nil
}

// Sign words of the binary numeric format.
const (
	numPos  = 0x0000
	numNeg  = 0x4000
	numNaN  = 0xC000
	numPInf = 0xD000
	numNInf = 0xF000
)

// appendNumeric appends the text of a binary numeric value exactly as
// PostgreSQL's numeric_out writes it (get_str_from_var: base-10000 digits,
// dscale digits after the point; "NaN", "Infinity", "-Infinity").
func appendNumeric(dst, raw []byte) ([]byte, error) {
	if len(raw) < 8 {
		return dst, errShort
	}
	ndigits := int(int16(binary.BigEndian.Uint16(raw[0:])))
	weight := int(int16(binary.BigEndian.Uint16(raw[2:])))
	sign := binary.BigEndian.Uint16(raw[4:])
	dscale := int(int16(binary.BigEndian.Uint16(raw[6:])))
	if ndigits < 0 || dscale < 0 || len(raw) != 8+2*ndigits {
		return dst, errShort
	}
	switch sign {
	case numNaN:
		return append(dst, "NaN"...), nil
	case numPInf:
		return append(dst, "Infinity"...), nil
	case numNInf:
		return append(dst, "-Infinity"...), nil
	case numNeg:
		dst = append(dst, '-')
	case numPos:
	default:
		return dst, errors.New("bad numeric sign")
	}
	digit := func(d int) int {
		if d < 0 || d >= ndigits {
			return 0
		}
		return int(binary.BigEndian.Uint16(raw[8+2*d:]))
	}
	if weight < 0 {
		dst = append(dst, '0')
	} else {
		for d := 0; d <= weight; d++ {
			dig := digit(d)
			if d == 0 {
				dst = strconv.AppendInt(dst, int64(dig), 10)
				continue
			}
			dst = append(dst, byte('0'+dig/1000), byte('0'+dig/100%10), byte('0'+dig/10%10), byte('0'+dig%10))
		}
	}
	if dscale > 0 {
		dst = append(dst, '.')
		end := len(dst) + dscale
		for i, d := 0, weight+1; i < dscale; i, d = i+4, d+1 {
			dig := digit(d)
			dst = append(dst, byte('0'+dig/1000), byte('0'+dig/100%10), byte('0'+dig/10%10), byte('0'+dig%10))
		}
		dst = dst[:end]
	}
	return dst, nil
}

// timestampMS decodes a binary timestamp or timestamptz to milliseconds
// since the Unix epoch, flooring. ±infinity (the extreme int64 values) map
// to times far outside the plausible years.
func timestampMS(raw []byte) (int64, error) {
	if len(raw) != 8 {
		return 0, errShort
	}
	us := int64(binary.BigEndian.Uint64(raw))
	ms := us / 1000
	if us%1000 < 0 {
		ms--
	}
	return ms + pgEpochMS, nil
}

// dateMS decodes a binary date to milliseconds since the Unix epoch
// (midnight UTC).
func dateMS(raw []byte) (int64, error) {
	if len(raw) != 4 {
		return 0, errShort
	}
	days := int64(int32(binary.BigEndian.Uint32(raw)))
	return (days + pgEpochDays) * 86_400_000, nil
}

// appendText appends the text of a non-null value of kind k, for messages
// and the quarantine.
func appendText(dst []byte, k kind, raw []byte) []byte {
	switch k {
	case kText, kScanTime:
		return append(dst, raw...)
	case kInt2, kInt4, kInt8:
		if v, err := intValue(k, raw); err == nil {
			return strconv.AppendInt(dst, v, 10)
		}
	case kFloat4, kFloat8:
		if v, err := floatValue(k, raw); err == nil {
			return strconv.AppendFloat(dst, v, 'g', -1, 64)
		}
	case kNumeric:
		if b, err := appendNumeric(dst, raw); err == nil {
			return b
		}
	case kTimestamp:
		if len(raw) == 8 {
			switch us := int64(binary.BigEndian.Uint64(raw)); us {
			case math.MaxInt64:
				return append(dst, "infinity"...)
			case math.MinInt64:
				return append(dst, "-infinity"...)
			default:
				t := time.UnixMicro(us + pgEpochMS*1000).UTC()
				return t.AppendFormat(dst, "2006-01-02T15:04:05.999999Z07:00")
			}
		}
	case kDate:
		if len(raw) == 4 {
			switch d := int32(binary.BigEndian.Uint32(raw)); d {
			case math.MaxInt32:
				return append(dst, "infinity"...)
			case math.MinInt32:
				return append(dst, "-infinity"...)
			default:
				t := time.Unix((int64(d)+pgEpochDays)*86400, 0).UTC()
				return t.AppendFormat(dst, time.DateOnly)
			}
		}
	case kUUID:
		if len(raw) == 16 {
			return appendUUID(dst, raw)
		}
	}
	return append(dst, "<undecodable>"...)
}

// appendUUID appends the canonical text of a 16-byte uuid.
func appendUUID(dst, u []byte) []byte {
	var buf [36]byte
	hex.Encode(buf[0:8], u[0:4])
	buf[8] = '-'
	hex.Encode(buf[9:13], u[4:6])
	buf[13] = '-'
	hex.Encode(buf[14:18], u[6:8])
	buf[18] = '-'
	hex.Encode(buf[19:23], u[8:10])
	buf[23] = '-'
	hex.Encode(buf[24:], u[10:16])
	return append(dst, buf[:]...)
}
