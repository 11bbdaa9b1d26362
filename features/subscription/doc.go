// Package subscription derives the contractual (subscription) state of
// customers from their events: trial, paid periods, renewals, plan changes,
// cancellation, and the subscriber lifecycle stage.
//
// # Events
//
// The interaction history (data.EventSchema) carries subscription events as
// event types:
//
//	trial_start  a free trial begins (amount ignored)
//	subscribe    a paid subscription begins; amount = recurring revenue per period
//	renew        a renewal opportunity taken: the next period begins; amount (optional) = the period's price
//	plan_change  the recurring amount changes to amount (up- or downgrade)
//	cancel       the subscriber gave notice: no renewal at the end of the current period
//	expire       the subscription (or trial) ended
//
// and usage events (visit, support, anything else) as for buyers.
//
// # Which customers are contractual
//
// A customer is contractual ("a subscriber") when at least one of the six
// subscription event types occurs in their history up to the as-of day; all
// other customers are buyers, handled by the non-contractual models. A
// history can mix both. Purchases of a subscriber are still counted by the
// buyer features, but their stage and their subscription columns come from
// this package.
//
// # Periods
//
// A period begins at subscribe or renew. Its length is the gap between the
// subscriber's last two period starts when there are two, else
// Rules.PeriodDays (30). period_end = start of the current period + length;
// renewal_date is that day. A subscriber with neither a renewal nor a cancel
// more than Rules.GraceDays after period_end has lapsed: status expired.
// A history that begins with renew (no subscribe) is left-truncated: the
// renewals before it are unknown (Spell.LeftTruncated).
//
// # Stages
//
// In rule order: cancelled (status cancelled or expired: a cancel after the
// current period began, or an expire, or a lapse), trial (trial started, not
// yet paid, within Rules.TrialDays or before its expire), trial_expired
// (trial over without paying), at_risk (cancel probability ≥
// Rules.HighRisk), renewal_due (period end within Rules.RenewalDueDays),
// won_back (subscribed again within Rules.WonBackDays after an earlier
// subscription ended), new_subscriber (in the first paid period), active.
//
// Days are UTC day numbers (days since 1970-01-01) as in package features.
// Nothing panics.
package subscription
