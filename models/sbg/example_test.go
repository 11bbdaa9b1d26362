package sbg_test

import (
	"fmt"

	"github.com/churnpipe/churnpipe/models/sbg"
)

// Fader & Hardie (2007): the "regular" cohort's survivors at the start of
// years 0..7, fitted by maximum likelihood (α = 0.704, β = 1.182,
// LL = −1680.27 in the paper), projected to year 12 (actual: 173).
func ExampleFitSBG() {
	regular := []float64{1000, 631, 468, 382, 326, 289, 262, 241}
	d, _ := sbg.FromSurvival(regular, 7)
	m, fit, _ := sbg.FitSBG(d, sbg.FitOptions{})
	fmt.Printf("alpha %.3f beta %.3f loglik %.2f\n", m.Alpha, m.Beta, fit.LogLik)
	fmt.Printf("year 12: %.0f subscribers\n", sbg.ProjectSurvivors(m, 1000, 12)[12])
	// Output:
	// alpha 0.704 beta 1.182 loglik -1680.27
	// year 12: 170 subscribers
}

// A subscriber of the regular cohort who has renewed 4 times renews next
// year with probability (β+4)/(α+β+4) = 5.182/5.886 = 0.880. At a 10 %
// yearly discount rate their discounted expected residual lifetime
// (Fader & Hardie 2010, eq. 6; TestDERL checks the series against ₂F₁ and
// the brute-force sum of S) is 5.89 years, worth 589 at a margin of 100 a
// year.
func ExampleSBG_DERL() {
	m := sbg.SBG{Alpha: 0.704, Beta: 1.182}
	fmt.Printf("P(renew) = %.3f\n", m.PRenewNext(4))
	fmt.Printf("DERL = %.2f years\n", m.DERL(0.10, 4))
	fmt.Printf("residual CLV = %.0f\n", sbg.ResidualCLV(m, 100, 0.10, 4))
	// Output:
	// P(renew) = 0.880
	// DERL = 5.89 years
	// residual CLV = 589
}

// Individual subscriptions censored at the as-of day: three cancelled in
// their first period, one after two renewals, two still active after three.
func ExampleFromSubscriptions() {
	d, _ := sbg.FromSubscriptions([]sbg.Subscription{
		{Renewals: 0, Cancelled: true}, {Renewals: 0, Cancelled: true}, {Renewals: 0, Cancelled: true},
		{Renewals: 2, Cancelled: true}, {Renewals: 3}, {Renewals: 3},
	})
	for _, o := range d {
		fmt.Printf("T %s %d: %g\n", map[bool]string{true: "=", false: ">"}[o.Churned], o.To, o.Weight)
	}
	// Output:
	// T = 1: 3
	// T > 3: 2
	// T = 3: 1
}
