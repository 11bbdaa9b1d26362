package btyd

import (
	"fmt"
	"math"
)

// TimeUnit is a calendar unit of time. Day and Week are exact; Month is
// 365.25/12 = 30.4375 days, the mean Gregorian month (there is no hidden
// 30-day month).
type TimeUnit int

// Time units.
const (
	Day TimeUnit = iota + 1
	Week
	Month
)

// DaysPerMonth is the length of a Month in days: 365.25/12.
const DaysPerMonth = 365.25 / 12

// Days returns the length of u in days; it panics for an unknown unit.
func (u TimeUnit) Days() float64 {
	switch u {
	case Day:
		return 1
	case Week:
		return 7
	case Month:
		return DaysPerMonth
	}
	panic(fmt.Sprintf("btyd: unknown TimeUnit %d", int(u)))
}

// String returns "day", "week" or "month".
func (u TimeUnit) String() string {
	switch u {
	case Day:
		return "day"
	case Week:
		return "week"
	case Month:
		return "month"
	}
	return fmt.Sprintf("TimeUnit(%d)", int(u))
}

// CLVOptions fixes the horizon, the discounting and the time units of a
// lifetime value computation. None of the fields has a default.
type CLVOptions struct {
	// ModelUnit is the time unit the count model was fitted in.
	ModelUnit TimeUnit
	// Period is the discounting period; Periods of them form the horizon.
	Period  TimeUnit
	Periods int
	// DiscountRate is the discount rate per Period (0.01 = 1 % per period).
	DiscountRate float64
}

// CLV is the expected discounted value over the horizon of a customer with
// history (x, t_x, T) (in the model's unit) whose expected spend per
// transaction is spend:
//
//	CLV = spend · Σ_{k=1..K} (E[Y(kΔ)] - E[Y((k-1)Δ)]) / (1+d)^k,
//
// where Δ is one Period expressed in model time units, K = Periods and d =
// DiscountRate. The error wraps ErrInvalidInput for invalid options, spend
// or history.
func CLV(m CountModel, spend, x, tx, T float64, o CLVOptions) (float64, error) {
	if err := o.validate(); err != nil {
		return 0, err
	}
	if !(spend >= 0) || math.IsInf(spend, 0) {
		return 0, fmt.Errorf("%w: spend %v must be finite and ≥ 0", ErrInvalidInput, spend)
	}
	if err := checkRow(x, tx, T); err != nil {
		return 0, err
	}
	step := o.Period.Days() / o.ModelUnit.Days()
	var v, prev float64
	for k := 1; k <= o.Periods; k++ {
		e := m.ExpectedPurchases(float64(k)*step, x, tx, T)
		v += (e - prev) / math.Pow(1+o.DiscountRate, float64(k))
		prev = e
	}
	return spend * v, nil
}

func (o CLVOptions) validate() error {
	for _, u := range []TimeUnit{o.ModelUnit, o.Period} {
		if u < Day || u > Month {
			return fmt.Errorf("%w: unknown time unit %d (set ModelUnit and Period)", ErrInvalidInput, int(u))
		}
	}
	if o.Periods < 1 {
		return fmt.Errorf("%w: Periods=%d must be ≥ 1", ErrInvalidInput, o.Periods)
	}
	if !(o.DiscountRate > -1) || math.IsInf(o.DiscountRate, 0) {
		return fmt.Errorf("%w: DiscountRate=%v must be finite and > -1", ErrInvalidInput, o.DiscountRate)
	}
	return nil
}
