// Package realdata is churnpipe's real-data acceptance suite: for each real
// interaction history in a shared data folder (CDNOW sample and master,
// dunnhumby Complete Journey) at a documented as-of day it runs the product
// the way production does — `train`, then `nightly` with that registry, into
// a fresh SQLite file (and, when given, a fresh PostgreSQL schema) — and
// reports one row per history and sink: rows read and kept, customers, the
// net amount of the input against the sum of the published historic_value
// (both in cents, computed independently: the input is re-read here with
// encoding/csv), the gates, how many buyers got a churn probability, and the
// model's metrics.
//
// `churnpipe bench --real DIR` prints the table; the package's test runs it
// against ../shared/data in CI and asserts the acceptance rules of issue 11:
// every night publishes without --force-publish, no row is dropped without
// an event_id, the net amount matches to the cent, and every buyer has a
// churn probability.
package realdata
