package btyd_test

import (
	"fmt"

	"github.com/churnpipe/churnpipe/models/btyd"
)

// The BG/NBD CDNOW fit of Fader, Hardie & Lee (2005) scoring their example
// customer: 2 repeat purchases, the last at week 30.43, observed for 38.86
// weeks. By hand: P(alive) = 1/(1 + a/(b+1)·(43.2736/34.8436)^2.2426) =
// 0.7266 and P(no purchase) = 1 - 0.7266·(1 - (43.2736/82.2736)^2.2426) =
// 0.4454; E[Y(39)] = 1.226 is the paper's number.
func ExampleBGNBD() {
	m := btyd.BGNBD{R: 0.2425945, Alpha: 4.4136019, A: 0.7929199, B: 2.4258881}
	fmt.Printf("P(alive) = %.4f\n", m.PAlive(2, 30.43, 38.86))
	fmt.Printf("E[Y(39)] = %.3f\n", m.ExpectedPurchases(39, 2, 30.43, 38.86))
	fmt.Printf("P(no purchase in 39 weeks) = %.4f\n", m.ProbNoPurchase(39, 2, 30.43, 38.86))
	// Output:
	// P(alive) = 0.7266
	// E[Y(39)] = 1.226
	// P(no purchase in 39 weeks) = 0.4454
}

func ExampleCompress() {
	d := btyd.Data{X: []float64{0, 0, 3}, Tx: []float64{0, 0, 20}, T: []float64{38, 38, 38}}
	c := btyd.Compress(d)
	fmt.Println(c.X, c.Weight)
	// Output:
	// [0 3] [2 1]
}

// Twelve months of discounted value on a weekly model, Month = 365.25/12
// days. Spend by hand: 6.25·(15.44 + 2·22.35)/(6.25·2 + 2.74) = 24.66.
func ExampleCLV() {
	m := btyd.BGNBD{R: 0.2425945, Alpha: 4.4136019, A: 0.7929199, B: 2.4258881}
	g := btyd.GammaGamma{P: 6.25, Q: 3.74, Gamma: 15.44}
	spend, _ := g.ExpectedSpend(2, 22.35)
	v, _ := btyd.CLV(m, spend, 2, 30.43, 38.86, btyd.CLVOptions{
		ModelUnit: btyd.Week, Period: btyd.Month, Periods: 12, DiscountRate: 0.01})
	fmt.Printf("spend %.2f, CLV %.2f\n", spend, v)
	// Output:
	// spend 24.66, CLV 36.31
}
