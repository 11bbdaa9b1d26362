// Package data reads customers' interaction history into Apache Arrow and
// defines the canonical event layout every other package consumes.
//
// The canonical interaction history is a stream of arrow.Record batches with
// the schema EventSchema:
//
//	customer_id  utf8                     required, never empty
//	event_time   timestamp[ms, UTC]       required
//	event_type   utf8                     "purchase" (default), "return", "visit", "support", or any other value kept as-is
//	amount       float64 (nullable)       currency of the input; negative for returns; null when empty
//
// Readers stream; they never hold a whole file in memory. Rows that cannot be
// read into that layout are written to a Quarantine (source file, line,
// column, reason) and counted, never silently dropped.
//
// Data flows one way through churnpipe: data → features → models → pipeline →
// jobs → cmd/churnpipe. This package imports none of those.
package data
