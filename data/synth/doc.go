// Package synth generates a realistic synthetic interaction history
// (purchases, returns, visits, support tickets) in the canonical Arrow layout
// data.EventSchema, for demos, model tests and scale benchmarks.
//
// # Model
//
// Time t is measured in days since Config.Start (00:00 UTC); the window is
// [0, N) with N the number of days from Start to End inclusive. Customer i
// (id "C0000001" for i = 0) draws, from its own PCG stream seeded by
// (Config.Seed, i):
//
//   - an acquisition time t0 in [0, N), with density ∝ exp(g·t/N) · season(t)
//     where g = ln(Config.Growth), so acquisitions grow over the window and
//     some customers are brand new at its end;
//   - with probability ProspectShare the customer is a prospect: a few visits
//     around t0, never a purchase;
//   - otherwise a buyer with BG/NBD heterogeneity (Fader, Hardie & Lee 2005,
//     "Counting your customers the easy way"), all in per-day units:
//     purchase rate λ ~ Gamma(shape R, rate Alpha); dropout probability
//     p ~ Beta(A, B). The first (trial) purchase is at t0. Repeat purchases
//     follow a Poisson process of rate λ; after each repeat purchase the
//     customer dies with probability p, so the number of repeat purchases
//     before death K ~ Geometric(p) on {1, 2, ...}. A dead customer never
//     buys again; it may still visit at 3 % of its former visit rate;
//   - spend follows Gamma-Gamma (Fader & Hardie 2013; Colombo & Jiang 1999):
//     ν ~ Gamma(shape Q, rate Gamma) per customer, each purchase amount
//     z ~ Gamma(shape P, rate ν), rounded to cents (at least 0.01), so
//     E[z] = P·Gamma/(Q−1).
//
// With ProspectShare, SameDayRate, Seasonality, GrowingShare, WarningShare and
// ReactivationShare all zero, purchases are exactly BG/NBD and the tests check
// E[X(T)] against the closed form of the paper. The realism layers are:
//
//   - Seasonality s ∈ [0, 1] scales a calendar pattern: month factors
//     (January 0.85 … November 1.3, December 1.6, normalised to a day-weighted
//     mean of 1) and weekday factors (Monday 0.9 … Saturday 1.15, mean 1).
//     Purchases follow rate λ·(1 + s·(month − 1))·(1 + s·(weekday − 1)) and
//     acquisitions get the month factor, both by thinning.
//   - GrowingShare of the buyers ramp up: their rate starts at 0.25·λ and grows
//     linearly to λ over their first 180 days.
//   - WarningShare of the buyers (in their first life) show a warning before
//     death: their last min(K, 3) repeat purchases arrive at rates 0.6λ, 0.4λ
//     and 0.25λ (so the gaps widen over the last months), their background
//     and clustered visits slow by the same factors, each of those purchases
//     is returned with probability min(1, 5·ReturnRate) and brings
//     Poisson(SupportRate + 1) support tickets. A model that sees recent
//     trends, returns and tickets therefore beats recency and frequency alone
//     (held-out AUC 0.79 against 0.70 in the tests, about half of the gain
//     coming from this layer).
//   - ReactivationShare of the customers who die come back after a silence of
//     150 + Exp(mean 150) days with a new purchase and a new life (same λ, p,
//     a new K, no warning or ramp, no further reactivation).
//   - SameDayRate: each purchase is followed, with this probability, by a
//     second basket on the same UTC day (5 minutes to 3 hours apart; not a
//     BG/NBD transaction: it has no dropout draw).
//
// Around each purchase: Poisson(0.7·VisitsPerPurchase) clustered visits (the
// first one minutes before the purchase with probability 0.6, others up to a
// few days before or a day after); background visits at rate
// 0.3·VisitsPerPurchase·λ while alive, so visits per purchase ≈
// VisitsPerPurchase. Each purchase is returned with probability ReturnRate
// 1 + Exp(mean 7) days later, for the full amount (70 %) or 20–90 % of it
// (always negative, never more than the purchase); and brings
// Poisson(SupportRate) support tickets Exp(mean 4) days later. Visits and
// support tickets have a null amount. Times of day follow a retail intraday
// profile (quiet at night, peaks at lunch and in the evening). Events outside
// the window are dropped.
//
// # Output
//
// Generate streams records with data.EventSchema, sorted by customer index and
// within a customer by event_time. A customer's events are never split across
// records; records hold about Config.BatchRows rows. Output is deterministic
// for a Config: independent of BatchRows and GOMAXPROCS, because every
// customer has its own random stream and workers (one per GOMAXPROCS) emit in
// customer order.
//
// # Defaults
//
// Customer ids are "C" and the 1-based index on at least 7 digits, more when
// Customers needs them (C00000001 … C10000000 for ten million), so ids sort
// like indices.
//
// DefaultConfig is "retail": R = 0.9, Alpha = 30 (mean λ = 0.03/day, about
// one purchase a month, coefficient of variation 1.05); A = 0.9, B = 9 (mean
// p ≈ 0.09, so 1/E[p] ≈ 11 repeat purchases per life; E[1/p] is infinite for
// A < 1: a heavy tail of loyal customers); P = 5, Q = 4, Gamma = 30 (mean basket 50.00, within-
// customer CV 0.45); ReturnRate 0.06; VisitsPerPurchase 3; SupportRate 0.04;
// ProspectShare 0.05; SameDayRate 0.03 (CDNOW has 3.2 % same-day repeat
// rows); Growth 2 (acquisitions per day double over the window); Seasonality
// 1; GrowingShare 0.25; WarningShare 0.6; ReactivationShare 0.1. Over two
// years that gives about 24 events per customer (6 purchases, 17 visits);
// EventsPerCustomer > 0 rescales every λ (Alpha) so the mean reaches a target
// (see Calibrate). On 20,000 default customers over 2024–2025 the tests
// measure: 5.2 % prospects, 5.0 % same-day repeat purchases, 20.9 % of the
// customers with their first event in the last 90 days, 2.75 visits and
// 0.074 returns per purchase; simple lifecycle rules at the end find every
// stage (prospect, new, growing, mature, declining, dormant, churned,
// reactivated).
package synth
