// Package logit fits L2-regularised binary logistic regression with
// gonum/optimize's L-BFGS and an analytic gradient.
//
// Each column j is first passed through its Transform (identity, or the
// signed log1p sign(x)·log(1+|x|) for counts and money) and then
// standardised, x̃ⱼ = (t(xⱼ) − μⱼ)/σⱼ, with the weighted training mean μⱼ and
// standard deviation σⱼ (σⱼ = 1 for a constant column). The model is
//
//	P(y=1 | x) = σ(β₀ + Σⱼ βⱼ x̃ⱼ),   σ(z) = 1/(1+e^{−z}),
//
// and Fit minimises the weighted mean negative log-likelihood plus a ridge
// penalty on the slopes (the intercept is not penalised):
//
//	J(β) = (1/W) Σᵢ wᵢ [log(1+e^{zᵢ}) − yᵢ zᵢ] + (λ/2) Σ_{j≥1} βⱼ²,   W = Σᵢ wᵢ.
//
// The softplus log(1+e^z) and σ are evaluated without overflow for any z.
// Because features are standardised, λ is comparable across columns.
// Missing values are the caller's business: Fit rejects NaN and ±Inf with
// ErrNonFinite; Predict returns NaN for such input.
//
// A Model is plain data and round-trips through encoding/json.
package logit
