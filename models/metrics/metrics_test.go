package metrics

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Reference data sets shared by the table tests.
var (
	// Example of scikit-learn's roc_auc_score documentation.
	yDoc = []float64{0, 0, 1, 1}
	sDoc = []float64{0.1, 0.4, 0.35, 0.8}
	// Ties across classes.
	yTies = []float64{0, 1, 0, 1, 1, 0, 1, 0}
	sTies = []float64{0.2, 0.2, 0.5, 0.5, 0.9, 0.1, 0.7, 0.7}
	// Twenty scores, 8 positives.
	y20 = []float64{1, 0, 0, 1, 0, 1, 1, 0, 0, 0, 1, 0, 1, 0, 0, 1, 0, 0, 1, 0}
	s20 = []float64{0.91, 0.12, 0.33, 0.67, 0.45, 0.81, 0.29, 0.05, 0.58, 0.22, 0.74, 0.40, 0.55, 0.18, 0.62, 0.97, 0.08, 0.36, 0.50, 0.71}
)

func TestBinaryScalars(t *testing.T) {
	// Expected values: sklearn 1.2.1 roc_auc_score, average_precision_score,
	// brier_score_loss and log_loss on the same arrays.
	cases := []struct {
		name                    string
		y, s                    []float64
		auc, ap, brier, logloss float64
	}{
		{"doc", yDoc, sDoc, 0.75, 0.8333333333333333, 0.15812500000000002, 0.47228795380917615},
		{"ties", yTies, sTies, 0.71875, 0.7095238095238094, 0.22250000000000003, 0.6237805755560653},
		{"twenty", y20, s20, 0.8541666666666667, 0.8416666666666667, 0.15541, 0.4651869465771929},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			assert.InDelta(t, c.auc, AUC(c.y, c.s), 1e-12, "AUC")
			assert.InDelta(t, c.ap, AveragePrecision(c.y, c.s), 1e-12, "AP")
			assert.InDelta(t, c.brier, Brier(c.y, c.s), 1e-12, "Brier")
			assert.InDelta(t, c.logloss, LogLoss(c.y, c.s), 1e-12, "LogLoss")
		})
	}
}

func TestAUCEdgeCases(t *testing.T) {
	assert.True(t, math.IsNaN(AUC([]float64{1, 1}, []float64{0.2, 0.3})), "single class")
	assert.Equal(t, 0.5, AUC([]float64{0, 1, 0, 1}, []float64{3, 3, 3, 3}), "all tied: hand computation")
	assert.Equal(t, 1.0, AUC([]float64{0, 0, 1}, []float64{-5, 1, 2}), "perfect ranking")
	assert.Panics(t, func() { AUC([]float64{0}, []float64{0, 1}) })
}

func TestLogLossClipped(t *testing.T) {
	// A confident wrong prediction is clipped at 1e-15: −log(1e-15) = 34.538776394910684.
	assert.InDelta(t, 34.538776394910684, LogLoss([]float64{1}, []float64{0}), 1e-9)
	assert.False(t, math.IsInf(LogLoss([]float64{0}, []float64{1}), 0))
}

func TestROCAndPRCurves(t *testing.T) {
	// sklearn 1.2.1 roc_curve(drop_intermediate=False) and
	// precision_recall_curve on the "ties" set. sklearn's first ROC
	// threshold is max+1 (1.9); ours is +Inf. PR is reversed.
	roc := ROC(yTies, sTies)
	fpr := []float64{0.0, 0.0, 0.25, 0.5, 0.75, 1.0}
	tpr := []float64{0.0, 0.25, 0.5, 0.75, 1.0, 1.0}
	thr := []float64{math.Inf(1), 0.9, 0.7, 0.5, 0.2, 0.1}
	require.Len(t, roc, len(fpr))
	for i := range roc {
		assert.InDelta(t, fpr[i], roc[i].X, 1e-12)
		assert.InDelta(t, tpr[i], roc[i].Y, 1e-12)
		assert.Equal(t, thr[i], roc[i].Threshold)
	}
	pr := PR(yTies, sTies)
	prec := []float64{0.5, 0.5714285714285714, 0.6, 0.6666666666666666, 1.0, 1.0}
	rec := []float64{1.0, 1.0, 0.75, 0.5, 0.25, 0.0}
	require.Len(t, pr, len(prec))
	for i := range pr {
		j := len(pr) - 1 - i
		assert.InDelta(t, prec[j], pr[i].Y, 1e-12)
		assert.InDelta(t, rec[j], pr[i].X, 1e-12)
	}
}

func TestCalibrationMetrics(t *testing.T) {
	// Hand computation on the doc set with right-closed bins: 0.1 alone in
	// (0, 0.1]; 0.35 and 0.4 share (0.3, 0.4] (mean 0.375 vs rate 0.5);
	// 0.8 alone in (0.7, 0.8]: (|0.1−0| + 2·|0.375−0.5| + |0.8−1|) / 4.
	assert.InDelta(t, 0.1375, ECE(yDoc, sDoc), 1e-12)
	// numpy re-implementation with sklearn's calibration_curve binning.
	assert.InDelta(t, 0.162, ECE(y20, s20), 1e-12)

	// sklearn 1.2.1 calibration_curve(y20, s20, n_bins=10): every bin is non-empty.
	fracPos := []float64{0.0, 0.0, 0.5, 0.0, 0.5, 0.5, 0.5, 0.5, 1.0, 1.0}
	meanPred := []float64{0.065, 0.15, 0.255, 0.3633333333333333, 0.475, 0.565, 0.645, 0.725, 0.81, 0.94}
	bins := Reliability(y20, s20, 10)
	require.Len(t, bins, 10)
	total := 0
	for i, b := range bins {
		assert.InDelta(t, fracPos[i], b.FracPos, 1e-12, "bin %d", i)
		assert.InDelta(t, meanPred[i], b.MeanPred, 1e-12, "bin %d", i)
		total += b.Count
	}
	assert.Equal(t, len(y20), total)
	assert.Equal(t, 0.0, ECE([]float64{0, 1}, []float64{0, 1}), "perfect")
}

func TestLiftAndGains(t *testing.T) {
	// Hand computation: top 2 of 20 are 0.97 and 0.91, both positive;
	// base rate 8/20, so lift = 1 / 0.4 = 2.5.
	assert.InDelta(t, 2.5, Lift(y20, s20, 0.1), 1e-12)
	assert.InDelta(t, 1.0, Lift(y20, s20, 1), 1e-12)
	// numpy cumulative-sum re-implementation.
	gains := []float64{0.25, 0.5, 0.625, 0.625, 0.875, 0.875, 0.875, 1.0, 1.0, 1.0}
	pts := Gains(y20, s20, 10)
	require.Len(t, pts, 10)
	for i, p := range pts {
		assert.InDelta(t, gains[i], p.Gain, 1e-12)
		assert.InDelta(t, float64(i+1)/10, p.Fraction, 1e-12)
		assert.InDelta(t, gains[i]/p.Fraction, p.Lift, 1e-12)
	}
	assert.Panics(t, func() { Lift(y20, s20, 0) })
}

func TestMulticlass(t *testing.T) {
	// sklearn 1.2.1 accuracy_score, f1_score(average="macro"), confusion_matrix.
	yt := []int{0, 1, 2, 2, 1, 0, 2, 1, 1, 0, 2, 2}
	yp := []int{0, 2, 2, 2, 1, 1, 2, 0, 1, 0, 1, 2}
	assert.InDelta(t, 0.6666666666666666, Accuracy(yt, yp), 1e-12)
	assert.InDelta(t, 0.6555555555555556, MacroF1(yt, yp, 3), 1e-12)
	assert.Equal(t, [][]int{{2, 1, 0}, {1, 2, 1}, {0, 1, 4}}, ConfusionMatrix(yt, yp, 3))
	// Class 2 absent from both, class 3 only in truth:
	// sklearn f1_score(average="macro", zero_division=0) = 0.43333333333333335.
	assert.InDelta(t, 0.43333333333333335, MacroF1([]int{0, 0, 1, 1, 3}, []int{0, 1, 1, 1, 0}, 4), 1e-12)
	assert.Panics(t, func() { ConfusionMatrix([]int{3}, []int{0}, 3) })
}

func BenchmarkAUC(b *testing.B) {
	n := 100_000
	y := make([]float64, n)
	s := make([]float64, n)
	for i := range y {
		s[i] = math.Mod(float64(i)*0.6180339887, 1)
		if math.Mod(float64(i)*0.7548776662, 1) < s[i] {
			y[i] = 1
		}
	}
	b.ResetTimer()
	for range b.N {
		AUC(y, s)
	}
}
