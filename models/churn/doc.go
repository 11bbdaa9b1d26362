// Package churn turns a feature table (package features) into the design
// matrix of the churn and predicted-stage models, trains and compares the
// candidate classifiers, and applies a trained model: a calibrated churn
// probability, the three reasons that push it up most, and the predicted
// lifecycle stage at the end of the horizon.
//
// The churn label of a customer at a snapshot day s is 1 when the customer
// makes no purchase in (s, s+h], h the horizon; the population is the
// customers with at least one purchase by s. Labels and snapshots are built
// by package pipeline; this package sees matrices.
//
// Candidates are an L2 logistic regression (models/logit) on signed-log1p
// transformed, standardised features and histogram gradient-boosted trees
// (models/gbt) with early stopping on the validation snapshot. The one with
// the better validation AUC is calibrated on the validation snapshot
// (isotonic regression, models/calibrate) so that a score of 0.3 means a 30 %
// churn rate.
package churn
