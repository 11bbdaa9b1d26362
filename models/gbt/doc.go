// Package gbt fits histogram gradient-boosted decision trees (in the manner
// of LightGBM and XGBoost's "hist" method) for binary logistic and
// multiclass softmax objectives.
//
// # Binning
//
// Every feature is cut into at most MaxBins (≤ 255) value bins at quantiles
// of its non-missing training values (one bin per distinct value when there
// are few); NaN goes to a separate missing bin. A split "x ≤ t" uses the
// upper edge t of a bin, so prediction compares raw values and needs no
// binning.
//
// # Boosting
//
// The model's raw margin is F(x) = F₀ + Σ_trees f(x). With gradients gᵢ and
// hessians hᵢ of the loss at the current margin, a node holding rows I has
// G = Σ_I gᵢ, H = Σ_I hᵢ, Newton value v = −G/(H+λ) and score G²/(H+λ).
// A split into L and R gains
//
//	gain = ½ [G_L²/(H_L+λ) + G_R²/(H_R+λ) − G²/(H+λ)] − γ,
//
// and is admissible only if H_L, H_R ≥ MinChildWeight. The rows with a
// missing value go to whichever side (DefaultLeft) gives the larger gain.
// Leaves store η·v for the learning rate η.
//
// Binary: p = σ(F), g = p − y, h = p(1−p). Multiclass with K classes: one
// tree per class per round, p = softmax(F), g_k = p_k − [y=k] and
// h_k = K/(K−1)·p_k(1−p_k) (LightGBM's scaling).
//
// Trees grow depth-wise (level by level up to MaxDepth) or leaf-wise (best
// gain first up to MaxLeaves, also bounded by MaxDepth). Histograms of the
// smaller child are built (in parallel over features, Workers goroutines)
// and the larger child's are obtained by subtraction from the parent.
// Results do not depend on Workers: each feature's histogram is summed by
// one goroutine in row order.
//
// Rows are subsampled per round with a PCG generator seeded by (Seed,
// round), so a fit is deterministic for a given Seed. With a validation set
// and EarlyStoppingRounds > 0, boosting stops once the validation log loss
// has not improved for that many rounds and the model is truncated to the
// best round.
//
// # Explanations
//
// Contributions follow Saabas: every node stores the value η·v it would
// predict, and the change of value across each split on the path of x is
// credited to the split feature. Per tree the contributions sum to
// leaf − root, so bias + Σ contributions equals the raw margin exactly
// (bias = F₀ + Σ root values). Importance is the total split gain per
// feature.
//
// A Model is plain data and round-trips through encoding/json.
package gbt
