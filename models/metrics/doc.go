// Package metrics computes evaluation metrics for binary churn scores, for
// multiclass (predicted-stage) labels and for predicted customer value
// (normalized Gini, top-share, lift tables, MAE).
//
// Binary functions take labels y (0 or 1; any non-zero value is a positive)
// and scores (probabilities or any monotone score) of the same length, in the
// argument order of scikit-learn: truth first, score second. They panic when
// the lengths differ, as gonum/stat does, and return NaN when the metric is
// undefined on the input (for example AUC with a single class present).
//
// Ranking metrics (AUC, AveragePrecision, ROC and PR curves) treat tied
// scores as one threshold, which makes them independent of the input order.
// Reference values in the tests come from scikit-learn 1.x.
package metrics
