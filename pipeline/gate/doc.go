// Package gate holds the quality gates the nightly run passes before it
// publishes: pure functions of counts, feature columns and scores, with no
// I/O, so that every decision can be recomputed from what pipeline_runs
// records.
//
// # Population stability index
//
// The PSI compares the distribution of a variable today (actual shares a_i)
// with a reference (expected shares e_i) over the same bins:
//
//	PSI = Σ_i (a_i − e_i) · ln(a_i / e_i)
//
// Each term is ≥ 0 (a_i − e_i and ln(a_i/e_i) have the same sign), so PSI ≥ 0,
// with PSI = 0 only for identical shares. It is the symmetrised
// Kullback-Leibler divergence KL(a‖e) + KL(e‖a). A share of 0 is replaced by
// ε = 1e-4 (Epsilon) before the formula, as Evidently and most credit-scoring
// implementations do, so that an empty bin gives a large but finite term.
// The usual reading (Siddiqi 2006; Evidently's default threshold 0.1) is:
// < 0.1 no significant change, 0.1–0.25 moderate change (warn), ≥ 0.25
// significant change (block).
//
// A Reference is built from a sample of the reference population (the
// champion model's training features): 10 quantile bins by default, right
// closed, (−∞, q₁], (q₁, q₂], …, (q₉, +∞), where q_k is the empirical k/10
// quantile (the smallest sample value x with F̂(x) ≥ k/10). Tied quantiles are
// merged, so a column with few distinct values has fewer bins. NaN (a missing
// value) is a bin of its own. A Reference is JSON-able (edges and shares) and
// is stored with the model.
//
// # Checks
//
// Each check returns a Result with the measured Value, its Warn and Block
// thresholds and a Status "pass", "warn" or "block". Evaluate runs all of
// them into a Report, whose JSON form is recorded in pipeline_runs.details;
// Report.Blocked says whether publishing must stop (unless forced).
//
//   - rows_drop, customers_drop: fraction (prev − cur)/prev by which the rows
//     read or the customers fell against the last good run; blocks when
//     larger than the limit (default 0.5). Skipped (pass) without a last run.
//   - reject_rate: rejected/read rows; blocks when larger than the limit.
//   - feature_psi: the largest PSI over the features that have a reference;
//     warns at ≥ PSIWarn (0.1), blocks at ≥ PSIBlock (0.25); the worst
//     features are listed in the message and in Report.Drift.
//   - score_psi: PSI of today's churn probabilities against the reference
//     score distribution.
//
// A threshold of 0 (or NaN) switches that level of a check off.
package gate
