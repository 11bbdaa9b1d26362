// Package calibrate maps model scores to calibrated probabilities.
//
// Two methods are provided, both fitted on held-out scores s and labels
// y ∈ {0, 1} with optional weights:
//
//   - Isotonic: the non-decreasing step function minimising the weighted
//     squared error Σ wᵢ (f(sᵢ) − yᵢ)², found by the pool-adjacent-violators
//     algorithm (Barlow et al. 1972). Tied scores are pooled first. Apply
//     interpolates linearly between the fitted points and clamps outside
//     the fitted range, as scikit-learn's IsotonicRegression with
//     out_of_bounds="clip".
//   - Platt: p = σ(A·u + B) with u = logit(s) for probability scores
//     (or u = s for raw margins), fitted by Newton's method on the
//     log-likelihood with Platt's smoothed targets
//     t₊ = (N₊+1)/(N₊+2), t₋ = 1/(N₋+2) (Platt 1999; Lin, Lin & Weng 2007).
//
// Calibrators are plain data: Marshal and Unmarshal round-trip any
// Calibrator through JSON with a method tag.
package calibrate
