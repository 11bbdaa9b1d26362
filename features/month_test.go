package features

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestMonthOf compares the civil-from-days month with the time package's
// calendar on every day from 1600 to 2400 and around the epoch.
func TestMonthOf(t *testing.T) {
	lo := int32(time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC).Unix() / 86400)
	hi := int32(time.Date(2400, 12, 31, 0, 0, 0, 0, time.UTC).Unix() / 86400)
	bad := 0
	for d := lo; d <= hi; d++ {
		tm := time.Unix(int64(d)*86400, 0).UTC()
		want := int32(tm.Year())*12 + int32(tm.Month()) - 1
		if got := monthOf(d); got != want && bad < 5 {
			bad++
			assert.Equal(t, want, got, "day %d (%s)", d, tm.Format(time.DateOnly))
		}
	}
	// Hand values: 1970-01-01 is day 0, 1969-12-31 day −1, 2000-02-29 day 11016.
	assert.Equal(t, int32(1970*12), monthOf(0))
	assert.Equal(t, int32(1969*12+11), monthOf(-1))
	assert.Equal(t, int32(2000*12+1), monthOf(11016))
}
