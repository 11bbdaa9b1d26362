package metrics

import "math"

// ConfusionMatrix returns the k×k matrix C with C[i][j] the number of
// examples of true class i predicted as class j, as scikit-learn's
// confusion_matrix with labels 0…k−1. It panics if the lengths differ or a
// label is outside [0, k).
func ConfusionMatrix(y, pred []int, k int) [][]int {
	checkLen(len(y), len(pred))
	c := make([][]int, k)
	for i := range c {
		c[i] = make([]int, k)
	}
	for i := range y {
		if y[i] < 0 || y[i] >= k || pred[i] < 0 || pred[i] >= k {
			panic("metrics: class label out of range")
		}
		c[y[i]][pred[i]]++
	}
	return c
}

// Accuracy returns the fraction of examples with pred[i] == y[i], NaN for
// empty input. It panics if the lengths differ.
func Accuracy(y, pred []int) float64 {
	checkLen(len(y), len(pred))
	if len(y) == 0 {
		return math.NaN()
	}
	var ok int
	for i := range y {
		if y[i] == pred[i] {
			ok++
		}
	}
	return float64(ok) / float64(len(y))
}

// MacroF1 returns the unweighted mean of the per-class F1 = 2TP/(2TP+FP+FN)
// over the classes that occur in y or pred, as scikit-learn's
// f1_score(average="macro") with zero_division=0. It returns NaN for empty
// input and panics if the lengths differ or a label is outside [0, k).
func MacroF1(y, pred []int, k int) float64 {
	c := ConfusionMatrix(y, pred, k)
	var sum float64
	var m int
	for j := 0; j < k; j++ {
		tp := c[j][j]
		var fp, fn int
		for i := 0; i < k; i++ {
			if i != j {
				fp += c[i][j]
				fn += c[j][i]
			}
		}
		if tp+fp+fn == 0 {
			continue // class absent from both truth and prediction
		}
		sum += 2 * float64(tp) / float64(2*tp+fp+fn)
		m++
	}
	if m == 0 {
		return math.NaN()
	}
	return sum / float64(m)
}
