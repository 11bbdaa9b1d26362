package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// colKind is the logical type of a table column; dialect.typ renders it.
type colKind int

const (
	kText colKind = iota
	kInt
	kReal
	kDate
	kTime
	kJSON // JSON document stored as TEXT in prediction tables
)

type colSpec struct {
	name    string
	kind    colKind
	version int // migration that adds the column
}

// Columns filled by Publish itself.
const (
	colAsOf      = "as_of"
	colRunID     = "run_id"
	colUpdatedAt = "updated_at"
	colCustomer  = "customer_id"
)

// predictionColumns lists the prediction table's columns in table order.
var predictionColumns = []colSpec{
	{"customer_id", kText, 1},
	{"as_of", kDate, 1},
	{"run_id", kText, 1},
	{"lifecycle_stage", kText, 1},
	{"rfm_r", kInt, 1},
	{"rfm_f", kInt, 1},
	{"rfm_m", kInt, 1},
	{"rfm_score", kText, 1},
	{"rfm_segment", kText, 1},
	{"value_tier", kText, 1},
	{"historic_value", kReal, 1},
	{"days_since_last_purchase", kInt, 1},
	{"purchase_days", kInt, 1},
	{"first_purchase_date", kDate, 1},
	{"last_purchase_date", kDate, 1},
	{"updated_at", kTime, 1},

	{"p_alive", kReal, 2},
	{"expected_purchases_90d", kReal, 2},
	{"prob_no_purchase_90d", kReal, 2},
	{"expected_next_purchase_date", kDate, 2},
	{"expected_avg_spend", kReal, 2},
	{"predicted_clv_12m", kReal, 2},

	{"churn_probability", kReal, 3},
	{"churn_risk", kText, 3},
	{"predicted_stage", kText, 3},
	{"segment", kText, 3},
	{"top_reasons", kJSON, 3},
	{"model_version", kText, 3},

	{"p_alive_latent", kReal, 6},
	{"expected_purchases_90d_p10", kReal, 6},
	{"expected_purchases_90d_p90", kReal, 6},
	{"predicted_clv_12m_p10", kReal, 6},
	{"predicted_clv_12m_p90", kReal, 6},

	{"previous_stage", kText, 7},
	{"stage_since", kDate, 7},
	{"previous_churn_risk", kText, 7},
	{"churn_risk_changed", kInt, 7},
	{"churn_percentile", kReal, 7},
	{"clv_percentile", kReal, 7},
	{"churn_percentile_in_stage", kReal, 7},

	{"subscription_status", kText, 8},
	{"renewal_date", kDate, 8},
	{"p_renew_next", kReal, 8},
	{"expected_residual_lifetime", kReal, 8},
	{"residual_clv", kReal, 8},
}

// dialect renders SQL for SQLite or PostgreSQL. SQL shared by both is written
// with "?" placeholders; the PostgreSQL querier rebinds them to $n.
type dialect struct {
	pg     bool
	my     bool   // MySQL/MariaDB
	schema string // PostgreSQL schema or MySQL database
}

func (d dialect) typ(k colKind) string {
	if d.my {
		switch k {
		case kText:
			return "VARCHAR(255)"
		case kJSON:
			return "TEXT"
		case kInt:
			return "BIGINT"
		case kReal:
			return "DOUBLE"
		case kDate:
			return "DATE"
		case kTime:
			return "DATETIME(6)"
		}
	}
	if d.pg {
		switch k {
		case kText, kJSON:
			return "TEXT"
		case kInt:
			return "INTEGER"
		case kReal:
			return "DOUBLE PRECISION"
		case kDate:
			return "DATE"
		case kTime:
			return "TIMESTAMPTZ"
		}
	}
	switch k {
	case kInt:
		return "INTEGER"
	case kReal:
		return "REAL"
	}
	return "TEXT" // SQLite keeps dates 'YYYY-MM-DD' and times RFC 3339 as TEXT
}

// bigint is the type of counters.
func (d dialect) bigint() string {
	if d.pg || d.my {
		return "BIGINT"
	}
	return "INTEGER"
}

// json is the type of pipeline_runs.details.
func (d dialect) json() string {
	if d.pg {
		return "JSONB"
	}
	if d.my {
		return "LONGTEXT"
	}
	return "TEXT"
}

// key is the type of a text key column of the auxiliary tables: MySQL
// cannot index TEXT without a prefix length, and a composite key of four
// VARCHAR(191) utf8mb4 columns stays under InnoDB's 3072-byte limit.
func (d dialect) key() string {
	if d.my {
		return "VARCHAR(191)"
	}
	return "TEXT"
}

// ident quotes one identifier (both dialects double embedded quotes).
func ident(name string) string {
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}

// tbl returns the qualified, quoted name of a table.
func (d dialect) tbl(name string) string {
	if d.pg || d.my {
		return ident(d.schema) + "." + ident(name)
	}
	return ident(name)
}

// dateP is a placeholder for a DATE parameter.
func (d dialect) dateP() string {
	if d.pg {
		return "CAST(? AS DATE)"
	}
	return "?"
}

// textP is a placeholder for a TEXT parameter.
func (d dialect) textP() string {
	if d.pg {
		return "CAST(? AS TEXT)"
	}
	return "?"
}

// tsLayout is how SQLite stores instants: RFC 3339, UTC, nine fractional
// digits, so that text order is time order.
const tsLayout = "2006-01-02T15:04:05.000000000Z07:00"

// dateArg is the parameter value of a DATE.
func (d dialect) dateArg(t time.Time) any {
	if d.pg {
		return day(t)
	}
	return day(t).Format(time.DateOnly)
}

// tsArg is the parameter value of an instant; the zero time is NULL.
func (d dialect) tsArg(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	if d.pg || d.my {
		return t.UTC()
	}
	return t.UTC().Format(tsLayout)
}

// rebind rewrites "?" placeholders to $1, $2, … outside quoted identifiers
// and string literals.
func rebind(q string) string {
	var b strings.Builder
	n := 0
	var quote byte
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0 // a doubled quote closes and reopens: same result
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '?':
			n++
			fmt.Fprintf(&b, "$%d", n)
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// names of the auxiliary tables.
const (
	tRuns        = "pipeline_runs"
	tMigrations  = "schema_migrations"
	tTransitions = "stage_transitions"
	tMetrics     = "lifecycle_metrics"
	tStageLabels = "stage_labels"
	tSegLabels   = "segment_labels"
	tAlerts      = "customer_alerts"
	tOutcomes    = "prediction_outcomes"
)

type migration struct {
	version     int
	description string
	stmts       func(d dialect, table string) []string
	// apply, when set, runs instead of stmts: for steps that must look at
	// the database first (a column of a table shared by every target table
	// is added once, by the first target table's migration).
	apply func(ctx context.Context, q querier, d dialect, table string) error
}

// migrations are applied in order, each in its own transaction. Never edit
// a released migration: add a new one.
var migrations = []migration{
	{1, "spine: current and history prediction tables, runs, labels, transitions, metrics", migrateV1, nil},
	{2, "CLV columns", func(d dialect, table string) []string { return addColumns(d, table, 2) }, nil},
	{3, "churn model columns and segment index", func(d dialect, table string) []string {
		return append(addColumns(d, table, 3),
			fmt.Sprintf("CREATE INDEX IF NOT EXISTS %s ON %s (segment)", ident(table+"_segment_idx"), d.tbl(table)))
	}, nil},
	// value_tier has three values (A 20 %, B 30 %, C 50 % of the rows): a
	// planner never prefers this index to a sequential scan for a tier, while
	// every publication paid for a million index insertions (about 0.5 s on
	// PostgreSQL). Tier × churn risk look-ups use the segment index.
	{4, "drop the value_tier index", func(d dialect, table string) []string {
		if d.my {
			return []string{"DROP INDEX IF EXISTS " + ident(table+"_value_tier_idx") + " ON " + d.tbl(table)}
		}
		return []string{"DROP INDEX IF EXISTS " + d.tbl(table+"_value_tier_idx")}
	}, nil},
	{version: 5, description: "pipeline_runs.rows_identical", apply: func(ctx context.Context, q querier, d dialect, _ string) error {
		return addRunsColumn(ctx, q, d, "rows_identical", d.bigint())
	}},
	{6, "CLV intervals and latent P(alive)", func(d dialect, table string) []string { return addColumns(d, table, 6) }, nil},
	{7, "CRM changes: previous stage and risk, stage_since, percentiles; customer_alerts, prediction_outcomes", migrateV7, nil},
	{8, "subscription columns (contractual setting)", func(d dialect, table string) []string { return addColumns(d, table, 8) }, nil},
	{version: 9, description: "customer_id compared byte for byte (MySQL/MariaDB: utf8mb4_bin)", apply: migrateBinaryIDs},
	{version: 10, description: "lifecycle_metrics: trial conversion and renewal rates", apply: func(ctx context.Context, q querier, d dialect, _ string) error {
		for _, c := range []string{"trial_conversion_rate", "renewal_rate"} {
			if err := addSharedColumn(ctx, q, d, tMetrics, c, d.typ(kReal)); err != nil {
				return err
			}
		}
		return nil
	}},
}

// myBinaryCollation is the collation of customer_id on MySQL/MariaDB from
// migration 9: the default collations (utf8mb4_general_ci,
// utf8mb4_0900_ai_ci, uca1400_ai_ci) compare 'A' = 'a' and 'café' = 'cafe',
// so two customers of the source system collided in the primary key. The
// readers trim ids, so the PAD SPACE of utf8mb4_bin never matters.
// SQLite (BINARY) and PostgreSQL (deterministic collations) already
// compare ids byte for byte.
const myBinaryCollation = "utf8mb4_bin"

// migrateBinaryIDs gives customer_id of the current, history and
// customer_alerts tables the binary collation on MySQL/MariaDB (a table
// rebuild: one-off, about as long as copying the history). customer_alerts
// is shared by every target table: it is altered once, by the first
// target table's migration. Elsewhere it does nothing.
func migrateBinaryIDs(ctx context.Context, q querier, d dialect, table string) error {
	if !d.my {
		return nil
	}
	for _, t := range []struct {
		name string
		typ  string
	}{{table, d.typ(kText)}, {table + "_history", d.typ(kText)}, {tAlerts, d.key()}} {
		var coll sql.NullString
		err := q.queryRow(ctx, `SELECT collation_name FROM information_schema.columns WHERE table_schema = ? AND table_name = ? AND column_name = ?`,
			d.schema, t.name, colCustomer).Scan(&coll)
		if isNoRows(err) {
			continue // customer_alerts of a database migrated before v7 by another path: nothing to alter
		}
		if err != nil {
			return err
		}
		if coll.String == myBinaryCollation {
			continue
		}
		stmt := fmt.Sprintf("ALTER TABLE %s MODIFY %s %s CHARACTER SET utf8mb4 COLLATE %s NOT NULL", d.tbl(t.name), ident(colCustomer), t.typ, myBinaryCollation)
		if _, err := q.exec(ctx, stmt); err != nil {
			return fmt.Errorf("%s: %w", firstLine(stmt), err)
		}
	}
	return nil
}

// addRunsColumn adds a column to pipeline_runs unless it is there already
// (the table is shared by every target table of the database, each of which
// runs the migration).
func addRunsColumn(ctx context.Context, q querier, d dialect, name, typ string) error {
	return addSharedColumn(ctx, q, d, tRuns, name, typ)
}

// addSharedColumn adds a column to table, one of the auxiliary tables every
// target table of the database shares, unless it is there already.
func addSharedColumn(ctx context.Context, q querier, d dialect, table, name, typ string) error {
	var n int64
	var err error
	switch {
	case d.pg:
		err = q.queryRow(ctx, `SELECT count(*) FROM information_schema.columns WHERE table_schema = ? AND table_name = ? AND column_name = ?`,
			d.schema, table, name).Scan(&n)
	case d.my:
		err = q.queryRow(ctx, `SELECT count(*) FROM information_schema.columns WHERE table_schema = ? AND table_name = ? AND column_name = ?`,
			d.schema, table, name).Scan(&n)
	default:
		err = q.queryRow(ctx, `SELECT count(*) FROM pragma_table_info(?) WHERE name = ?`, table, name).Scan(&n)
	}
	if err != nil || n > 0 {
		return err
	}
	_, err = q.exec(ctx, fmt.Sprintf("ALTER TABLE %s ADD COLUMN %s %s", d.tbl(table), ident(name), typ))
	return err
}

// latestVersion is the version Migrate brings a database to.
var latestVersion = migrations[len(migrations)-1].version

func columnsDDL(d dialect, version int, history bool) string {
	var parts []string
	for _, c := range predictionColumns {
		if c.version != version {
			continue
		}
		def := ident(c.name) + " " + d.typ(c.kind)
		switch {
		case c.name == colCustomer && !history:
			def += " NOT NULL PRIMARY KEY"
		case c.name == colCustomer || (c.name == colAsOf && history):
			def += " NOT NULL"
		}
		parts = append(parts, def)
	}
	return strings.Join(parts, ", ")
}

func migrateV1(d dialect, table string) []string {
	hist := table + "_history"
	return []string{
		fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s (%s)", d.tbl(table), columnsDDL(d, 1, false)),
		fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s (%s, PRIMARY KEY (as_of, customer_id))", d.tbl(hist), columnsDDL(d, 1, true)),
		fmt.Sprintf("CREATE INDEX IF NOT EXISTS %s ON %s (customer_id)", ident(hist+"_customer_id_idx"), d.tbl(hist)),
		fmt.Sprintf("CREATE INDEX IF NOT EXISTS %s ON %s (lifecycle_stage)", ident(table+"_lifecycle_stage_idx"), d.tbl(table)),
		fmt.Sprintf("CREATE INDEX IF NOT EXISTS %s ON %s (value_tier)", ident(table+"_value_tier_idx"), d.tbl(table)),
		fmt.Sprintf(`CREATE TABLE IF NOT EXISTS %s (
	run_id %[7]s NOT NULL PRIMARY KEY,
	target_table %[7]s NOT NULL,
	as_of %[2]s,
	started_at %[3]s NOT NULL,
	finished_at %[4]s,
	status %[7]s NOT NULL,
	rows_read %[5]s, rows_rejected %[5]s, rows_excluded %[5]s, rows_duplicate %[5]s, customers %[5]s,
	error TEXT,
	details %[6]s)`, d.tbl(tRuns), d.typ(kDate), d.typ(kTime), d.typ(kTime), d.bigint(), d.json(), d.key()),
		fmt.Sprintf("CREATE INDEX IF NOT EXISTS %s ON %s (target_table, started_at)", ident(tRuns+"_target_started_idx"), d.tbl(tRuns)),
		fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s (code %s NOT NULL PRIMARY KEY, label_en TEXT, label_zh TEXT, action TEXT)", d.tbl(tStageLabels), d.key()),
		fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s (code %s NOT NULL PRIMARY KEY, label_en TEXT, label_zh TEXT, action TEXT)", d.tbl(tSegLabels), d.key()),
		fmt.Sprintf(`CREATE TABLE IF NOT EXISTS %s (
	target_table %[4]s NOT NULL, as_of %[2]s NOT NULL, from_stage %[4]s NOT NULL, to_stage %[4]s NOT NULL, customers %[3]s NOT NULL,
	PRIMARY KEY (target_table, as_of, from_stage, to_stage))`, d.tbl(tTransitions), d.typ(kDate), d.bigint(), d.key()),
		fmt.Sprintf(`CREATE TABLE IF NOT EXISTS %s (
	target_table %[5]s NOT NULL, as_of %[2]s NOT NULL, stage %[5]s NOT NULL, customers %[3]s NOT NULL, share %[4]s,
	realized_churn_rate %[4]s, retention_rate %[4]s, avg_historic_value %[4]s, avg_predicted_clv %[4]s,
	PRIMARY KEY (target_table, as_of, stage))`, d.tbl(tMetrics), d.typ(kDate), d.bigint(), d.typ(kReal), d.key()),
	}
}

func addColumns(d dialect, table string, version int) []string {
	var out []string
	for _, t := range []string{table, table + "_history"} {
		for _, c := range predictionColumns {
			if c.version == version {
				add := "ADD COLUMN"
				if d.my { // MySQL DDL is not transactional: each statement must be idempotent
					add = "ADD COLUMN IF NOT EXISTS"
				}
				out = append(out, fmt.Sprintf("ALTER TABLE %s %s %s %s", d.tbl(t), add, ident(c.name), d.typ(c.kind)))
			}
		}
	}
	return out
}

func migrationsTableDDL(d dialect) string {
	return fmt.Sprintf(`CREATE TABLE IF NOT EXISTS %s (
	target_table %s NOT NULL, version INTEGER NOT NULL, applied_at %s NOT NULL, description TEXT,
	PRIMARY KEY (target_table, version))`, d.tbl(tMigrations), d.key(), d.typ(kTime))
}

// migrateV7 adds the change and rank columns and the customer_alerts table
// (one row per customer and alert that fired on a night; see
// docs/crm-contract.md).
func migrateV7(d dialect, table string) []string {
	return append(addColumns(d, table, 7),
		fmt.Sprintf(`CREATE TABLE IF NOT EXISTS %s (
	target_table %[3]s NOT NULL, as_of %[2]s NOT NULL, customer_id %[3]s NOT NULL, alert %[4]s NOT NULL,
	label_en TEXT, label_zh TEXT, lifecycle_stage %[5]s, previous_stage %[5]s, stage_since %[2]s,
	churn_risk %[5]s, previous_churn_risk %[5]s, churn_probability %[6]s, value_tier %[5]s, segment %[5]s,
	action TEXT, top_reasons TEXT, run_id %[5]s,
	PRIMARY KEY (target_table, as_of, customer_id, alert))`, d.tbl(tAlerts), d.typ(kDate), d.key(), alertKey(d), d.typ(kText), d.typ(kReal)),
		fmt.Sprintf("CREATE INDEX IF NOT EXISTS %s ON %s (target_table, as_of, alert)", ident(tAlerts+"_night_alert_idx"), d.tbl(tAlerts)),
		fmt.Sprintf(`CREATE TABLE IF NOT EXISTS %s (
	target_table %[3]s NOT NULL, as_of %[2]s NOT NULL, model_version %[4]s NOT NULL, clv_decile INTEGER NOT NULL,
	evaluated_as_of %[2]s, horizon_days INTEGER, customers %[5]s, churn_customers %[5]s,
	churn_auc %[6]s, churn_brier %[6]s, churn_ece %[6]s, churn_lift_10 %[6]s,
	predicted_churn_rate %[6]s, realized_churn_rate %[6]s,
	predicted_purchases %[6]s, realized_purchases %[6]s, predicted_spend %[6]s, realized_spend %[6]s,
	stage_customers %[5]s, stage_accuracy %[6]s, run_id %[7]s,
	PRIMARY KEY (target_table, as_of, model_version, clv_decile))`, d.tbl(tOutcomes), d.typ(kDate), d.key(), alertKey(d), d.bigint(), d.typ(kReal), d.typ(kText)),
	)
}

// alertKey is the type of customer_alerts.alert: short codes, so that the
// four-column key stays under InnoDB's 3072-byte limit.
func alertKey(d dialect) string {
	if d.my {
		return "VARCHAR(64)"
	}
	return "TEXT"
}
