// Package btyd implements the "buy till you die" probabilistic models of
// customer purchasing for non-contractual settings and the customer-level
// quantities derived from them: the probability that a customer is still
// alive, expected future purchases, the churn probability the models imply,
// the waiting time to the next purchase, expected spend and customer lifetime
// value.
//
// # Models
//
//   - BG/NBD (Fader, Hardie & Lee 2005, "Counting your customers the easy
//     way"): purchases follow a Poisson process with rate λ ~ Gamma(r, α);
//     after every repeat purchase the customer drops out with probability
//     p ~ Beta(a, b). Parameters r, alpha, a, b.
//   - MBG/NBD (Batislam, Denizel & Filiztekin 2007, in the form fitted by the
//     R package BTYDplus): like BG/NBD but the dropout coin is also tossed
//     right after the first purchase, so customers with no repeat purchase
//     can be dead. Parameters r, alpha, a, b.
//   - Pareto/NBD (Schmittlein, Morrison & Colombo 1987; likelihood as in
//     Fader, Hardie & Lee 2005, "A note on implementing the Pareto/NBD
//     model"): λ ~ Gamma(r, α), exponential lifetime with rate
//     μ ~ Gamma(s, β). Parameters r, alpha, s, beta.
//   - Gamma-Gamma spend (Fader & Hardie 2013, note 025): the mean spend of a
//     customer's x repeat transactions, zbar, given ν is Gamma(p·x, ν·x) with
//     ν ~ Gamma(q, γ). Parameters p, q, gamma.
//
// # Data and units
//
// Every customer is summarised by x, the number of repeat purchases (distinct
// purchase periods after the first), t_x, the time of the last purchase, and
// T, the length of observation, both measured from the customer's first
// purchase in one time unit of the caller's choice (weeks in the literature).
// All rates and expectations are in that same unit. See [TimeUnit] and [CLV]
// for the conversion to calendar periods; a Month is 365.25/12 days, never a
// hidden 30-day month.
//
// # Estimation
//
// Parameters are estimated by maximum likelihood over log-parameters with
// gonum/optimize (BFGS with analytic gradients for BG/NBD, MBG/NBD and
// Gamma-Gamma, central differences for Pareto/NBD), from several start points
// with a Nelder-Mead fallback. Identical (x, t_x, T) rows are merged with
// weights ([Compress]). With more than 100,000 distinct rows, BG/NBD and
// MBG/NBD are first fitted on a deterministic 50,000-row subsample and then
// polished on all rows by Newton (chord) steps whose Hessian is the
// subsample's per-customer Hessian; a million distinct customers then fit
// in under a second on two cores (BenchmarkFitBGNBD1M). Pareto/NBD above
// 50,000 distinct rows is fitted on a 20,000-row subsample and polished on
// all rows by Newton steps; below, its BFGS optimum (numerical gradients)
// is polished by Newton steps to a hundredth of the gradient tolerance
// (FitResult.Method "BFGS+Newton").
//
// Standard errors come from the Hessian of the negative log-likelihood in
// log-parameters at the optimum (central differences of the gradient, or
// for the large-data path the subsample's per-customer Hessian at the
// full-data optimum, scaled to all customers), mapped back to natural
// parameters with the delta method. When no start point converges, the
// error wraps [ErrNotConverged] and names what was tried; parameters are
// never NaN. The likelihood is summed in a fixed chunk order, so results are
// deterministic for a given number of workers; the Pareto/NBD and
// Gamma-Gamma sums are Neumaier-compensated, so there the worker count only
// moves the last bit or so.
//
// # Numerics
//
// Everything is computed in log space. The Gaussian hypergeometric function
// 2F1 is evaluated with its argument in [0, 1) by a small log-space
// evaluator (positive-term series, Euler's transformation, or the 1-z
// transformation, whichever converges without cancellation). gonum's
// mathext.Hypergeo (Cephes) serves as the reference in the tests: near
// z = 1 with large parameters it can run for minutes, which fuzzing found
// with x = 1000. The Pareto/NBD likelihood uses the integral that FHL's A0
// term stands for, ∫ (α+τ)^-(r+x) (β+τ)^-(s+1) dτ over [t_x, T], in its
// 2F1 closed form with the two antiderivatives differenced in log space;
// its 2F1(1, b; c; z) is summed directly for z ≤ 0.9 (hyp1Series), where
// the series has positive terms and a geometric tail.
// These keep heavy buyers (x in the thousands), t_x = T, tiny T and
// one-time buyers finite, the failures known from other implementations
// (lifetimes #25, #332; CLVTools #100).
package btyd
