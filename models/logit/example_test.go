package logit_test

import (
	"fmt"

	"github.com/churnpipe/churnpipe/models/logit"
)

func ExampleFit() {
	// Days since last purchase (X[0]) and spend (X[1]) against churn.
	X := [][]float64{{5, 300}, {40, 20}, {3, 150}, {60, 0}, {10, 80}, {90, 10}, {20, 400}, {45, 60}}
	y := []float64{0, 1, 0, 1, 0, 1, 0, 1}
	m, err := logit.FitRows(X, y, nil, logit.Options{
		L2:         0.1,
		Transforms: []logit.Transform{logit.Identity, logit.Log1p},
		Names:      []string{"recency_days", "spend"},
	})
	if err != nil {
		panic(err)
	}
	fmt.Printf("recent big spender: %.2f\n", m.Predict([]float64{2, 500}))
	fmt.Printf("lapsed small spender: %.2f\n", m.Predict([]float64{80, 5}))
	// Output:
	// recent big spender: 0.09
	// lapsed small spender: 0.96
}
