// Package store publishes churnpipe's nightly customer predictions into the
// SQL tables a CRM reads (SQLite through modernc.org/sqlite, PostgreSQL through
// pgx, MySQL/MariaDB through github.com/go-sql-driver/mysql), and records
// pipeline runs.
//
// # Tables
//
// For a target table T (Options.Table, default "customer_predictions"):
//
//	T                  the current night: one row per customer, primary key customer_id
//	T_history          every published night, primary key (as_of, customer_id)
//	pipeline_runs      one row per run (status running → succeeded | failed | blocked)
//	stage_transitions  per night, how many customers moved from one lifecycle stage to another
//	lifecycle_metrics  per night and stage: size, share, realized 90-day churn, averages
//	stage_labels, segment_labels   human labels for the codes (PutLabels)
//	customer_alerts    per night, the customers who entered a warning state (Publication.Alerts,
//	                   written in the publish transaction; Alerts reads them)
//	prediction_outcomes per predicted night, model version and CLV decile: how the predictions
//	                   turned out one horizon later (PutOutcomes, Outcomes)
//	schema_migrations  applied migrations (target_table, version, applied_at, description)
//
// pipeline_runs, stage_transitions, lifecycle_metrics, customer_alerts,
// prediction_outcomes and schema_migrations carry
// a target_table column so several target tables can share one database.
// docs/crm-contract.md describes every column for the CRM.
//
// # Publish contract
//
// Publish is atomic: a reader sees either the previous night or the new one,
// never a mix and never an empty table. PostgreSQL and MySQL/MariaDB first
// load the rows into a staging table (PostgreSQL: pgx CopyFrom into an
// UNLOGGED table; MySQL/MariaDB: a regular InnoDB table filled by 1,000-row
// INSERTs in one transaction, as MySQL has no UNLOGGED tables), then a single
// write transaction replaces the current table's rows (DELETE + INSERT … SELECT,
// so views and grants on the table survive), replaces the history rows of that
// as_of, and recomputes stage_transitions and lifecycle_metrics in SQL. SQLite
// has one writer and readers on WAL snapshots, so its write transaction
// deletes the current rows and inserts the new ones straight into the table
// (prepared multi-row inserts) before the same history and figure steps: the
// rows are written once, and readers keep seeing the previous committed night
// until the commit. A backfill (history only) stages into a TEMP table. A process killed at any point
// leaves the previous night intact; its pipeline_runs row stays "running" until
// the next run takes the lock (TryLock) and StartRun marks it failed with error
// "abandoned".
//
// # Metrics
//
// For a night with as_of D, the previous night P is the newest history night
// with as_of < D; stage_transitions counts customers by (stage in P, stage in D),
// with "none" for customers absent from P and "gone" for customers absent from D
// (NULL stages are counted as "unknown").
//
// The cohort night C is the newest history night with as_of ≤ D − 90 days. For a
// stage s, realized_churn_rate is the share of customers that were in stage s in
// C, and are still present in D, whose last purchase (D − days_since_last_purchase,
// read in D) is not after C's as_of, i.e. days_since_last_purchase ≥ D − C in
// days (a NULL days_since_last_purchase, no purchase at all, counts as churned).
// retention_rate = 1 − realized_churn_rate. Both are NULL when there is no cohort
// night or no cohort customer in that stage. The row with stage "all" uses the
// whole cohort. share is customers(s)/customers(all) of night D.
//
// # Types
//
// Record columns are matched by name to the table's columns. Arrow utf8 maps to
// TEXT, integers to INTEGER/BIGINT, floats to REAL/DOUBLE PRECISION (NaN and ±Inf
// become NULL), date32 to 'YYYY-MM-DD' (PostgreSQL DATE), bool to 0/1
// (PostgreSQL BOOLEAN), timestamps to RFC 3339 UTC text with nine fractional
// digits, which sorts lexically (PostgreSQL TIMESTAMPTZ). Nulls become NULL.
package store
