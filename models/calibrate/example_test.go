package calibrate_test

import (
	"fmt"

	"github.com/churnpipe/churnpipe/models/calibrate"
)

func ExampleFitIsotonic() {
	scores := []float64{0.1, 0.3, 0.4, 0.6, 0.8, 0.9}
	churned := []float64{0, 1, 0, 0, 1, 1}
	c, err := calibrate.FitIsotonic(scores, churned, nil)
	if err != nil {
		panic(err)
	}
	// 0.3, 0.4 and 0.6 violate monotonicity and are pooled at 1/3.
	fmt.Printf("%.3f %.3f %.3f\n", c.Apply(0.1), c.Apply(0.5), c.Apply(0.95))
	// Output: 0.000 0.333 1.000
}
