// Package rfm scores customers by recency, frequency and monetary value,
// names their RFM segment, and places them in ABC value tiers.
//
// Scores are quintiles 1–5 over the buyers of one night, by rank: the buyers
// are ordered by the value (recency reversed: the most recent buyers score 5)
// and ties are broken by customer_id, so every night is deterministic and
// each score holds a fifth of the buyers (pandas' rank(method="first") then
// qcut). Recency is days since the last purchase, frequency the number of
// purchase days, monetary the net spend.
//
// Segments follow the 11-segment RFM scheme; the first matching rule wins:
//
//	Champions           R4-5 F4-5 M4-5
//	Loyal Customers     R2-5 F3-5 M3-5
//	Potential Loyalist  R3-5 F1-3 M1-3
//	New Customers       R4-5 F1   M1
//	Promising           R3-4 F1   M1
//	Need Attention      R2-3 F2-3 M2-3
//	About To Sleep      R2-3 F≤2  M≤2
//	At Risk             R≤2  F2-5 M2-5
//	Can't Lose Them     R1   F4-5 M4-5
//	Hibernating         R1-2 F1-2 M1-2
//	Lost                R≤2  F≤2  M≤2
//	Others              anything else, and customers without a purchase
//
// With first-match order New Customers and Promising are subsets of Potential
// Loyalist and Can't Lose Them of At Risk, so those three never match; the
// order is kept as specified because CRMs compare counts across tools.
//
// ABC tiers rank buyers by a value (net spend; predicted CLV once the models
// run): the top 20 % are A, the next 30 % B, the rest and non-buyers C.
package rfm
