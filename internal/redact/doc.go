// Package redact hides secrets (database passwords) in text shown to people
// or stored in the run ledger.
//
// DSN rewrites a connection string of any form the drivers accept — a URL
// (postgres://u:pw@h/db, also with a mistyped scheme such as pgsql:// or
// postgres//u:pw@h), a MySQL driver DSN (u:pw@tcp(h:3306)/db), a libpq
// keyword/value string (host=h password='p w') or a password query
// parameter — with the password replaced by "xxxxx". Secrets extracts the
// passwords themselves; Register adds them to a process-wide list that
// Scrub and Handler (a log/slog handler) remove from any text, so that a
// driver message quoting the DSN cannot leak it either. No function panics.
package redact
