package gbt_test

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"

	"github.com/churnpipe/churnpipe/models/gbt"
)

func ExampleFit() {
	// Churn is 1 exactly when tenure (x₀) is short and the customer has no
	// recorded spend (x₁ missing): an interaction a linear model misses.
	var data, y []float64
	for i := range 400 {
		tenure := float64(i % 20)
		spend := float64(i % 7)
		churn := 0.0
		if i%5 == 0 {
			spend = math.NaN()
			if tenure < 10 {
				churn = 1
			}
		}
		data = append(data, tenure, spend)
		y = append(y, churn)
	}
	X := mat.NewDense(400, 2, data)
	m, err := gbt.Fit(X, y, nil, nil, gbt.Params{Rounds: 50, MaxDepth: 3, LearningRate: 0.3, Names: []string{"tenure", "spend"}})
	if err != nil {
		panic(err)
	}
	fmt.Printf("new, no spend: %.2f\n", m.Predict([]float64{3, math.NaN()}))
	fmt.Printf("old, no spend: %.2f\n", m.Predict([]float64{15, math.NaN()}))
	fmt.Printf("new, spends:   %.2f\n", m.Predict([]float64{3, 4}))
	// Output:
	// new, no spend: 1.00
	// old, no spend: 0.00
	// new, spends:   0.00
}
