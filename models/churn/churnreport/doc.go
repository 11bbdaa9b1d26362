// Package churnreport renders the evaluation report of a churn model on its
// test snapshot: a self-contained index.html (inline CSS, no scripts, no
// network) that links PNG figures drawn with gonum.org/v1/plot.
//
// Write produces, in the given directory,
//
//	index.html           title, data summary, metrics table with one-line explanations, figures with captions
//	roc.png              ROC curve of the model and of each baseline score, with the chance diagonal
//	pr.png               precision–recall curves, with the base rate as the random-ranking line
//	gains.png            cumulative gains (percentiles) and cumulative lift (deciles), model and baselines
//	calibration.png      reliability diagram: 10 equal-width bins, observed churn rate with 95 % Wilson
//	                     intervals against mean predicted probability, the diagonal, and the bin counts
//	importance.png       top 20 features by importance, horizontal bars (only when Importance is set)
//	stage_confusion.png  confusion matrix of the lifecycle stage at the horizon end, counts in the
//	                     cells, colour = row share (only when Stage and StageHat are set)
//	score_histogram.png  predicted churn probability of churners and of retained customers, each
//	                     normalised to 100 % of its class, overlaid
//
// Every figure has a title, axis labels with units and a legend when it
// shows more than one series; the standard size is 1000×700 pixels (10×7
// inches at 100 dpi) with 12–18 pt Liberation Sans text.
//
// Curves come from package models/metrics: ROC and PR with one point per
// distinct score (thinned for drawing to points at least 0.001 apart on an
// axis, below one pixel), Gains with ties broken by input order, Reliability
// with right-closed bins. Baseline scores are ranked like the model score:
// a higher score must mean a higher churn risk (days since the last purchase,
// P(no purchase in the horizon) of BG/NBD).
//
// The output is deterministic: the same Input gives byte-identical files.
// Write replaces files of the same name atomically (temporary file + rename)
// and leaves other files in the directory alone.
package churnreport
