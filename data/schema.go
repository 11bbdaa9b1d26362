package data

import (
	"github.com/apache/arrow-go/v18/arrow"
)

// Canonical column names of the interaction history.
const (
	ColCustomerID = "customer_id"
	ColEventTime  = "event_time"
	ColEventType  = "event_type"
	ColAmount     = "amount"
	// ColEventID is the optional source-system id of an event (an order
	// line id, a ticket number). When the input has it, duplicates are
	// defined by (customer_id, event_id): a re-delivered event is dropped
	// and counted. Without it no row is ever dropped as a duplicate.
	ColEventID = "event_id"
	// ColSubscriptionID is the optional id of the subscription (contract)
	// an event belongs to. An account with several subscriptions is handled
	// per subscription (package features/subscription).
	ColSubscriptionID = "subscription_id"
	// ColPeriodEnd is the optional end of the paid (or trial) period an
	// event starts or changes; when given it overrides the period inferred
	// from the event cadence. A period_end whose UTC day is before the
	// event's is a bad row.
	ColPeriodEnd = "period_end"
)

// Well-known event types. Any other string is kept as-is.
const (
	EventPurchase = "purchase"
	EventReturn   = "return"
	EventVisit    = "visit"
	EventSupport  = "support"
)

// EventTimeType is the Arrow type of event_time: milliseconds since the Unix
// epoch, UTC.
var EventTimeType = &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "UTC"}

// EventSchema is the canonical schema of the interaction history. Column
// order is fixed: customer_id, event_time, event_type, amount.
var EventSchema = arrow.NewSchema([]arrow.Field{
	{Name: ColCustomerID, Type: arrow.BinaryTypes.String},
	{Name: ColEventTime, Type: EventTimeType},
	{Name: ColEventType, Type: arrow.BinaryTypes.String},
	{Name: ColAmount, Type: arrow.PrimitiveTypes.Float64, Nullable: true},
}, nil)

// Optional is a set of the optional canonical columns a canonical event
// stream carries after the four fixed ones, in this order: event_id,
// subscription_id, period_end.
type Optional uint8

// The optional canonical columns.
const (
	OptEventID        Optional = 1 << iota // event_id (nullable string)
	OptSubscriptionID                      // subscription_id (nullable string)
	OptPeriodEnd                           // period_end (nullable timestamp, ms UTC)
	optAll            = OptEventID | OptSubscriptionID | OptPeriodEnd
)

// optionalFields are the optional columns in schema order.
var optionalFields = [...]struct {
	bit   Optional
	field arrow.Field
}{
	{OptEventID, arrow.Field{Name: ColEventID, Type: arrow.BinaryTypes.String, Nullable: true}},
	{OptSubscriptionID, arrow.Field{Name: ColSubscriptionID, Type: arrow.BinaryTypes.String, Nullable: true}},
	{OptPeriodEnd, arrow.Field{Name: ColPeriodEnd, Type: EventTimeType, Nullable: true}},
}

// eventSchemas holds EventSchemaOf(o) for every o.
var eventSchemas = func() (out [optAll + 1]*arrow.Schema) {
	for o := Optional(0); o <= optAll; o++ {
		fs := EventSchema.Fields()
		for _, f := range optionalFields {
			if o&f.bit != 0 {
				fs = append(fs, f.field)
			}
		}
		out[o] = arrow.NewSchema(fs, nil)
	}
	return out
}()

// EventSchemaOf returns the canonical schema with the optional columns o:
// EventSchema's four columns, then those of event_id, subscription_id and
// period_end that o holds, in that order. Readers emit the schema of the
// optional columns some file of their input has; rows of files without one
// have nulls there.
func EventSchemaOf(o Optional) *arrow.Schema { return eventSchemas[o&optAll] }

// EventSchemaWithID is EventSchema with the optional fifth column
// event_id (nullable string): EventSchemaOf(OptEventID).
var EventSchemaWithID = EventSchemaOf(OptEventID)

// OptionalOf returns the optional columns of s; ok is false when s is not
// one of the canonical schemas EventSchemaOf returns.
func OptionalOf(s *arrow.Schema) (o Optional, ok bool) {
	if s.NumFields() < 4 {
		return 0, false
	}
	for _, f := range optionalFields {
		if len(s.FieldIndices(f.field.Name)) > 0 {
			o |= f.bit
		}
	}
	return o, s.Equal(eventSchemas[o])
}

// IsEventSchema reports whether s is a schema of a canonical event stream
// (EventSchemaOf of some optional columns). The first four columns are the
// same in all of them, so consumers that need only those read them by
// position; the optional ones are found by name.
func IsEventSchema(s *arrow.Schema) bool {
	_, ok := OptionalOf(s)
	return ok
}

// HasEventID reports whether s carries the event_id column.
func HasEventID(s *arrow.Schema) bool { return len(s.FieldIndices(ColEventID)) == 1 }

// ColumnIndex returns the index of column name in s, -1 when absent.
func ColumnIndex(s *arrow.Schema, name string) int {
	if is := s.FieldIndices(name); len(is) == 1 {
		return is[0]
	}
	return -1
}

// MillisPerDay is the number of event_time units in one UTC day.
const MillisPerDay = 86_400_000

// DayOf returns the UTC day number (days since 1970-01-01) of an event_time
// value in milliseconds. It floors, so times before the epoch map correctly.
func DayOf(ms int64) int32 {
	d := ms / MillisPerDay
	if ms%MillisPerDay < 0 {
		d--
	}
	return int32(d)
}
