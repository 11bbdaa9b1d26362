// Package btydplot draws the standard diagnostic plots of a fitted
// buy-till-you-die count model (see package btyd) as PNG files with
// gonum/plot, and records the numbers behind each plot in report.json:
//
//   - tracking.png: cumulative repeat purchases of the cohort per time unit,
//     actual against the model's expectation Σ_i E[X(τ - birth_i)], with
//     the end of the calibration period marked;
//   - conditional_expectations.png: mean number of holdout purchases by the
//     number of calibration repeat purchases (0 … 6, 7+), actual against the
//     model's conditional expectation E[Y(holdout) | x, t_x, T];
//   - p_alive_heatmap.png: P(alive) over recency t_x and frequency x for
//     one length of observation T.
//
// Times are in the model's time unit, counted from the start of the data
// (Tracking) or from each customer's first purchase (Holdout).
package btydplot
