// Package sbg implements retention models for the contractual setting, where
// a customer renews (or not) at discrete renewal opportunities — yearly or
// monthly subscriptions, memberships, service contracts — and churn is an
// observed event.
//
// # Models
//
// Shifted-beta-geometric, sBG (Fader & Hardie 2007, "How to Project Customer
// Retention", Journal of Interactive Marketing 21(1)). At every renewal
// opportunity a customer cancels with probability θ, constant over time for
// that customer; θ varies across customers as Beta(α, β). The lifetime T
// (number of periods paid, T = 1, 2, …) then has
//
//	P(T = t) = B(α+1, β+t−1) / B(α, β)
//	S(t)     = P(T > t) = B(α, β+t) / B(α, β)
//
// and the retention rate r(t) = S(t)/S(t−1) = (β+t−1)/(α+β+t−1) rises with
// t: heterogeneity alone makes the surviving cohort look more loyal.
//
// Beta-discrete-Weibull, BdW (Fader, Hardie, Liu, Davin & Steenburgh 2018,
// "How to Project Customer Retention Revisited: The Role of Duration
// Dependence", Journal of Interactive Marketing 43). The individual
// survival is the discrete Weibull (1−θ)^(t^c), so
//
//	S(t) = B(α, β+t^c) / B(α, β),  P(T = t) = S(t−1) − S(t).
//
// c < 1 means individual churn propensity falls with tenure, c > 1 that it
// rises; c = 1 is the sBG.
//
// # Quantities
//
// With n the number of renewals a customer has made (they are in period
// n+1), the model's answers are conditional on T > n:
//
//   - P(renew at the next opportunity | survived n) = S(n+1)/S(n)
//     (sBG: (β+n)/(α+β+n)).
//
//   - Discounted expected residual lifetime (Fader & Hardie 2010,
//     "Customer-Base Valuation in a Contractual Setting: The Perils of
//     Ignoring Heterogeneity", Marketing Science 29(1)), counted in periods,
//     for a customer at the end of period n+1 about to decide on renewal,
//     with discount rate d per period:
//
//     DERL(d | n) = Σ_{k≥0} S(n+1+k)/S(n) · (1+d)^−k
//
//     which for the sBG is (β+n)/(α+β+n) · ₂F₁(1, β+n+1; α+β+n+1; 1/(1+d)),
//     FH 2010 eq. (6) with their n−1 renewals = our n. The first renewal
//     payment is not discounted; d > 0 is required (with d = 0 the expected
//     lifetime is infinite for α ≤ 1).
//
//   - Residual CLV = m · DERL(d | n) for a margin m paid at each renewal.
//
// # Units
//
// Time is counted in renewal periods (whatever the contract's period is: a
// year, a month); d is the discount rate per period. Data are counts: a
// cohort's survivors at the start of each period ([FromSurvival]) or
// individual subscriptions censored at the as-of day ([FromSubscriptions]).
//
// # Estimation
//
// Maximum likelihood over log-parameters with gonum/optimize: BFGS with the
// analytic gradient (digamma functions) for the sBG and central differences
// for the BdW, from several start points with a Nelder-Mead fallback; the
// error wraps [ErrNotConverged] when none converges, [ErrInvalidInput] for
// bad data. Standard errors come from the numerical Hessian of the
// log-likelihood in log-parameters and the delta method. [Select] chooses
// between sBG and BdW by the log-likelihood of a holdout period.
//
// # Numerics and panics
//
// Everything is evaluated in log space (lgamma); P(T = t) for the BdW is
// log S(t−1) + log(−expm1(log S(t) − log S(t−1))). Methods return NaN for
// arguments outside their domain (negative n, d ≤ 0) instead of panicking;
// nothing in the package panics.
package sbg
