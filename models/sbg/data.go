package sbg

import (
	"fmt"
	"math"
	"sort"
)

// Obs is one group of identical observations: Weight customers known to be
// subscribed after From renewal opportunities (From = 0 for a customer
// observed from the start) who either churned at opportunity To (T = To,
// Churned) or were still subscribed after To opportunities (T > To,
// censored). Its log-likelihood is log P(T = To)/S(From) or
// log S(To)/S(From).
type Obs struct {
	From, To int
	Churned  bool
	Weight   float64
}

// Data is a set of observations. The zero value is empty.
type Data []Obs

// Customers is the sum of the weights.
func (d Data) Customers() float64 {
	w := 0.0
	for _, o := range d {
		w += o.Weight
	}
	return w
}

// Validate reports the first impossible observation (negative or
// non-finite weight, From > To, churn at To = 0 or at To = From).
func (d Data) Validate() error {
	if len(d) == 0 {
		return fmt.Errorf("%w: no observations", ErrInvalidInput)
	}
	churned := 0.0
	for i, o := range d {
		switch {
		case !(o.Weight >= 0) || math.IsInf(o.Weight, 0):
			return fmt.Errorf("%w: observation %d: weight %v", ErrInvalidInput, i, o.Weight)
		case o.From < 0 || o.To < o.From:
			return fmt.Errorf("%w: observation %d: from %d to %d", ErrInvalidInput, i, o.From, o.To)
		case o.Churned && o.To <= o.From:
			return fmt.Errorf("%w: observation %d: churn at opportunity %d of a customer known to be subscribed after %d", ErrInvalidInput, i, o.To, o.From)
		}
		if o.Churned {
			churned += o.Weight
		}
	}
	if d.Customers() == 0 {
		return fmt.Errorf("%w: all weights are zero", ErrInvalidInput)
	}
	if churned == 0 {
		return fmt.Errorf("%w: nobody churned, the churn probability is not identified", ErrInvalidInput)
	}
	return nil
}

// Compress merges identical observations, sorted by (From, To, Churned).
func (d Data) Compress() Data {
	type key struct {
		from, to int
		churned  bool
	}
	m := map[key]float64{}
	for _, o := range d {
		m[key{o.From, o.To, o.Churned}] += o.Weight
	}
	out := make(Data, 0, len(m))
	for k, w := range m {
		if w > 0 {
			out = append(out, Obs{From: k.from, To: k.to, Churned: k.churned, Weight: w})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.From != b.From {
			return a.From < b.From
		}
		if a.To != b.To {
			return a.To < b.To
		}
		return !a.Churned && b.Churned
	})
	return out
}

// FromSurvival turns a cohort's survivor counts at the start of periods
// 0..periods (survivors[0] is the cohort size) into observations: the
// survivors[t−1] − survivors[t] customers lost at opportunity t and the
// survivors[periods] still subscribed after periods opportunities. Counts
// must be finite, non-negative and non-increasing.
func FromSurvival(survivors []float64, periods int) (Data, error) {
	if periods < 1 || periods >= len(survivors) {
		return nil, fmt.Errorf("%w: %d periods need %d survivor counts, have %d", ErrInvalidInput, periods, periods+1, len(survivors))
	}
	var d Data
	for t := 0; t <= periods; t++ {
		s := survivors[t]
		if !(s >= 0) || math.IsInf(s, 0) {
			return nil, fmt.Errorf("%w: survivors at period %d: %v", ErrInvalidInput, t, s)
		}
		if t == 0 {
			continue
		}
		lost := survivors[t-1] - s
		if lost < 0 {
			return nil, fmt.Errorf("%w: survivors rise from %v at period %d to %v at period %d", ErrInvalidInput, survivors[t-1], t-1, s, t)
		}
		if lost > 0 {
			d = append(d, Obs{To: t, Churned: true, Weight: lost})
		}
	}
	if survivors[periods] > 0 {
		d = append(d, Obs{To: periods, Weight: survivors[periods]})
	}
	return d, nil
}

// Holdout returns the observations of the periods after calibration of a
// cohort: the customers subscribed after calibration opportunities, lost at
// opportunity t ∈ (calibration, periods] or still subscribed after periods.
// With FromSurvival(survivors, calibration) it splits one cohort into a
// calibration and a holdout sample.
func Holdout(survivors []float64, calibration, periods int) (Data, error) {
	if calibration < 1 || periods <= calibration || periods >= len(survivors) {
		return nil, fmt.Errorf("%w: holdout (%d, %d] of %d survivor counts", ErrInvalidInput, calibration, periods, len(survivors))
	}
	var d Data
	for t := calibration + 1; t <= periods; t++ {
		lost := survivors[t-1] - survivors[t]
		if lost < 0 || math.IsNaN(lost) {
			return nil, fmt.Errorf("%w: survivors rise from %v at period %d to %v at period %d", ErrInvalidInput, survivors[t-1], t-1, survivors[t], t)
		}
		if lost > 0 {
			d = append(d, Obs{From: calibration, To: t, Churned: true, Weight: lost})
		}
	}
	if survivors[periods] > 0 {
		d = append(d, Obs{From: calibration, To: periods, Weight: survivors[periods]})
	}
	return d, nil
}

// Subscription is one subscriber's renewal history at the as-of day:
// Renewals is the number of renewal opportunities they took (a subscriber
// in their first period has 0); Cancelled says they did not take the next
// one (lifetime T = Renewals+1 periods). A subscriber not cancelled is
// censored: T > Renewals. Since, when positive, says the history starts
// after Since of the renewals (left truncation: a subscriber already in
// their Since+1-th period when observation began).
type Subscription struct {
	Renewals  int
	Cancelled bool
	Since     int
}

// FromSubscriptions turns individual subscriptions into compressed
// observations.
func FromSubscriptions(subs []Subscription) (Data, error) {
	d := make(Data, 0, len(subs))
	for i, s := range subs {
		if s.Renewals < 0 || s.Since < 0 || s.Since > s.Renewals {
			return nil, fmt.Errorf("%w: subscription %d: %d renewals observed since renewal %d", ErrInvalidInput, i, s.Renewals, s.Since)
		}
		if s.Cancelled {
			d = append(d, Obs{From: s.Since, To: s.Renewals + 1, Churned: true, Weight: 1})
		} else {
			d = append(d, Obs{From: s.Since, To: s.Renewals, Weight: 1})
		}
	}
	return d.Compress(), nil
}

// LogLik is the log-likelihood of d under m.
func LogLik(m Model, d Data) float64 {
	ll := 0.0
	for _, o := range d {
		if o.Weight == 0 {
			continue
		}
		var l float64
		if o.Churned {
			l = LogPChurn(m, o.To)
		} else {
			l = m.LogSurvival(o.To)
		}
		if o.From > 0 {
			l -= m.LogSurvival(o.From)
		}
		ll += o.Weight * l
	}
	return ll
}
