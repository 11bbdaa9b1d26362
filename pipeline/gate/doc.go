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
//     read or the customers fell against the last published night; blocks
//     when larger than the limit (default 0.1: a history only grows).
//     Skipped (pass) without a published night.
//   - reject_rate: rejected/read rows; blocks when larger than the limit.
//   - day_rows: for each day both nights' Feed covers, the fraction of the
//     rows the last published night saw that are gone tonight; blocks when
//     the largest is above MaxDayDrop (0.5): a missing or truncated file.
//   - asof_day_rows: the as-of day's rows n against the median λ of the 28
//     days before: Value n/λ, warns below 0.25 when also P(N ≤ n) < 0.001
//     for N ~ Poisson(λ); does not block by default (closed days are real).
//   - time_span: the first and last event days against the last published
//     night's; blocks when either moved more than 7 days beyond what the
//     elapsed days explain (event_time shifted), or when no row is left on
//     or before the as-of day.
//   - event_mix: total variation distance ½ Σ|s_t − s'_t| of the event-type
//     shares against the last published night's; warn ≥ 0.03, block ≥ 0.1.
//   - amount_psi: PSI of the amount histogram (quarter-decade bins,
//     AmountEdges) against the last published night's; warn ≥ 0.1, block
//     ≥ 0.25 (× 100 moves every amount by eight bins).
//   - feature_psi_night: the largest PSI of tonight's feature columns
//     against the last published night's distributions (the caller shifts
//     ages by the days elapsed); warn ≥ PSIWarn, block ≥ PSIBlock.
//   - feature_psi: the largest PSI over the features compared with the
//     champion's reference (the caller keeps the calendar-stable ones);
//     warns at ≥ PSIWarn (0.1), blocks at ≥ PSIBlock (0.25); the worst
//     features are listed in the message and in Report.Drift.
//   - score_psi_night: PSI of tonight's churn probabilities against the last
//     published night's; warn/block at the score levels.
//   - score_psi: PSI of tonight's churn probabilities against the
//     champion's reference score distribution; warns only (scores are a
//     function of tenure and recency, which move with the calendar).
//
// A threshold of 0 (or NaN) switches that level of a check off.
package gate
