// Package rfm scores customers by recency, frequency and monetary value,
// names their RFM segment, and places them in ABC value tiers.
//
// # Scores
//
// Scores are quintiles 1–5 over the buyers of one night. Recency is days
// since the last purchase (reversed: fewer days is better), frequency the
// number of purchase days, monetary the net spend. A buyer whose value is
// strictly better than L of the n buyers scores
//
//	score = ⌊5·L/n⌋ + 1
//
// so equal values always share a score, whatever their customer_id or row
// order (pandas: rank(method="min"), then ⌊5·(rank−1)/n⌋+1). The quantile
// edges: a buyer scores at least k+1 exactly when at least k·20 % of the
// buyers have a strictly worse value. With ties a score can hold more than a
// fifth of the buyers and another none: on the CDNOW master (1998-06-29)
// 51 % of the buyers bought on one day only, so all of them score F 1 and no
// buyer scores F 2.
//
// # Segments
//
// Segments are a first-match rule table (Rules), data an operator can
// replace (the rfm.segments list of the nightly configuration). The default
// table puts the narrow boxes before the wide ones so that every named
// segment can match (the textbook order — Champions, Loyal, Potential
// Loyalist, New, Promising, … — lets Potential Loyalist swallow New Customers
// and Promising, At Risk swallow Can't Lose Them, and Hibernating Lost):
//
//	Champions           R4-5 F4-5 M4-5   bought recently, often, much
//	Can't Lose Them     R1-2 F4-5 M4-5   frequent big spenders, long gone
//	Loyal Customers     R3-5 F3-5 M3-5   repeat buyers, active
//	At Risk             R1-2 F3-5 M1-5   repeat buyers, not seen for long
//	New Customers       R5   F1   M1-5   one purchase day, very recent
//	Promising           R4   F1   M1-5   one purchase day, recent
//	Potential Loyalist  R3-5 F2-5 M1-5   recent repeat buyers, lower spend
//	Need Attention      R3   F1   M3-5   one purchase day, fading, spent well
//	About To Sleep      R3   F1   M1-2   one purchase day, fading, spent little
//	Lost                R1   F1-2 M1-5   the least recent, few purchases
//	Hibernating         R2   F1-2 M1-5   long ago, few purchases
//	Others              no rule matched, and customers without a purchase
//
// With the default table every buyer matches a rule; Others holds the
// prospects. Rules.Validate rejects a table whose rule can never match.
//
// # Value tiers
//
// ABC tiers rank buyers by a value (net spend; predicted CLV once the models
// run): the top 20 % are A, the next 30 % B, the rest and non-buyers C.
package rfm
