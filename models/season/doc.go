// Package season estimates a calendar-month purchase index from a history
// and turns it into the exposure of a label window.
//
// A churn label asks whether a customer buys within the H days after a
// snapshot; when November and December sell 1.3–1.6 times a March, the
// same customer is less likely to "churn" over October–December than over
// July–September, and a model calibrated on the summer over-predicts the
// winter's churn. The index makes that calendar explicit:
//
//   - Estimate fits, on full calendar months of a history, the Poisson
//     log-linear model of the repeat-purchase rate per acquired customer
//     log μ_t = a + b·t + s_{m(t)}, Σ_m w_m s_m = 0 (w_m the days of month
//     m), by Newton's method on the Poisson likelihood: R_t repeat purchase
//     days in month t (a customer's first purchase day is acquisition, not
//     a repeat), N_t·D_t customer-days of exposure (customers acquired
//     before each day of the month). The linear trend absorbs a base that
//     dies off or matures; the month effects are what the calendar adds.
//     Every calendar month must appear at least once and the fit must span
//     MinMonths full months (ErrTooShort).
//   - A calendar repeats: the months seen in two years must deviate from
//     the trend alike in both (year-on-year correlation ≥ MinConsistency
//     over ≥ MinRepeated months), or there is no index (ErrTooShort,
//     ErrNoCalendar). Waves of acquisition or renewal look like month
//     effects in one year and do not come back in the next.
//   - Index.LogExposure(start, days) is log of the mean of exp(s_m) over the
//     days of the window: 0 for a window that is an average stretch of the
//     year, > 0 for a busy one.
//
// Under a Poisson purchase process whose rate is multiplied by the index, a
// customer's probability of no purchase over a window of exposure E is
// exp(−Λ·E), so moving a calibrated probability p from a window of
// exposure E₀ to one of E is p^(E/E₀) — a shift of the complementary
// log-log link. The churn models apply it with an exponent β fitted on the
// training snapshots (β = 1 is the Poisson case, β = 0 no seasonality).
package season
