package metrics_test

import (
	"fmt"

	"github.com/churnpipe/churnpipe/models/metrics"
)

func ExampleAUC() {
	y := []float64{0, 0, 1, 1}
	score := []float64{0.1, 0.4, 0.35, 0.8}
	fmt.Printf("AUC %.2f AP %.4f\n", metrics.AUC(y, score), metrics.AveragePrecision(y, score))
	// Output: AUC 0.75 AP 0.8333
}
