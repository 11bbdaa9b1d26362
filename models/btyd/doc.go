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
// weights ([Compress]) so that a million customers fit in about a second.
// Standard errors come from the numerical Hessian of the negative
// log-likelihood at the optimum, mapped back to natural parameters with the
// delta method. When no start point converges, the error wraps
// [ErrNotConverged] and names what was tried; parameters are never NaN.
//
// # Numerics
//
// Everything is computed in log space. The Gaussian hypergeometric function
// 2F1 is only ever evaluated with its argument in [0, 1) after Euler/Pfaff
// transformations chosen so that the parameters stay moderate for heavy
// buyers (x up to thousands), avoiding the overflow/NaN failures known from
// other implementations (lifetimes #25, #332; CLVTools #100).
package btyd
