package data

import (
	"fmt"
	"strings"
)

// This file exports the per-value rules of the file readers so that other
// sources of the canonical layout (data/sqlsource) apply exactly the same
// rule set. Each function wraps the unexported one the file readers use.

// CheckID trims surrounding white space from a customer id and validates
// it: empty gives ErrEmptyID; a NUL byte or invalid UTF-8 gives a reason
// wrapping ErrBadID, more than MaxIDLength characters one wrapping
// ErrLongID (and ErrBadID). The result may share memory with s.
func CheckID(s string) (string, error) { return checkID(s) }

// ParseTime parses an event_time string to milliseconds since the Unix
// epoch, UTC, with the rules of Options.TimeLayout: layout "" accepts RFC
// 3339 (an offset is converted to UTC) or 2006-01-02 (midnight UTC); with a
// layout a time without zone is UTC. Sub-millisecond parts are floored.
// Empty, unparsable, or outside the years 1900..2200 gives a reason
// wrapping ErrBadTime.
func ParseTime(s, layout string) (int64, error) { return parseTime(s, layout) }

// CheckTimeMS returns a reason wrapping ErrBadTime, quoting raw, when ms
// (milliseconds since the epoch, UTC) lies outside the years 1900..2200.
func CheckTimeMS(ms int64, raw string) error { return checkTimeMS(ms, raw) }

// NormType trims and lower-cases an event type; empty is EventPurchase.
// Invalid UTF-8 or a NUL byte gives a reason wrapping ErrBadRow. The result
// may share memory with s.
func NormType(s string) (string, error) { return normType(s) }

// ParseAmount parses an amount with the file readers' rules: the trimmed
// text as a plain decimal number (sign, digits, one '.', optional exponent);
// empty is null (valid false, no error); text containing ',', Go-only
// syntax (1_000, 0x1p4), unparsable text, NaN, ±Inf (also 1e400) and
// |x| > MaxAmount give a reason wrapping ErrBadAmount.
func ParseAmount(s string) (v float64, valid bool, err error) { return parseAmount(s) }

// CheckEventID trims an event_id like the file readers do; "" means none.
// An id with NUL or invalid UTF-8 is an error wrapping ErrBadID.
func CheckEventID(s string) (string, error) { return checkEventID(s) }

// CheckSubscriptionID trims a subscription_id like the file readers do; ""
// means none. An id with NUL or invalid UTF-8 is an error wrapping ErrBadID.
func CheckSubscriptionID(s string) (string, error) { return checkSubscriptionID(s) }

// ParsePeriodEnd parses a period_end string with the rules of ParseTime;
// empty is null (valid false, no error). A bad value, or one whose UTC day
// is before the day of the row's event_time eventMS, gives a reason
// wrapping ErrBadPeriodEnd.
func ParsePeriodEnd(s, layout string, eventMS int64) (ms int64, valid bool, err error) {
	return parsePeriodEnd(s, layout, eventMS)
}

// CheckPeriodEnd returns a reason wrapping ErrBadPeriodEnd, quoting raw,
// when ms lies outside the years 1900..2200 or on a UTC day before the day
// of eventMS; otherwise nil.
func CheckPeriodEnd(ms, eventMS int64, raw string) error { return checkPeriodEnd(ms, eventMS, raw) }

// CheckAmount returns a reason wrapping ErrBadAmount, quoting raw, when v is
// NaN, ±Inf or |v| > MaxAmount; otherwise nil.
func CheckAmount(v float64, raw string) error { return checkAmount(v, raw) }

// NewReason returns a row-level error whose text is msg and which unwraps to
// sentinel (one of ErrEmptyID, ErrBadID, ErrBadTime, ErrBadAmount,
// ErrBadPeriodEnd, ErrBadRow), like the reasons the file readers put in a ParseError.
func NewReason(sentinel error, msg string) error { return newReason(sentinel, msg) }

// NumCanonical is the number of canonical columns, the optional ones
// included.
const NumCanonical = nCanon

// CanonicalColumns returns the canonical column names in schema order:
// customer_id, event_time, event_type, amount, event_id, subscription_id,
// period_end.
func CanonicalColumns() [NumCanonical]string { return canonicalCols }

// ResolveColumns finds the index in names of every canonical column (in
// the order of CanonicalColumns) with the file readers' rules: a column is
// looked up by m[canonical] when mapped, else by its own name; an exact
// match first, then a unique case-insensitive one. Optional columns
// (event_type, amount, event_id, subscription_id, period_end) that are absent and not mapped get -1. A missing
// required or mapped column is an error wrapping ErrMissingColumn that names
// source, the canonical column, the name looked up and the columns present;
// a key of m that is not a canonical column is an error too.
func ResolveColumns(source string, names []string, m map[string]string) ([NumCanonical]int, error) {
	for k := range m {
		if !isCanonical(k) {
			return [NumCanonical]int{-1, -1, -1, -1, -1, -1, -1}, fmt.Errorf("data: %s: Map has unknown canonical column %q (want one of %s)", source, k, strings.Join(canonicalCols[:], ", "))
		}
	}
	r := &Reader{opt: Options{Map: m}}
	return r.resolveColumns(source, names)
}
