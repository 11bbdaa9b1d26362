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

// EventSchemaWithID is EventSchema with the optional fifth column
// event_id (nullable string). A Reader emits it when at least one of its
// files has an event_id column; rows of files without one have a null id.
var EventSchemaWithID = arrow.NewSchema(append(EventSchema.Fields(),
	arrow.Field{Name: ColEventID, Type: arrow.BinaryTypes.String, Nullable: true}), nil)

// IsEventSchema reports whether s is EventSchema or EventSchemaWithID, the
// two schemas of a canonical event stream. The first four columns are the
// same in both, so consumers that do not need event_id read them by
// position.
func IsEventSchema(s *arrow.Schema) bool {
	return s.Equal(EventSchema) || s.Equal(EventSchemaWithID)
}

// HasEventID reports whether s carries the event_id column.
func HasEventID(s *arrow.Schema) bool { return s.NumFields() == 5 && s.Field(4).Name == ColEventID }

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
