// Package sqlsource streams the canonical interaction history from a
// PostgreSQL table or query into Apache Arrow record batches with the schema
// data.EventSchema, applying the same per-value rules as the file readers of
// package data (data.CheckID, data.ParseTime, data.NormType,
// data.ParseAmount…).
//
// A Reader holds one connection (github.com/jackc/pgx/v5) running one
// statement inside a READ ONLY transaction; rows are decoded one at a time
// from the wire into reused Arrow builders, so memory is one batch plus the
// socket buffers whatever the table's size.
//
// # Source
//
// Options.Table names a table or view, schema-qualified or not
// ("crm.events"). Each dot-separated part is either written as is, and then
// taken exactly (case and spaces kept: "ev ents" is the table ev ents), or
// double-quoted SQL-style (`crm."my.table"`, `"a""b"`). The name is always
// quoted as an identifier in the SQL sent, so it cannot inject SQL. Only the
// needed columns are selected. Options.Query is instead a complete SELECT
// run as written (one statement, no parameters); its result columns are
// found by name.
//
// # Columns
//
// The canonical columns are found by name like the file readers do:
// Options.Map[canonical] when mapped, else the canonical name; an exact
// match first, then a unique case-insensitive one. A missing required
// (customer_id, event_time) or mapped column is an error from Open wrapping
// data.ErrMissingColumn that names the source, the canonical column, the
// name looked up and the columns present. Accepted PostgreSQL types, each
// value then checked with the file readers' rules:
//
//	customer_id  text, varchar, char, name, citext/enums; smallint, integer, bigint, numeric (decimal text); uuid
//	event_time   timestamptz; timestamp (read as UTC); date (midnight UTC); text (RFC 3339 or 2006-01-02, or Options.TimeLayout)
//	event_type   text-like or enum; NULL or empty is "purchase"; trimmed and lower-cased
//	amount       double precision, real, smallint, integer, bigint, numeric, text; NULL is null
//
// numeric amounts are converted through their exact decimal text with
// strconv.ParseFloat, so 29.33 stored as numeric gives the same float64 as
// "29.33" in a CSV file. NULL or empty customer_id, NULL event_time, a time
// outside the years 1900..2200 (also ±infinity), NaN or ±Infinity amounts
// (numeric or float) and |amount| > data.MaxAmount are bad rows. Another
// column type is an error from Open wrapping data.ErrColumnType.
//
// # Bad rows
//
// A bad row is a *data.ParseError whose File is "postgres:" followed by the
// table as given or "query", and whose Line is the 1-based row number in
// the result. With a data.Quarantine it is recorded (raw is the four
// canonical values' text joined with ',') and reading goes on; without one
// it stops the Reader and Err returns it.
//
// # Secrets
//
// The DSN's password never appears in an error: DSNs are shown through
// store.RedactDSN, and pgx errors that might quote a DSN are not wrapped.
package sqlsource
