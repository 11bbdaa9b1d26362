package synth

import "time"

// monthFactor is the retail month pattern, January … December, before
// normalisation to a day-weighted mean of 1 over a 365-day year.
var monthFactor = [12]float64{0.85, 0.80, 0.90, 0.95, 1.00, 0.95, 0.90, 0.95, 0.95, 1.00, 1.30, 1.60}

// weekdayFactor is the weekday pattern indexed by time.Weekday (Sunday = 0),
// before normalisation to a mean of 1 over a week.
var weekdayFactor = [7]float64{1.00, 0.90, 0.90, 0.95, 1.00, 1.10, 1.15}

// hourWeight is the relative intensity of events in each UTC hour of a day.
var hourWeight = [24]float64{
	1.0, 0.5, 0.3, 0.2, 0.2, 0.3, 0.8, 1.5, 2.5, 3.5, 4.0, 4.5,
	5.0, 4.5, 4.2, 4.2, 4.5, 5.0, 5.5, 6.0, 5.5, 4.5, 3.0, 2.0,
}

var (
	monthNorm   [12]float64 // monthFactor / day-weighted mean
	weekdayNorm [7]float64  // weekdayFactor / mean
	hourCDF     [25]float64 // cumulative hourWeight, hourCDF[24] = 1
	hourOf      [256]uint8  // hour containing the fraction b/256 of the mass
)

func init() {
	daysIn := [12]float64{31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}
	var s float64
	for m, f := range monthFactor {
		s += f * daysIn[m]
	}
	for m, f := range monthFactor {
		monthNorm[m] = f * 365 / s
	}
	s = 0
	for _, f := range weekdayFactor {
		s += f
	}
	for d, f := range weekdayFactor {
		weekdayNorm[d] = f * 7 / s
	}
	s = 0
	for _, w := range hourWeight {
		s += w
	}
	var c float64
	for h, w := range hourWeight {
		hourCDF[h] = c / s
		c += w
	}
	hourCDF[24] = 1
	h := 0
	for b := range hourOf {
		for hourCDF[h+1] <= float64(b)/256 {
			h++
		}
		hourOf[b] = uint8(h)
	}
}

// seasonTables returns, for each day of a window of n days starting at
// first (a UTC day number), the purchase multiplier
// (1 + s·(month − 1))·(1 + s·(weekday − 1)) and the acquisition multiplier
// 1 + s·(month − 1), with their maxima.
func seasonTables(first int32, n int, s float64) (purchase, acquire []float64, pmax, amax float64) {
	purchase = make([]float64, n)
	acquire = make([]float64, n)
	for d := range n {
		day := time.Unix(int64(first+int32(d))*86400, 0).UTC()
		m := 1 + s*(monthNorm[day.Month()-1]-1)
		w := 1 + s*(weekdayNorm[day.Weekday()]-1)
		purchase[d] = m * w
		acquire[d] = m
		pmax = max(pmax, m*w)
		amax = max(amax, m)
	}
	return purchase, acquire, pmax, amax
}

// intraday maps a uniform fraction of a day f ∈ [0, 1) monotonically to a
// fraction of the day distributed by hourWeight (piecewise uniform within an
// hour). Monotone, so the order of events within a day is kept.
func intraday(f float64) float64 {
	lo := int(hourOf[int(f*256)&255])
	for lo < 23 && hourCDF[lo+1] <= f {
		lo++
	}
	w := hourCDF[lo+1] - hourCDF[lo]
	return (float64(lo) + (f-hourCDF[lo])/w) / 24
}
