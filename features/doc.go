// Package features turns a customer's interaction history into one feature
// row per customer at an as-of day, as an Arrow record.
//
// Everything is point-in-time correct: only events on or before the as-of day
// (inclusive, UTC) are used, later events are counted as excluded and have no
// effect on any feature. Days are UTC calendar days; "in the last N days" means
// the N days ending on the as-of day inclusive, i.e. days_since < N.
//
// A purchase day is a calendar day with at least one purchase event: several
// purchases on the same day are one purchase day (one "transaction" in the
// buy-till-you-die literature). The BTYD summary columns follow Fader, Hardie
// and Lee (2005):
//
//	repeat_purchases   = purchase days − 1                  (x)
//	first_to_last_days = last purchase day − first purchase day  (t_x, in days)
//	first_to_asof_days = as-of day − first purchase day          (T, in days)
//
// Money is in the currency of the input. Net spend subtracts returns: a
// "return" event's amount is taken as negative whatever its sign in the input,
// and a "purchase" with a negative amount is a return (a cancellation booked
// as a negative purchase), not a purchase day.
//
// One pass serves the whole night: besides the feature table, a Builder
// can summarise the buyers at an earlier calibration day in the same BTYD
// terms (WithCalibration, for the count models' holdout comparison) and
// count every customer's usage — events that are neither purchases,
// returns nor subscription events — at up to four days (WithUsage, for the
// subscriber states of package subscription), so the history is folded
// once.
package features
