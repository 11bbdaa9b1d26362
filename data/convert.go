package data

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Plausible event times: the years 1900 to 2200 inclusive, UTC.
var (
	minEventMS = time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	maxEventMS = time.Date(2201, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli() // exclusive
)

// MaxAmount is the largest plausible |amount|; larger values are rejected.
const MaxAmount = 1e15

// checkID trims surrounding white space from a customer id and validates it.
func checkID(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", ErrEmptyID
	}
	if idNullMarker(s) {
		return "", &reason{sentinel: ErrEmptyID, msg: "empty customer_id: " + strconv.Quote(s) + " marks a missing value"}
	}
	if strings.IndexByte(s, 0) >= 0 {
		return "", newReasonQ(ErrBadID, "customer_id contains NUL:", s)
	}

	if !utf8.ValidString(s) {
		return "", newReasonQ(ErrBadID, "customer_id is not valid UTF-8:", s)
	}
	if len(s) > MaxIDLength { // fewer bytes than the limit are fewer characters too
		if n := utf8.RuneCountInString(s); n > MaxIDLength {
			return "", longID(s, n)
		}
	}
	return s, nil
}

// MaxIDLength is the longest customer_id, in characters (Unicode code
// points), that the readers accept: a longer one is a rejected row (reason
// wrapping ErrLongID, quarantined and counted) rather than a night that
// fails at publish. 191 characters is what every sink can store and index:
// MySQL/MariaDB key the customer_alerts table by a VARCHAR(191) utf8mb4
// customer_id (InnoDB's 767-byte key prefix), and 191 four-byte characters
// (764 bytes) stay far below PostgreSQL's B-tree entry limit (about 2,700
// bytes). SHA-256 and SHA-512 hex digests (64 and 128) and UUIDs fit.
const MaxIDLength = 191

// longID is the reason of an over-long id: its length and its first 32
// characters.
func longID(s string, n int) error {
	head, k := s, 0
	for i := range s {
		if k == 32 {
			head = s[:i]
			break
		}
		k++
	}
	return newReason(ErrLongID, fmt.Sprintf("customer_id is %d characters, longer than the %d every sink stores (MaxIDLength): %q…", n, MaxIDLength, head))
}

// checkEventID trims an event_id; "" means none (a null event_id). An id
// with NUL or invalid UTF-8 is a bad row.
func checkEventID(s string) (string, error) {
	s = strings.TrimSpace(s)
	if nullMarker(s) {
		return "", nil // a missing event_id: the row is kept, never matched
	}
	if strings.IndexByte(s, 0) >= 0 {
		return "", newReasonQ(ErrBadID, "event_id contains NUL:", s)
	}
	if !utf8.ValidString(s) {
		return "", newReasonQ(ErrBadID, "event_id is not valid UTF-8:", s)
	}
	return s, nil
}

// checkSubscriptionID trims a subscription_id; "" means none (null). An id
// with NUL or invalid UTF-8 is a bad row.
func checkSubscriptionID(s string) (string, error) {
	s = strings.TrimSpace(s)
	if nullMarker(s) {
		return "", nil
	}
	if strings.IndexByte(s, 0) >= 0 {
		return "", newReasonQ(ErrBadID, "subscription_id contains NUL:", s)
	}
	if !utf8.ValidString(s) {
		return "", newReasonQ(ErrBadID, "subscription_id is not valid UTF-8:", s)
	}
	return s, nil
}

// parsePeriodEnd parses a period_end string with the rules of event_time;
// empty is null (valid false). eventMS is the row's event_time: a period
// end whose UTC day is before the event's day is rejected.
func parsePeriodEnd(s, layout string, eventMS int64) (ms int64, valid bool, err error) {
	if t := strings.TrimSpace(s); t == "" || nullMarker(t) {
		return 0, false, nil
	}
	ms, err = parseTime(s, layout)
	if err != nil {
		return 0, false, newReason(ErrBadPeriodEnd, "period_end: "+err.Error())
	}
	if err := checkPeriodEnd(ms, eventMS, s); err != nil {
		return 0, false, err
	}
	return ms, true, nil
}

// checkPeriodEnd rejects a period_end (ms) outside the years 1900..2200 or
// whose UTC day is before the day of the event (eventMS); raw is quoted in
// the reason.
func checkPeriodEnd(ms, eventMS int64, raw string) error {
	if ms < minEventMS || ms >= maxEventMS {
		return newReasonQ(ErrBadPeriodEnd, "period_end: implausible time", raw)
	}
	if DayOf(ms) < DayOf(eventMS) {
		return newReasonQ(ErrBadPeriodEnd, "period_end before the event ("+time.UnixMilli(eventMS).UTC().Format(time.DateOnly)+"):", raw)
	}
	return nil
}

// checkTimeMS validates that ms lies in the years 1900..2200.
func checkTimeMS(ms int64, raw string) error {
	if ms < minEventMS || ms >= maxEventMS {
		return newReasonQ(ErrBadTime, "implausible time", raw)
	}
	return nil
}

// parseTime parses an event_time string to milliseconds since the epoch,
// UTC. With layout "" it accepts RFC 3339 with or without a fraction of a
// second (an offset is converted to UTC) and 2006-01-02 (midnight UTC); a
// time without zone is rejected. With a layout, time.ParseInLocation in UTC
// is used, so a time without zone is UTC. Fractions below a millisecond are
// truncated towards the past.
func parseTime(s, layout string) (int64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, newReason(ErrBadTime, "empty event_time")
	}
	if layout == "" {
		if ms, ok := parseTimeFast(s); ok {
			if err := checkTimeMS(ms, s); err != nil {
				return 0, err
			}
			return ms, nil
		}
	}
	var t time.Time
	var err error
	if layout == "" {
		t, err = time.Parse(time.RFC3339, s)
		if err != nil {
			var ok bool
			if t, ok = parseZoned(s); !ok {
				if _, zerr := parseZoneless(s); zerr == nil {
					return 0, newReasonQ(ErrBadTime, "time without zone (give --time-layout, e.g. '2006-01-02 15:04:05', to read such times as UTC, or write an offset)", s)
				}
				return 0, newReasonQ(ErrBadTime, "unparsable time (want RFC 3339 or 2006-01-02)", s)
			}
		}
	} else {
		t, err = time.ParseInLocation(layout, s, time.UTC)
		if err != nil {
			return 0, newReasonQ(ErrBadTime, "unparsable time (want layout "+layout+")", s)
		}
		if name, off := t.Zone(); off == 0 && t.Location() != time.UTC && !utcName(name) {
			// A zone abbreviation (layout MST) that Go does not know: it
			// reads EDT or CET as UTC with the abbreviation kept.
			return 0, newReason(ErrBadTime, "time "+strconv.Quote(s)+": zone abbreviation "+strconv.Quote(name)+
				" cannot be resolved (only UTC and GMT can; give a numeric offset, layout -0700)")
		}
	}
	if y := t.UTC().Year(); y < 1900 || y > 2200 {
		return 0, newReasonQ(ErrBadTime, "implausible time", s)
	}
	// UnixNano is exact for these years; floor to milliseconds.
	ms := floorDiv(t.UnixNano(), 1e6)
	if err := checkTimeMS(ms, s); err != nil {
		return 0, err
	}
	return ms, nil
}

// zonedLayouts are the unambiguous forms of a time with a zone that
// exports write besides RFC 3339, tried in order when RFC 3339 fails: a
// space for the T (RFC 3339 §5.6 allows it; PostgreSQL and most SQL
// clients print it), an offset without colon (+0800, ISO 8601 basic) or
// with hours only (+08, PostgreSQL), minutes without seconds. A fraction
// of a second after the seconds is accepted by time.Parse in every one.
var zonedLayouts = []string{
	"2006-01-02 15:04:05Z07:00",
	"2006-01-02T15:04:05Z0700",
	"2006-01-02 15:04:05Z0700",
	"2006-01-02T15:04:05Z07",
	"2006-01-02 15:04:05Z07",
	"2006-01-02 15:04:05 Z07:00",
	"2006-01-02 15:04:05 Z0700",
	"2006-01-02T15:04Z07:00",
	"2006-01-02 15:04Z07:00",
}

// parseZoned parses s with zonedLayouts; a trailing " UTC" or " GMT" is
// read as Z.
func parseZoned(s string) (time.Time, bool) {
	if len(s) > 4 && (strings.HasSuffix(s, " UTC") || strings.HasSuffix(s, " GMT")) {
		s = s[:len(s)-4] + "Z"
		if t, err := time.Parse(time.RFC3339, s); err == nil {
			return t, true
		}
	}
	for _, l := range zonedLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// parseZoneless reports (err == nil) a date and time without any zone.
func parseZoneless(s string) (time.Time, error) {
	t, err := time.Parse("2006-01-02T15:04:05", s)
	if err != nil {
		t, err = time.Parse("2006-01-02 15:04:05", s)
	}
	if err != nil {
		t, err = time.Parse("2006-01-02 15:04", s)
	}
	return t, err
}

// utcName reports whether a zone abbreviation names UTC itself.
func utcName(name string) bool {
	switch name {
	case "UTC", "GMT", "UT", "Z":
		return true
	}
	return false
}

// parseTimeFast parses YYYY-MM-DD and YYYY-MM-DDTHH:MM:SS[.fraction]Z
// without allocating. ok is false for anything else, including valid RFC
// 3339 with an offset, which time.Parse handles.
func parseTimeFast(s string) (ms int64, ok bool) {
	if len(s) != 10 && len(s) < 20 {
		return 0, false
	}
	y, ok1 := digits(s[0:4])
	mo, ok2 := digits(s[5:7])
	d, ok3 := digits(s[8:10])
	if !ok1 || !ok2 || !ok3 || s[4] != '-' || s[7] != '-' || mo < 1 || mo > 12 || d < 1 || d > daysIn(mo, y) {
		return 0, false
	}
	days := daysFromCivil(y, mo, d)
	if len(s) == 10 {
		return days * MillisPerDay, true
	}
	if s[10] != 'T' || s[13] != ':' || s[16] != ':' || s[len(s)-1] != 'Z' {
		return 0, false
	}
	h, ok1 := digits(s[11:13])
	mi, ok2 := digits(s[14:16])
	sec, ok3 := digits(s[17:19])
	if !ok1 || !ok2 || !ok3 || h > 23 || mi > 59 || sec > 59 {
		return 0, false
	}
	var frac int64
	if rest := s[19 : len(s)-1]; rest != "" {
		if rest[0] != '.' || len(rest) < 2 || len(rest) > 10 {
			return 0, false
		}
		f, ok := digits(rest[1:])
		if !ok {
			return 0, false
		}
		for n := len(rest) - 1; n < 9; n++ {
			f *= 10
		}
		frac = int64(f) / 1e6
	}
	return days*MillisPerDay + int64(h*3600+mi*60+sec)*1000 + frac, true
}

// digits parses a string of ASCII digits.
func digits(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i] - '0'
		if c > 9 {
			return 0, false
		}
		n = n*10 + int(c)
	}
	return n, len(s) > 0
}

func isLeap(y int) bool { return y%4 == 0 && (y%100 != 0 || y%400 == 0) }

func daysIn(m, y int) int {
	switch m {
	case 2:
		if isLeap(y) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// daysFromCivil returns the days since 1970-01-01 of a proleptic Gregorian
// date (H. Hinnant, "chrono-Compatible Low-Level Date Algorithms").
func daysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := floorDiv(int64(y), 400)
	yoe := int64(y) - era*400
	mp := int64((m + 9) % 12)
	doy := (153*mp+2)/5 + int64(d) - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// normType trims and lower-cases an event type; empty means purchase.
func normType(s string) (string, error) {
	if nullMarker(strings.TrimSpace(s)) {
		return EventPurchase, nil // as an empty event_type
	}
	simple := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' || c >= 0x80 || c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == 0 {
			simple = false
			break
		}
	}
	if !simple {
		if !utf8.ValidString(s) || strings.IndexByte(s, 0) >= 0 {
			return "", newReasonQ(ErrBadRow, "event_type is not valid UTF-8 or contains NUL:", s)
		}
		s = strings.ToLower(strings.TrimSpace(s))
	}
	if s == "" {
		return EventPurchase, nil
	}
	return s, nil
}

// parseAmount parses an amount; valid is false for an empty (null) amount.
func parseAmount(s string) (v float64, valid bool, err error) {
	s = strings.TrimSpace(s)
	if s == "" || (nullMarker(s) && !strings.EqualFold(s, "nan")) {
		return 0, false, nil // NaN stays a non-finite amount: rejected
	}
	if strings.IndexByte(s, ',') >= 0 {
		return 0, false, newReason(ErrBadAmount, "amount "+strconv.Quote(s)+" contains ','")
	}
	plain := plainDecimal(s)
	v, err = strconv.ParseFloat(s, 64)
	if err != nil {
		if math.IsInf(v, 0) { // ErrRange: ±1e400
			return 0, false, newReasonQ(ErrBadAmount, "non-finite amount", s)
		}
		return 0, false, newReasonQ(ErrBadAmount, "invalid amount", s)
	}
	if !plain {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return 0, false, newReasonQ(ErrBadAmount, "non-finite amount", s)
		}
		// Go-only syntax ParseFloat accepts: 1_000, 0x1p4.
		return 0, false, newReason(ErrBadAmount, "invalid amount "+strconv.Quote(s)+": not a plain decimal number (digits, one '.', an optional e exponent)")
	}
	if err := checkAmount(v, s); err != nil {
		return 0, false, err
	}
	return v, true, nil
}

// plainDecimal reports whether s is a plain decimal number: an optional
// sign, digits with at most one '.' (at least one digit), and an optional
// exponent e/E, sign, digits. It is what spreadsheets, databases and pandas
// write; Go's own forms (1_000, 0x1p4, Inf, NaN) are not.
func plainDecimal(s string) bool {
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	digits, dot := 0, false
mantissa:
	for ; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			digits++
		case c == '.' && !dot:
			dot = true
		default:
			break mantissa
		}
	}
	if digits == 0 {
		return false
	}
	if i == len(s) {
		return true
	}
	if s[i] != 'e' && s[i] != 'E' {
		return false
	}
	i++
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	if i == len(s) {
		return false
	}
	for ; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// checkAmount rejects NaN, ±Inf and |v| > MaxAmount.
func checkAmount(v float64, raw string) error {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return newReasonQ(ErrBadAmount, "non-finite amount", raw)
	}
	if math.Abs(v) > MaxAmount {
		return newReasonQ(ErrBadAmount, "implausible amount", raw)
	}
	return nil
}

// nullMarker reports whether the trimmed text s is how exports write a
// missing value: SQL NULL (also MySQL's \N), pandas and R (NaN, <NA>, NA,
// None), spreadsheets (#N/A, N/A). Such a text is read as empty: an event_id,
// subscription_id, period_end or amount is missing, an event_type is the
// default; NaN as an amount stays a non-finite amount (rejected). For
// customer_id see idNullMarker.
func nullMarker(s string) bool {
	switch s {
	case "NULL", "null", "Null", `\N`, "NaN", "nan", "None", "<NA>", "NA", "#N/A", "N/A", "n/a":
		return true
	}
	return false
}

// idNullMarker is nullMarker for customer_id, narrower: only the markers
// that SQL and spreadsheet exports write and no one uses as an id (NULL,
// \N, <NA>, #N/A); "null", "nan" or "NA" may be ids.
func idNullMarker(s string) bool {
	switch s {
	case "NULL", `\N`, "<NA>", "#N/A":
		return true
	}
	return false
}
