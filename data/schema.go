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
