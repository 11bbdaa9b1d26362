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
// followed by the optional columns some file of the input has, in this
// order (EventSchemaOf; rows of files without one are null there):
//
//	event_id         utf8 (nullable)               the source's id of the event (duplicates)
//	subscription_id  utf8 (nullable)               the subscription an event belongs to
//	period_end       timestamp[ms, UTC] (nullable) end of the period the event starts or changes
//
// Readers stream; they never hold a whole file in memory. Rows that cannot be
// read into that layout are written to a Quarantine (source file, line,
// column, reason) and counted, never silently dropped.
//
// # Reading
//
// Open reads a file or a folder of files (CSV, whitespace-separated text,
// Parquet, Arrow IPC) and converts every row:
//
//   - customer_id: text trimmed of surrounding white space, or an integer
//     column in decimal. Empty, null, not valid UTF-8, or containing NUL: bad row.
//   - event_time: RFC 3339 (an offset is converted to UTC) or 2006-01-02
//     (midnight UTC), or Options.TimeLayout (a time without zone is UTC; a
//     zone abbreviation other than UTC or GMT — EDT, CET — is a bad row, as
//     Go would read it as UTC: use a numeric offset, layout -0700);
//     Arrow/Parquet timestamps of any unit and zone, date32 and date64.
//     Sub-millisecond parts are floored. Null, unparsable, or outside the
//     years 1900..2200 (UTC): bad row.
//   - event_type: trimmed and lower-cased; empty or null is "purchase".
//   - amount: the trimmed text as a plain decimal number (sign, digits, one
//     '.', optional exponent: -1234.50, 1e+15), or any numeric column;
//     empty or null is null. NaN, ±Inf (also 1e400), |x| > 1e15 (MaxAmount),
//     text containing ',' ("1,234.50": thousands or decimal separator?) and
//     Go-only syntax (1_000, 0x1p4) are bad rows.
//   - event_id, subscription_id: like customer_id (integers in decimal,
//     UUIDs as text in PostgreSQL), but empty is null.
//   - period_end: like event_time; empty is null; unparsable, implausible,
//     or on a UTC day before the row's event_time: bad row (ErrBadPeriodEnd).
//
// A bad row is a *ParseError (file, line, canonical column, reason wrapping
// one of ErrEmptyID, ErrBadID, ErrBadTime, ErrBadAmount, ErrBadPeriodEnd,
// ErrBadRow). With a
// Quarantine it is recorded and reading goes on; without one it stops the
// Reader. Stats counts rows read and rejected, and CheckRejects turns a
// reject fraction above a limit into an error. Problems with a whole file
// (missing required column, duplicated header, unsupported column type,
// corrupt Parquet or Arrow file) are errors from Open or Err that name the
// file.
//
// A Parquet or Arrow batch whose columns are already the canonical types
// and whose rows need no conversion (plain ASCII ids and types, plausible
// times, finite amounts, no optional columns) is handed on as a zero-copy
// slice of the decoded batch; every other batch is converted row by row.
// Both give the same rows in the same batches (passthrough.go).
//
// # Writing
//
// CreateFile writes records of any schema to Parquet (zstd), Arrow IPC or
// CSV, through a temporary file renamed on Close, so readers never see a
// half-written file.
//
// # Partitioned histories
//
// CreatePartitioned writes a history as n Parquet files,
// PartitionFile(i, n) = "part-0000i-of-0000n.parquet", file i holding exactly
// the customers with ShardOf(customer_id, n) == i (FNV-1a 64 of the id). A
// Reader opened on such a folder with Options.Shard and Options.Shards (N
// dividing n) opens only the files of its shard; a folder missing a
// partition, or holding one twice, is an error wrapping ErrPartition.
//
// Data flows one way through churnpipe: data → features → models → pipeline →
// jobs → cmd/churnpipe. This package imports none of those.
package data
