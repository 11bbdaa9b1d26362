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
// A period begins at subscribe or renew. It ends at the event's optional
// period_end column when given (on subscribe, renew, plan_change or cancel:
// the end of the current period; on trial_start: the end of the trial);
// else its length is the gap between the subscriber's last two period
// starts when there are two, else the length of the last period with a
// given end, else Rules.PeriodDays (30), and period_end = start of the
// current period + length. renewal_date is that day. A subscriber with neither a renewal nor a cancel
// more than Rules.GraceDays after period_end has lapsed: status expired.
// A history that begins with renew (no subscribe) is left-truncated: the
// renewals before it are unknown (Spell.LeftTruncated).
//
// # Several subscriptions
//
// With the optional subscription_id column, the subscription events of an
// account are grouped by subscription (events without one form one
// subscription of their own) and each group is followed with the rules
// above (State.Subscriptions). The account's state merges them: its status
// is the best of theirs (active > cancelled > trial > trial_expired >
// expired), so a cancel of one subscription does not cancel the account
// while another is active; the primary subscription, among those with that
// status the one whose period ends first (for trials the latest), gives the
// period, renewal_date and current spell; the recurring amount is the sum
// over the subscriptions with the account's status (active or on notice);
// every spell is kept for the retention model. The account exits
// (LastExit, the cancel model's label) on a cancel or end of a subscription
// on a day when no other subscription is paid without notice, and is won
// back when its current spell began on or after that exit.
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
