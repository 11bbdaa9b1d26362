package synth

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// ErrConfig is wrapped by every error about an invalid Config.
var ErrConfig = errors.New("synth: invalid config")

// DefaultBatchRows is the target number of rows per record when
// Config.BatchRows is zero.
const DefaultBatchRows = 1 << 16

// Config describes a synthetic population. Rates are per day; shares and
// probabilities are in [0, 1]. See the package documentation for the model.
type Config struct {
	// Customers is the number of customers (ids C0000001 … in order).
	Customers int
	// Start and End are the first and last UTC days of the window
	// (inclusive); times of day are ignored.
	Start, End time.Time
	// Seed selects the random streams.
	Seed uint64

	// R, Alpha: purchase rate λ ~ Gamma(shape R, rate Alpha), per day.
	// A, B: dropout after each repeat purchase p ~ Beta(A, B).
	// P, Q, Gamma: spend per purchase z ~ Gamma(P, ν), ν ~ Gamma(Q, Gamma).
	R, Alpha, A, B, P, Q, Gamma float64

	// ReturnRate is the probability that a purchase is returned (a negative
	// amount a few days later). VisitsPerPurchase is the mean number of
	// visits per purchase while alive. SupportRate is the mean number of
	// support tickets per purchase.
	ReturnRate, VisitsPerPurchase, SupportRate float64

	// EventsPerCustomer, when > 0, is a target mean number of events per
	// customer: every λ is scaled (Alpha divided by a factor found by
	// Calibrate) to reach it. 0 keeps the parameters as given.
	EventsPerCustomer float64

	// ProspectShare is the share of customers who only visit.
	ProspectShare float64
	// SameDayRate is the probability that a purchase is followed by another
	// one on the same day.
	SameDayRate float64
	// Growth is the ratio of the acquisition rate at End to that at Start;
	// 0 means 1 (flat).
	Growth float64
	// Seasonality scales the month × weekday pattern; 0 is flat, 1 the
	// default retail pattern.
	Seasonality float64
	// GrowingShare is the share of buyers whose rate ramps up over their
	// first 180 days.
	GrowingShare float64
	// WarningShare is the share of buyers who show a warning signal (slowing
	// purchases and visits, more returns and tickets) before they die.
	WarningShare float64
	// ReactivationShare is the share of dead customers who come back after a
	// long silence.
	ReactivationShare float64

	// BatchRows is the target number of rows per record (0 means
	// DefaultBatchRows). It does not change the rows generated.
	BatchRows int
}

// DefaultConfig returns the documented retail defaults for customers over
// [start, end] with the given seed.
func DefaultConfig(customers int, start, end time.Time, seed uint64) Config {
	return Config{
		Customers: customers, Start: start, End: end, Seed: seed,
		R: 0.9, Alpha: 30, A: 0.9, B: 9, P: 5, Q: 4, Gamma: 30,
		ReturnRate: 0.06, VisitsPerPurchase: 3, SupportRate: 0.04,
		ProspectShare: 0.05, SameDayRate: 0.03, Growth: 2, Seasonality: 1,
		GrowingShare: 0.25, WarningShare: 0.6, ReactivationShare: 0.1,
	}
}

// Tier returns the configuration of a named benchmark tier, over the two
// years 2024-01-01 … 2025-12-31 with seed 1:
//
//	"S"  10,000 customers, 100 events per customer  (~1 M events)
//	"M"  1,000,000 customers, 50 events per customer (~50 M events)
//	"L"  10,000,000 customers, 50 events per customer (~500 M events)
//
// An unknown name gives an error wrapping ErrConfig.
func Tier(name string) (Config, error) {
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	end := time.Date(2025, 12, 31, 0, 0, 0, 0, time.UTC)
	var n int
	var epc float64
	switch name {
	case "S":
		n, epc = 10_000, 100
	case "M":
		n, epc = 1_000_000, 50
	case "L":
		n, epc = 10_000_000, 50
	default:
		return Config{}, fmt.Errorf("%w: unknown tier %q (want S, M or L)", ErrConfig, name)
	}
	c := DefaultConfig(n, start, end, 1)
	c.EventsPerCustomer = epc
	return c, nil
}

// days returns the first day number and the window length N in days.
func (c *Config) days() (first int32, n int) {
	s := c.Start.UTC()
	e := c.End.UTC()
	first = int32(math.Floor(float64(s.Unix()) / 86400))
	last := int32(math.Floor(float64(e.Unix()) / 86400))
	return first, int(last-first) + 1
}

// Validate reports whether c is usable; errors wrap ErrConfig.
func (c *Config) Validate() error {
	if c.Customers < 0 {
		return fmt.Errorf("%w: Customers = %d < 0", ErrConfig, c.Customers)
	}
	if c.Customers > 99_999_999 {
		return fmt.Errorf("%w: Customers = %d > 99,999,999", ErrConfig, c.Customers)
	}
	if c.Start.IsZero() || c.End.IsZero() {
		return fmt.Errorf("%w: Start and End must be set", ErrConfig)
	}
	if _, n := c.days(); n < 1 {
		return fmt.Errorf("%w: End %s before Start %s", ErrConfig, c.End.Format(time.DateOnly), c.Start.Format(time.DateOnly))
	} else if n > 100*366 {
		return fmt.Errorf("%w: window of %d days is longer than 100 years", ErrConfig, n)
	}
	pos := []struct {
		name string
		v    float64
	}{{"R", c.R}, {"Alpha", c.Alpha}, {"A", c.A}, {"B", c.B}, {"P", c.P}, {"Q", c.Q}, {"Gamma", c.Gamma}}
	for _, f := range pos {
		if !(f.v > 0) || math.IsInf(f.v, 0) {
			return fmt.Errorf("%w: %s = %v, want finite > 0", ErrConfig, f.name, f.v)
		}
	}
	nonneg := []struct {
		name string
		v    float64
		max  float64
	}{
		{"ReturnRate", c.ReturnRate, 1}, {"SupportRate", c.SupportRate, 1e3},
		{"VisitsPerPurchase", c.VisitsPerPurchase, 1e3}, {"EventsPerCustomer", c.EventsPerCustomer, 1e6},
		{"ProspectShare", c.ProspectShare, 1}, {"SameDayRate", c.SameDayRate, 1},
		{"Growth", c.Growth, 1e6}, {"Seasonality", c.Seasonality, 1},
		{"GrowingShare", c.GrowingShare, 1}, {"WarningShare", c.WarningShare, 1},
		{"ReactivationShare", c.ReactivationShare, 1},
	}
	for _, f := range nonneg {
		if !(f.v >= 0 && f.v <= f.max) {
			return fmt.Errorf("%w: %s = %v, want in [0, %g]", ErrConfig, f.name, f.v, f.max)
		}
	}
	if c.BatchRows < 0 {
		return fmt.Errorf("%w: BatchRows = %d < 0", ErrConfig, c.BatchRows)
	}
	return nil
}
