package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// querier runs SQL written with "?" placeholders.
type querier interface {
	exec(ctx context.Context, q string, args ...any) (int64, error)
	queryRow(ctx context.Context, q string, args ...any) rowScanner
}

type rowScanner interface{ Scan(dest ...any) error }

// column is a table column as the database reports it.
type column struct {
	name string
	typ  string // declared type (SQLite) or information_schema data_type (PostgreSQL), lower case
}

// engine is what differs between SQLite and PostgreSQL.
type engine interface {
	// pool runs autocommit statements.
	pool() querier
	// inTx runs f in one write transaction (SQLite: BEGIN IMMEDIATE).
	// migration is true for Migrate, which PostgreSQL serializes with an
	// advisory transaction lock.
	inTx(ctx context.Context, migration bool, f func(q querier) error) error
	// columns lists a table's columns; nil, nil when it does not exist.
	columns(ctx context.Context, table string) ([]column, error)
	// publish loads pl into a staging table and calls swap in one write
	// transaction with the staging table's qualified name.
	publish(ctx context.Context, pl *plan, swap func(ctx context.Context, q querier, staging string) error) error
	tryLock(ctx context.Context) (release func() error, err error)
	close() error
}

// testHook, when set (tests only), is called with "staged" after the staging
// table is committed and with "swapping" inside the swap transaction after
// the current and history tables were rewritten.
var testHook func(stage string)

type store struct {
	d      dialect
	eng    engine
	table  string
	target string // schema-qualified display name, used as lock key and target_table
	log    *slog.Logger

	mu      sync.Mutex
	release func() error // non-nil while this Store holds the lock
}

func (s *store) hist() string { return s.table + "_history" }

func (s *store) Migrated(ctx context.Context) (bool, error) {
	cols, err := s.eng.columns(ctx, tMigrations)
	if err != nil {
		return false, fmt.Errorf("store: migrated: %w", err)
	}
	if len(cols) == 0 {
		return false, nil
	}
	var n int64
	if err := s.eng.pool().queryRow(ctx, fmt.Sprintf("SELECT count(*) FROM %s WHERE target_table = ? AND version = ?",
		s.d.tbl(tMigrations)), s.table, latestVersion).Scan(&n); err != nil {
		return false, fmt.Errorf("store: migrated: %w", err)
	}
	return n > 0, nil
}

func (s *store) Migrate(ctx context.Context) error {
	err := s.eng.inTx(ctx, true, func(q querier) error {
		if s.d.pg {
			// CREATE SCHEMA IF NOT EXISTS needs CREATE on the database even
			// when the schema exists: only issue it for a missing schema.
			var n int64
			if err := q.queryRow(ctx, "SELECT count(*) FROM pg_namespace WHERE nspname = ?", s.d.schema).Scan(&n); err != nil {
				return err
			}
			if n == 0 {
				if _, err := q.exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+ident(s.d.schema)); err != nil {
					return err
				}
			}
		}
		if s.d.my {
			if _, err := q.exec(ctx, "CREATE DATABASE IF NOT EXISTS "+ident(s.d.schema)); err != nil {
				return err
			}
		}
		_, err := q.exec(ctx, migrationsTableDDL(s.d))
		return err
	})
	if err != nil {
		return fmt.Errorf("store: migrate: bootstrap: %w", err)
	}
	return s.migrateTo(ctx, latestVersion)
}

// migrateTo applies the migrations up to and including version.
func (s *store) migrateTo(ctx context.Context, version int) error {
	for _, m := range migrations {
		if m.version > version {
			break
		}
		applied := false
		err := s.eng.inTx(ctx, true, func(q querier) error {
			var n int64
			if err := q.queryRow(ctx, fmt.Sprintf("SELECT count(*) FROM %s WHERE target_table = ? AND version = ?",
				s.d.tbl(tMigrations)), s.table, m.version).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			if m.apply != nil {
				if err := m.apply(ctx, q, s.d, s.table); err != nil {
					return err
				}
			} else {
				for _, stmt := range m.stmts(s.d, s.table) {
					if _, err := q.exec(ctx, stmt); err != nil {
						return fmt.Errorf("%s: %w", firstLine(stmt), err)
					}
				}
			}
			applied = true
			_, err := q.exec(ctx, fmt.Sprintf("INSERT INTO %s (target_table, version, applied_at, description) VALUES (?, ?, ?, ?)",
				s.d.tbl(tMigrations)), s.table, m.version, s.d.tsArg(time.Now()), m.description)
			return err
		})
		if err != nil {
			return fmt.Errorf("store: migration %d (%s): %w", m.version, m.description, err)
		}
		if applied {
			s.log.Info("store: migration applied", "table", s.target, "version", m.version, "description", m.description)
		}
	}
	return nil
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > 80 {
		s = s[:80] + "…"
	}
	return s
}

func (s *store) holdsLock() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.release != nil
}

func (s *store) StartRun(ctx context.Context, r *Run) error {
	if r.StartedAt.IsZero() {
		r.StartedAt = time.Now().UTC()
	}
	if r.ID == "" {
		r.ID = newRunID(r.StartedAt)
	}
	r.Status = StatusRunning
	if s.holdsLock() {
		n, err := s.eng.pool().exec(ctx, fmt.Sprintf(
			"UPDATE %s SET status = ?, error = ?, finished_at = ? WHERE target_table = ? AND status = ? AND run_id <> ?",
			s.d.tbl(tRuns)), StatusFailed, "abandoned", s.d.tsArg(time.Now()), s.table, StatusRunning, r.ID)
		if err != nil {
			return fmt.Errorf("store: start run: mark abandoned runs: %w", err)
		}
		if n > 0 {
			s.log.Warn("store: marked abandoned runs failed", "table", s.target, "runs", n)
		}
	}
	details, err := detailsJSON(r.Details)
	if err != nil {
		return err
	}
	var asOf any
	if !r.AsOf.IsZero() {
		asOf = s.d.dateArg(r.AsOf)
	}
	_, err = s.eng.pool().exec(ctx, fmt.Sprintf(`INSERT INTO %s (run_id, target_table, as_of, started_at, finished_at, status,
	rows_read, rows_rejected, rows_excluded, rows_duplicate, rows_identical, customers, error, details)
	VALUES (?, ?, %s, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, s.d.tbl(tRuns), s.d.dateP()),
		r.ID, s.table, asOf, s.d.tsArg(r.StartedAt), s.d.tsArg(r.FinishedAt), r.Status,
		r.RowsRead, r.RowsRejected, r.RowsExcluded, r.RowsDuplicate, r.RowsIdentical, r.Customers, nullString(r.Error), details)
	if err != nil {
		return fmt.Errorf("store: start run %q: %w", r.ID, err)
	}
	s.log.Info("store: run started", "table", s.target, "run_id", r.ID)
	return nil
}

func (s *store) FinishRun(ctx context.Context, r *Run) error {
	switch r.Status {
	case StatusSucceeded, StatusBackfilled, StatusFailed, StatusBlocked:
	default:
		return fmt.Errorf("store: finish run %q: status %q is not succeeded, backfilled, failed or blocked", r.ID, r.Status)
	}
	if r.FinishedAt.IsZero() {
		r.FinishedAt = time.Now().UTC()
	}
	details, err := detailsJSON(r.Details)
	if err != nil {
		return err
	}
	n, err := finishRunSQL(ctx, s.eng.pool(), s.d, r, details)
	if err != nil {
		return fmt.Errorf("store: finish run %q: %w", r.ID, err)
	}
	if n == 0 {
		var exists int64
		if err := s.eng.pool().queryRow(ctx, fmt.Sprintf("SELECT count(*) FROM %s WHERE run_id = ?", s.d.tbl(tRuns)), r.ID).Scan(&exists); err != nil {
			return fmt.Errorf("store: finish run %q: %w", r.ID, err)
		}
		if !published(r.Status) && exists > 0 {
			// The publishing transaction already recorded success (Publication.Run):
			// the night is live, a later failure (an interruption after the commit)
			// does not turn it into "failed".
			s.log.Warn("store: run already recorded succeeded with its publication; status kept", "run_id", r.ID, "not", r.Status)
			return nil
		}
		return fmt.Errorf("store: finish run %q: no such run", r.ID)
	}
	s.log.Info("store: run finished", "table", s.target, "run_id", r.ID, "status", r.Status)
	return nil
}

// published reports whether a run status says the run's night was
// published (succeeded, or backfilled into history).
func published(status string) bool { return status == StatusSucceeded || status == StatusBackfilled }

// finishRunSQL updates the ledger row of r; a status other than succeeded
// or backfilled never overwrites those.
func finishRunSQL(ctx context.Context, q querier, d dialect, r *Run, details any) (int64, error) {
	guard := ""
	if !published(r.Status) {
		guard = " AND status NOT IN ('" + StatusSucceeded + "', '" + StatusBackfilled + "')"
	}
	return q.exec(ctx, fmt.Sprintf(`UPDATE %s SET finished_at = ?, status = ?, rows_read = ?, rows_rejected = ?,
	rows_excluded = ?, rows_duplicate = ?, rows_identical = ?, customers = ?, error = ?, details = ? WHERE run_id = ?%s`, d.tbl(tRuns), guard),
		d.tsArg(r.FinishedAt), r.Status, r.RowsRead, r.RowsRejected, r.RowsExcluded, r.RowsDuplicate, r.RowsIdentical, r.Customers,
		nullString(r.Error), details, r.ID)
}

func detailsJSON(m map[string]any) (any, error) {
	if m == nil {
		return nil, nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("store: run details: %w", err)
	}
	return string(b), nil
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func (s *store) LastRun(ctx context.Context, status string) (Run, bool, error) {
	where, args := "target_table = ?", []any{s.table}
	if status != "" {
		where += " AND status = ?"
		args = append(args, status)
	}
	return s.queryRun(ctx, "last run", where, args...)
}

// queryRun returns the newest run of pipeline_runs matching where.
func (s *store) queryRun(ctx context.Context, what, where string, args ...any) (Run, bool, error) {
	q := fmt.Sprintf(`SELECT run_id, as_of, started_at, finished_at, status, rows_read, rows_rejected, rows_excluded,
	rows_duplicate, customers, error, details, rows_identical FROM %s WHERE %s`, s.d.tbl(tRuns), where)
	q += " ORDER BY started_at DESC, run_id DESC LIMIT 1"
	v := make([]any, 13)
	ptrs := make([]any, len(v))
	for i := range v {
		ptrs[i] = &v[i]
	}
	if err := s.eng.pool().queryRow(ctx, q, args...).Scan(ptrs...); err != nil {
		if isNoRows(err) {
			return Run{}, false, nil
		}
		return Run{}, false, fmt.Errorf("store: %s: %w", what, err)
	}
	var r Run
	var err error
	r.ID = asString(v[0])
	if r.AsOf, err = asTime(v[1]); err == nil {
		if r.StartedAt, err = asTime(v[2]); err == nil {
			r.FinishedAt, err = asTime(v[3])
		}
	}
	if err != nil {
		return Run{}, false, fmt.Errorf("store: %s: %w", what, err)
	}
	r.Status = asString(v[4])
	r.RowsRead, r.RowsRejected, r.RowsExcluded = asInt(v[5]), asInt(v[6]), asInt(v[7])
	r.RowsDuplicate, r.Customers, r.RowsIdentical = asInt(v[8]), asInt(v[9]), asInt(v[12])
	r.Error = asString(v[10])
	switch d := v[11].(type) {
	case map[string]any:
		r.Details = d
	case string, []byte:
		var b []byte
		if s, ok := d.(string); ok {
			b = []byte(s)
		} else {
			b = d.([]byte)
		}
		if err := json.Unmarshal(b, &r.Details); err != nil {
			return Run{}, false, fmt.Errorf("store: %s %q: details: %w", what, r.ID, err)
		}
	}
	return r, true, nil
}

// PublishedRun returns the ledger row of the run whose night is in the
// current table (its run_id column); ok is false when the table is empty.
func (s *store) PublishedRun(ctx context.Context) (Run, bool, error) {
	var id any
	err := s.eng.pool().queryRow(ctx, fmt.Sprintf("SELECT %s FROM %s LIMIT 1", ident(colRunID), s.d.tbl(s.table))).Scan(&id)
	if isNoRows(err) {
		return Run{}, false, nil
	}
	if err != nil {
		return Run{}, false, fmt.Errorf("store: published run: %w", err)
	}
	return s.queryRun(ctx, "published run", "target_table = ? AND run_id = ?", s.table, asString(id))
}

func (s *store) PutLabels(ctx context.Context, table string, labels []Label) error {
	if table != tStageLabels && table != tSegLabels {
		return fmt.Errorf("store: put labels: table %q is not %q or %q", table, tStageLabels, tSegLabels)
	}
	return s.eng.inTx(ctx, false, func(q querier) error {
		for _, l := range labels {
			if l.Code == "" {
				return fmt.Errorf("store: put labels: empty code")
			}
			upsert := `INSERT INTO %s (code, label_en, label_zh, action) VALUES (?, ?, ?, ?)
	ON CONFLICT (code) DO UPDATE SET label_en = excluded.label_en, label_zh = excluded.label_zh, action = excluded.action`
			if s.d.my {
				upsert = `INSERT INTO %s (code, label_en, label_zh, action) VALUES (?, ?, ?, ?)
	ON DUPLICATE KEY UPDATE label_en = VALUES(label_en), label_zh = VALUES(label_zh), action = VALUES(action)`
			}
			if _, err := q.exec(ctx, fmt.Sprintf(upsert, s.d.tbl(table)), l.Code, nullString(l.English), nullString(l.Chinese), nullString(l.Action)); err != nil {
				return fmt.Errorf("store: put labels %q: %w", l.Code, err)
			}
		}
		return nil
	})
}

func (s *store) TryLock(ctx context.Context) (func() error, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.release != nil {
		return nil, fmt.Errorf("%w: %s (already held by this Store)", ErrLocked, s.target)
	}
	rel, err := s.eng.tryLock(ctx)
	if err != nil {
		return nil, err
	}
	var once sync.Once
	var relErr error
	release := func() error {
		once.Do(func() {
			relErr = rel()
			s.mu.Lock()
			s.release = nil
			s.mu.Unlock()
		})
		return relErr
	}
	s.release = release
	s.log.Info("store: lock taken", "table", s.target)
	return release, nil
}

func (s *store) Close() error {
	s.mu.Lock()
	rel := s.release
	s.mu.Unlock()
	var err error
	if rel != nil {
		err = rel()
	}
	return errors.Join(err, s.eng.close())
}

// ---- publish ----

// plan is a validated publication: which record column goes to which
// staging column, and how its values are converted.
type plan struct {
	pub     Publication
	cols    []string // staging columns: record columns, then as_of, run_id, updated_at
	convs   [][]conv // per record, per record column
	rows    int64
	fixed   []any // values of as_of, run_id, updated_at
	histCol []string
	curCols map[string]bool
	alerts  bool // customer_alerts exists (migration 7)
	// subMetrics: the subscription columns (migration 8) and the subscriber
	// rates of lifecycle_metrics (migration 9) exist.
	subMetrics bool
	// current is the current table's SQL name. An engine that writes the
	// rows straight into it, inside the swap transaction, passes it as the
	// staging table to swap, which then does not copy them.
	current string
}

func (s *store) Publish(ctx context.Context, p Publication) error {
	start := time.Now()
	if p.AsOf.IsZero() {
		return fmt.Errorf("store: publish: AsOf is zero")
	}
	p.AsOf = day(p.AsOf)
	cur, err := s.eng.columns(ctx, s.table)
	if err != nil {
		return fmt.Errorf("store: publish: %w", err)
	}
	hist, err := s.eng.columns(ctx, s.hist())
	if err != nil {
		return fmt.Errorf("store: publish: %w", err)
	}
	if cur == nil || hist == nil {
		return fmt.Errorf("%w: %s (call Migrate)", ErrNotMigrated, s.target)
	}
	pl, err := s.plan(p, cur, hist)
	if err != nil {
		return err
	}
	pl.current = s.d.tbl(s.table)
	if ac, err := s.eng.columns(ctx, tAlerts); err != nil {
		return fmt.Errorf("store: publish: %w", err)
	} else if pl.alerts = len(ac) > 0; !pl.alerts && len(p.Alerts) > 0 {
		return fmt.Errorf("%w: %s has no %s table (call Migrate)", ErrNotMigrated, s.target, tAlerts)
	}
	if mc, err := s.eng.columns(ctx, tMetrics); err != nil {
		return fmt.Errorf("store: publish: %w", err)
	} else {
		for _, c := range mc {
			if c.name == "renewal_rate" {
				pl.subMetrics = pl.curCols["subscription_status"] && pl.curCols["renewal_date"]
			}
		}
	}
	var details any
	if r := p.Run; r != nil {
		if r.FinishedAt.IsZero() {
			r.FinishedAt = time.Now().UTC()
		}
		if details, err = detailsJSON(r.Details); err != nil {
			return err
		}
	}
	err = s.eng.publish(ctx, pl, func(ctx context.Context, q querier, staging string) error {
		if err := s.swap(ctx, q, staging, pl); err != nil {
			return err
		}
		if r := p.Run; r != nil {
			// The ledger says succeeded exactly when the night is live
			// (backfilled when it went to history only).
			r.Status = StatusSucceeded
			if p.HistoryOnly {
				r.Status = StatusBackfilled
			}
			n, err := finishRunSQL(ctx, q, s.d, r, details)
			if err != nil {
				return fmt.Errorf("ledger: %w", err)
			}
			if n == 0 {
				return fmt.Errorf("ledger: no run %q to record as succeeded", r.ID)
			}
		}
		return nil
	})
	if err != nil {
		if isUniqueViolation(err) {
			return fmt.Errorf("%w: %s, as_of %s: %w", ErrDuplicateCustomer, s.target, p.AsOf.Format(time.DateOnly), err)
		}
		return fmt.Errorf("store: publish %s, as_of %s: %w", s.target, p.AsOf.Format(time.DateOnly), err)
	}
	el := time.Since(start)
	s.log.Info("store: published", "table", s.target, "as_of", p.AsOf.Format(time.DateOnly), "run_id", p.RunID,
		"rows", pl.rows, "seconds", el.Seconds(), "rows_per_second", math.Round(float64(pl.rows)/el.Seconds()))
	return nil
}

func (s *store) plan(p Publication, cur, hist []column) (*plan, error) {
	if len(p.Records) == 0 {
		return nil, fmt.Errorf("%w: %s has no records", ErrEmptyPublication, s.target)
	}
	types := make(map[string]string, len(cur))
	for _, c := range cur {
		types[c.name] = c.typ
	}
	pl := &plan{pub: p}
	schema := p.Records[0].Schema()
	seen := map[string]bool{}
	for _, f := range schema.Fields() {
		switch f.Name {
		case colAsOf, colRunID, colUpdatedAt:
			return nil, fmt.Errorf("store: publish: column %q is filled by the store; drop it from the records", f.Name)
		}
		if _, ok := types[f.Name]; !ok {
			return nil, fmt.Errorf("%w: %q is not a column of %s", ErrUnknownColumn, f.Name, s.target)
		}
		if seen[f.Name] {
			return nil, fmt.Errorf("store: publish: column %q appears twice in the records", f.Name)
		}
		seen[f.Name] = true
		pl.cols = append(pl.cols, f.Name)
	}
	if !seen[colCustomer] {
		return nil, fmt.Errorf("store: publish: records have no %q column", colCustomer)
	}
	for i, rec := range p.Records {
		if !rec.Schema().Equal(schema) {
			return nil, fmt.Errorf("store: publish: record %d has schema %v, want %v", i, rec.Schema(), schema)
		}
		cs := make([]conv, rec.NumCols())
		for j := range cs {
			c, err := converter(s.d, rec.Column(j), pl.cols[j], types[pl.cols[j]])
			if err != nil {
				return nil, err
			}
			cs[j] = c
		}
		pl.convs = append(pl.convs, cs)
		pl.rows += rec.NumRows()
	}
	if pl.rows == 0 {
		return nil, fmt.Errorf("%w: %s has zero rows", ErrEmptyPublication, s.target)
	}
	pl.cols = append(pl.cols, colAsOf, colRunID, colUpdatedAt)
	pl.fixed = []any{s.d.dateArg(p.AsOf), nullString(p.RunID), s.d.tsArg(time.Now())}
	pl.curCols = map[string]bool{}
	for _, c := range cur {
		pl.curCols[c.name] = true
	}
	inHist := map[string]bool{}
	for _, c := range hist {
		inHist[c.name] = true
	}
	for _, c := range cur {
		if inHist[c.name] {
			pl.histCol = append(pl.histCol, ident(c.name))
		}
	}
	return pl, nil
}

// values fills row with the staging values of row i of record r.
func (pl *plan) values(r, i int, row []any) {
	cs := pl.convs[r]
	for j, c := range cs {
		row[j] = c(i)
	}
	copy(row[len(cs):], pl.fixed)
}

// The PostgreSQL swap runs no ANALYZE: its joins read the staging table
// (sized by the planner from its pages) and history nights that earlier
// publications wrote (an equality on as_of outside the statistics is
// estimated as one night's share of the rows). Autovacuum analyzes the
// current table after the commit, as every row of it changed; ANALYZE inside
// the transaction cost about 0.45 s per million rows. SET LOCAL jit = off
// measured no difference and is not set.

// swap runs inside the publish transaction.
func (s *store) swap(ctx context.Context, q querier, staging string, pl *plan) error {
	cur, hist := s.d.tbl(s.table), s.d.tbl(s.hist())
	cols := make([]string, len(pl.cols))
	for i, c := range pl.cols {
		cols[i] = ident(c)
	}
	stagingCols := strings.Join(cols, ", ")
	histCols := strings.Join(pl.histCol, ", ")
	asOf := s.d.dateArg(pl.pub.AsOf)
	type step struct {
		what string
		q    string
		args []any
	}
	steps := []step{
		{"clear current", "DELETE FROM " + cur, nil},
		{"fill current", fmt.Sprintf("INSERT INTO %s (%s) SELECT %s FROM %s", cur, stagingCols, stagingCols, staging), nil},
		{"clear history night", fmt.Sprintf("DELETE FROM %s WHERE as_of = %s", hist, s.d.dateP()), []any{asOf}},
		{"fill history night", fmt.Sprintf("INSERT INTO %s (%s) SELECT %s FROM %s", hist, histCols, histCols, cur), nil},
	}
	// night is the table holding the new night that transitions and metrics
	// read. SQLite: the current table, whose primary key serves the index
	// look-ups of the join. PostgreSQL: the staging table, which holds the
	// same rows without the replaced night's deleted tuples that a scan of
	// the current table would wade through, and is read by hash joins; the
	// history night is filled from it too, before the current table is
	// rewritten.
	if staging == cur {
		// The rows are in the current table already (SQLite, see
		// sqliteEngine.publish): only the history night is filled.
		steps = steps[2:]
	}
	night := cur
	if s.d.pg || pl.pub.HistoryOnly {
		night = staging
		steps = []step{
			{"clear history night", fmt.Sprintf("DELETE FROM %s WHERE as_of = %s", hist, s.d.dateP()), []any{asOf}},
			{"fill history night", fmt.Sprintf("INSERT INTO %s (%s) SELECT %s FROM %s", hist, histCols, histCols, staging), nil},
			{"clear current", "DELETE FROM " + cur, nil},
			{"fill current", fmt.Sprintf("INSERT INTO %s (%s) SELECT %s FROM %s", cur, stagingCols, stagingCols, staging), nil},
		}
	}
	if pl.pub.HistoryOnly {
		// A backfill: the current table keeps its later night; history,
		// transitions and metrics read the staging table. SQLite's staging
		// holds the record columns only: the current table's others are
		// added (NULL), as PostgreSQL's and MySQL's staging (LIKE the
		// current table) have them.
		steps = steps[:2]
		if !s.d.pg && !s.d.my {
			var add []step
			for c := range pl.curCols {
				if !slices.Contains(pl.cols, c) {
					add = append(add, step{"staging column " + c, fmt.Sprintf("ALTER TABLE %s ADD COLUMN %s", staging, ident(c)), nil})
				}
			}
			steps = append(add, steps...)
		}
	}
	t0 := time.Now()
	lap := func(what string) {
		s.log.Debug("store: publish step", "step", what, "seconds", time.Since(t0).Seconds())
		t0 = time.Now()
	}
	// The previous history night (transitions) and the cohort night ≤ as_of
	// − 90 days (realized churn of lifecycle_metrics) are both before as_of:
	// the rewrite of the as_of night does not change them.
	var prev, cohort any
	if err := q.queryRow(ctx, fmt.Sprintf("SELECT max(as_of) FROM %s WHERE as_of < %s", hist, s.d.dateP()), asOf).Scan(&prev); err != nil {
		return fmt.Errorf("previous night: %w", err)
	}
	if err := q.queryRow(ctx, fmt.Sprintf("SELECT max(as_of) FROM %s WHERE as_of <= %s", hist, s.d.dateP()),
		s.d.dateArg(pl.pub.AsOf.AddDate(0, 0, -90))).Scan(&cohort); err != nil {
		return fmt.Errorf("cohort night: %w", err)
	}
	var gap int64
	if cohort != nil {
		c, err := asTime(cohort)
		if err != nil {
			return fmt.Errorf("cohort night: %w", err)
		}
		gap = int64(pl.pub.AsOf.Sub(c) / (24 * time.Hour))
	}
	var figures func() pgFigures
	if s.d.pg {
		// Transitions and metrics read only staging and history nights
		// before as_of, which this transaction does not write: a second
		// connection computes them on this transaction's snapshot while this
		// one rewrites the tables, so that both PostgreSQL backends work.
		var snap string
		if err := q.queryRow(ctx, "SELECT pg_export_snapshot()").Scan(&snap); err != nil {
			return fmt.Errorf("export snapshot: %w", err)
		}
		pe := s.eng.(*pgEngine)
		var fig pgFigures
		done := make(chan struct{})
		figures = func() pgFigures { <-done; return fig }
		fctx, cancel := context.WithCancel(ctx)
		defer func() {
			cancel()
			<-done // never leave the reader behind the transaction
		}()
		go func() {
			defer close(done)
			out, err := pe.readAt(fctx, snap, []string{
				transitionsSQL(s.d, hist, night),
				metricsSQL(s.d, hist, night, pl.curCols["predicted_clv_12m"], pl.subMetrics),
			}, [][]any{{prev}, {gap, cohort}})
			fig.err = err
			if err == nil {
				fig.transitions, fig.metrics = out[0], out[1]
			}
		}()
	}
	for _, st := range steps {
		if _, err := q.exec(ctx, st.q, st.args...); err != nil {
			return fmt.Errorf("%s: %w", st.what, err)
		}
		lap(st.what)
	}
	if testHook != nil {
		testHook("swapping")
	}
	if s.d.pg {
		if err := s.pgInsertFigures(ctx, q, asOf, figures, lap); err != nil {
			return err
		}
		if err := s.recomputeLater(ctx, q, pl, lap); err != nil {
			return err
		}
		return s.swapAlerts(ctx, q, pl, lap)
	}

	// stage_transitions against the previous history night.
	if _, err := q.exec(ctx, fmt.Sprintf("DELETE FROM %s WHERE target_table = ? AND as_of = %s", s.d.tbl(tTransitions), s.d.dateP()),
		s.table, asOf); err != nil {
		return fmt.Errorf("clear transitions: %w", err)
	}
	if _, err := q.exec(ctx, transitionsSQL(s.d, hist, night), s.table, asOf, prev, prev); err != nil {
		return fmt.Errorf("transitions: %w", err)
	}
	lap("transitions")
	if _, err := q.exec(ctx, fmt.Sprintf("DELETE FROM %s WHERE target_table = ? AND as_of = %s", s.d.tbl(tMetrics), s.d.dateP()),
		s.table, asOf); err != nil {
		return fmt.Errorf("clear metrics: %w", err)
	}
	if _, err := q.exec(ctx, metricsSQL(s.d, hist, night, pl.curCols["predicted_clv_12m"], pl.subMetrics), gap, cohort, s.table, asOf); err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	lap("metrics")
	if err := s.recomputeLater(ctx, q, pl, lap); err != nil {
		return err
	}
	return s.swapAlerts(ctx, q, pl, lap)
}

// recomputeLater, after publishing a night D older than the newest history
// night (a backfill, Publication.HistoryOnly, or one that replaced the
// current table with --replace-current), recomputes in the same transaction the figures of later history nights
// that D now precedes: the stage_transitions of the next history night N
// (against D instead of the night before D), and the lifecycle_metrics of
// every history night M whose cohort night (the newest at or before M − 90
// days) is now D, i.e. D + 90 ≤ M < N + 90 (M < ∞ when N does not exist).
// A publication of the newest night has no later nights: one indexed
// look-up.
func (s *store) recomputeLater(ctx context.Context, q querier, pl *plan, lap func(string)) error {
	hist := s.d.tbl(s.hist())
	d := day(pl.pub.AsOf)
	next := func(after time.Time, orEqual bool) (time.Time, error) {
		op := ">"
		if orEqual {
			op = ">="
		}
		var v any
		if err := q.queryRow(ctx, fmt.Sprintf("SELECT min(as_of) FROM %s WHERE as_of %s %s", hist, op, s.d.dateP()),
			s.d.dateArg(after)).Scan(&v); err != nil {
			return time.Time{}, err
		}
		return asTime(v)
	}
	// night is one history night as the table the figures read.
	night := func(t time.Time) string {
		return fmt.Sprintf("(SELECT * FROM %s WHERE as_of = '%s')", hist, t.Format(time.DateOnly))
	}
	clear := func(table string, t time.Time) error {
		_, err := q.exec(ctx, fmt.Sprintf("DELETE FROM %s WHERE target_table = ? AND as_of = %s", s.d.tbl(table), s.d.dateP()),
			s.table, s.d.dateArg(t))
		return err
	}
	n, err := next(d, false)
	if err != nil {
		return fmt.Errorf("backfill: next night: %w", err)
	}
	if n.IsZero() {
		return nil
	}
	if err := clear(tTransitions, n); err != nil {
		return fmt.Errorf("backfill: clear transitions of %s: %w", n.Format(time.DateOnly), err)
	}
	if _, err := q.exec(ctx, transitionsInsertSQL(s.d, hist, night(n)), s.table, s.d.dateArg(n), s.d.dateArg(d), s.d.dateArg(d)); err != nil {
		return fmt.Errorf("backfill: transitions of %s: %w", n.Format(time.DateOnly), err)
	}
	lap("backfill: transitions of the next night")
	end := n.AddDate(0, 0, 90)
	hasCLV := pl.curCols["predicted_clv_12m"]
	for m, err := next(d.AddDate(0, 0, 90), true); ; m, err = next(m, false) {
		if err != nil {
			return fmt.Errorf("backfill: later nights: %w", err)
		}
		if m.IsZero() || !m.Before(end) {
			break
		}
		if err := clear(tMetrics, m); err != nil {
			return fmt.Errorf("backfill: clear metrics of %s: %w", m.Format(time.DateOnly), err)
		}
		gap := int64(m.Sub(d) / (24 * time.Hour))
		if _, err := q.exec(ctx, metricsInsertSQL(s.d, hist, night(m), hasCLV, pl.subMetrics),
			gap, s.d.dateArg(d), s.table, s.d.dateArg(m)); err != nil {
			return fmt.Errorf("backfill: metrics of %s: %w", m.Format(time.DateOnly), err)
		}
		lap("backfill: metrics of " + m.Format(time.DateOnly))
	}
	return nil
}

func (s *store) swapAlerts(ctx context.Context, q querier, pl *plan, lap func(string)) error {
	if !pl.alerts {
		return nil
	}
	if err := s.writeAlerts(ctx, q, pl.pub); err != nil {
		return err
	}
	lap("alerts")
	return nil
}

// pgFigures are the rows of stage_transitions (from_stage, to_stage,
// customers) and lifecycle_metrics (stage, customers, share,
// realized_churn_rate, retention_rate, avg_historic_value,
// avg_predicted_clv) of a night, as PostgreSQL computed them.
type pgFigures struct {
	transitions, metrics [][]any
	err                  error
}

// pgInsertFigures waits for the figures computed beside the swap and
// replaces the night's rows of stage_transitions and lifecycle_metrics.
func (s *store) pgInsertFigures(ctx context.Context, q querier, asOf any, figures func() pgFigures, lap func(string)) error {
	f := figures()
	if f.err != nil {
		return fmt.Errorf("transitions and metrics: %w", f.err)
	}
	lap("transitions and metrics (rest)")
	for _, t := range []string{tTransitions, tMetrics} {
		if _, err := q.exec(ctx, fmt.Sprintf("DELETE FROM %s WHERE target_table = ? AND as_of = %s", s.d.tbl(t), s.d.dateP()),
			s.table, asOf); err != nil {
			return fmt.Errorf("clear %s: %w", t, err)
		}
	}
	for _, r := range f.transitions {
		if _, err := q.exec(ctx, fmt.Sprintf(`INSERT INTO %s (target_table, as_of, from_stage, to_stage, customers)
	VALUES (?, %s, ?, ?, ?)`, s.d.tbl(tTransitions), s.d.dateP()), append([]any{s.table, asOf}, r...)...); err != nil {
			return fmt.Errorf("transitions: %w", err)
		}
	}
	for _, r := range f.metrics {
		cols, marks := "", ""
		if len(r) == 9 { // the subscriber rates (see metricsSQL)
			cols, marks = ", trial_conversion_rate, renewal_rate", ", ?, ?"
		}
		if _, err := q.exec(ctx, fmt.Sprintf(`INSERT INTO %s (target_table, as_of, stage, customers, share, realized_churn_rate,
	retention_rate, avg_historic_value, avg_predicted_clv%s) VALUES (?, %s, ?, ?, ?, ?, ?, ?, ?%s)`, s.d.tbl(tMetrics), cols, s.d.dateP(), marks),
			append([]any{s.table, asOf}, r...)...); err != nil {
			return fmt.Errorf("metrics: %w", err)
		}
	}
	lap("insert transitions and metrics")
	return nil
}

// ---- scanning helpers: SQLite returns TEXT and int64, PostgreSQL typed values ----

func asString(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case []byte:
		return string(x)
	}
	return fmt.Sprint(v)
}

func asInt(v any) int64 {
	switch x := v.(type) {
	case int64:
		return x
	case int32:
		return int64(x)
	case int:
		return int64(x)
	case float64:
		return int64(x)
	case string:
		n, _ := strconv.ParseInt(x, 10, 64)
		return n
	}
	return 0
}

// asTime parses a DATE or instant: time.Time (PostgreSQL) or text (SQLite).
func asTime(v any) (time.Time, error) {
	switch x := v.(type) {
	case nil:
		return time.Time{}, nil
	case time.Time:
		return x.UTC(), nil
	case []byte:
		v = string(x)
	}
	s, ok := v.(string)
	if !ok {
		return time.Time{}, fmt.Errorf("cannot read %T %v as a time", v, v)
	}
	if len(s) == len(time.DateOnly) {
		return time.Parse(time.DateOnly, s)
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	return t.UTC(), err
}

// transitionsSQL inserts the stage migration matrix of the current table
// against the history night given by the 3rd and 4th parameters (the same
// value twice; NULL for none). Parameters: target_table, as_of, prev, prev.
// Both halves join base tables on their primary keys so that SQLite can use
// index look-ups (a FULL JOIN of derived tables is quadratic there).
//
// PostgreSQL gets a SELECT of (from_stage, to_stage, customers) instead,
// whose rows the swap inserts (parameter: prev), with one FULL JOIN of the
// new night with the previous one: a single hash join reads
// each night once. Every new-night row has a customer_id (NOT NULL), so a
// NULL n.customer_id marks a customer who is gone, as a NULL o.customer_id
// marks one who is new.
func transitionsSQL(d dialect, hist, cur string) string {
	if d.pg {
		return fmt.Sprintf(`SELECT f, t, count(*) FROM (
	SELECT CASE WHEN o.customer_id IS NULL THEN 'none' ELSE COALESCE(o.lifecycle_stage, 'unknown') END AS f,
		CASE WHEN n.customer_id IS NULL THEN 'gone' ELSE COALESCE(n.lifecycle_stage, 'unknown') END AS t
	FROM %[2]s n FULL JOIN (SELECT customer_id, lifecycle_stage FROM %[1]s WHERE as_of = %[3]s) o
		ON o.customer_id = n.customer_id
) m GROUP BY f, t`, hist, cur, d.dateP())
	}
	return transitionsInsertSQL(d, hist, cur)
}

// transitionsInsertSQL is the INSERT of transitionsSQL for SQLite, and the
// reference the PostgreSQL SELECT is tested against.
func transitionsInsertSQL(d dialect, hist, cur string) string {
	return fmt.Sprintf(`INSERT INTO %[4]s (target_table, as_of, from_stage, to_stage, customers)
SELECT %[5]s, %[3]s, f, t, count(*) FROM (
	SELECT CASE WHEN o.customer_id IS NULL THEN 'none' ELSE COALESCE(o.lifecycle_stage, 'unknown') END AS f,
		COALESCE(n.lifecycle_stage, 'unknown') AS t
	FROM %[2]s n LEFT JOIN %[1]s o ON o.as_of = %[3]s AND o.customer_id = n.customer_id
	UNION ALL
	SELECT COALESCE(o.lifecycle_stage, 'unknown'), 'gone' FROM %[1]s o
	WHERE o.as_of = %[3]s AND NOT EXISTS (SELECT 1 FROM %[2]s n WHERE n.customer_id = o.customer_id)
) m GROUP BY f, t`, hist, cur, d.dateP(), d.tbl(tTransitions), d.textP())
}

// metricsSQL inserts lifecycle_metrics of the current table. Parameters: gap
// (days between as_of and the cohort night), cohort night (NULL for none),
// target_table, as_of. hasCLV is false on a database still at migration v1;
// hasSubs says that the prediction tables have the subscription columns (v8)
// and lifecycle_metrics the subscriber rates (v9).
//
// A cohort customer has churned by the rule of its setting in the cohort
// night: a buyer when it has not bought since (days_since_last_purchase ≥
// gap), a subscriber (subscription_status set) when tonight's status is
// cancelled, expired or trial_expired. trial_conversion_rate is over the
// cohort's trial and trial_expired subscribers (paid since: active, cancelled
// or expired tonight), renewal_rate over its active subscribers whose
// renewal_date fell on or before tonight (renewed: active tonight with a
// later renewal_date).
//
// PostgreSQL gets a SELECT of the metrics columns from stage on instead
// (parameters: gap, cohort night), with the values cast to the columns'
// type as the INSERT would; it reads the new night once for the per-stage
// and overall figures (GROUPING SETS; the empty set is the 'all' row and the
// total) and once more in the hash join with the cohort night.
func metricsSQL(d dialect, hist, cur string, hasCLV, hasSubs bool) string {
	real := d.typ(kReal)
	clv := "predicted_clv_12m"
	if !hasCLV {
		clv = "CAST(NULL AS " + real + ")"
	}
	if d.pg {
		subCols, subAgg, subOut := "", "", ""
		if hasSubs {
			subCols, subAgg, subOut = ",\n\t"+cohortSubscriberCols, ", avg(converted) AS conv, avg(renewed) AS ren",
				", CAST(ch.conv AS "+real+"), CAST(ch.ren AS "+real+")"
		}
		return fmt.Sprintf(`WITH coh AS (SELECT COALESCE(o.lifecycle_stage, 'unknown') AS stage,
	%[6]s AS churned%[7]s
	FROM %[1]s o JOIN %[2]s n ON n.customer_id = o.customer_id WHERE o.as_of = %[3]s),
per AS (SELECT CASE WHEN GROUPING(s) = 1 THEN 'all' ELSE s END AS stage, count(*) AS customers, avg(hv) AS ahv, avg(clv) AS aclv
	FROM (SELECT COALESCE(lifecycle_stage, 'unknown') AS s, historic_value AS hv, %[5]s AS clv FROM %[2]s) x
	GROUP BY GROUPING SETS ((s), ())),
ch AS (SELECT CASE WHEN GROUPING(stage) = 1 THEN 'all' ELSE stage END AS stage, avg(churned) AS rate%[8]s
	FROM coh GROUP BY GROUPING SETS ((stage), ())),
tot AS (SELECT customers AS total FROM per WHERE stage = 'all')
SELECT per.stage, per.customers, CAST(per.customers AS %[4]s) / tot.total, CAST(ch.rate AS %[4]s),
	CAST(1.0 - ch.rate AS %[4]s), per.ahv, per.aclv%[9]s
FROM per CROSS JOIN tot LEFT JOIN ch ON ch.stage = per.stage`, hist, cur, d.dateP(), real, clv, churnedExpr(hasSubs), subCols, subAgg, subOut)
	}
	return metricsInsertSQL(d, hist, cur, hasCLV, hasSubs)
}

// churnedExpr is a cohort customer's churned flag (see metricsSQL); the
// first parameter is the gap in days.
func churnedExpr(hasSubs bool) string {
	buyer := "CASE WHEN n.days_since_last_purchase IS NULL OR n.days_since_last_purchase >= ? THEN 1.0 ELSE 0.0 END"
	if !hasSubs {
		return buyer
	}
	return "CASE WHEN o.subscription_status IS NULL THEN " + buyer +
		" WHEN n.subscription_status IN ('cancelled', 'expired', 'trial_expired') THEN 1.0 ELSE 0.0 END"
}

// cohortSubscriberCols are the converted and renewed flags of a cohort
// customer (NULL when the customer does not count; see metricsSQL).
const cohortSubscriberCols = `CASE WHEN o.subscription_status IN ('trial', 'trial_expired') THEN
		CASE WHEN n.subscription_status IN ('active', 'cancelled', 'expired') THEN 1.0 ELSE 0.0 END END AS converted,
	CASE WHEN o.subscription_status = 'active' AND o.renewal_date <= n.as_of THEN
		CASE WHEN n.subscription_status = 'active' AND n.renewal_date > o.renewal_date THEN 1.0 ELSE 0.0 END END AS renewed`

// metricsInsertSQL is the INSERT of metricsSQL for SQLite, and the reference
// the PostgreSQL SELECT is tested against.
func metricsInsertSQL(d dialect, hist, cur string, hasCLV, hasSubs bool) string {
	real := d.typ(kReal)
	clv := "predicted_clv_12m"
	if !hasCLV {
		clv = "CAST(NULL AS " + real + ")"
	}
	subCols, subAgg, subAll, subIns, subSel := "", "", "", "", ""
	if hasSubs {
		subCols = ",\n\t" + cohortSubscriberCols
		subAgg, subAll = ", avg(converted) AS conv, avg(renewed) AS ren", ", avg(converted), avg(renewed)"
		subIns, subSel = ", trial_conversion_rate, renewal_rate", ", ch.conv, ch.ren"
	}
	with := `WITH coh AS (SELECT COALESCE(o.lifecycle_stage, 'unknown') AS stage,
	` + churnedExpr(hasSubs) + ` AS churned` + subCols + `
	FROM %[1]s o JOIN %[2]s n ON n.customer_id = o.customer_id WHERE o.as_of = %[3]s),
per AS (SELECT COALESCE(lifecycle_stage, 'unknown') AS stage, count(*) AS customers, avg(historic_value) AS ahv,
	avg(%[7]s) AS aclv FROM %[2]s cn GROUP BY COALESCE(lifecycle_stage, 'unknown')
	UNION ALL SELECT 'all', count(*), avg(historic_value), avg(%[7]s) FROM %[2]s cn),
ch AS (SELECT stage, avg(churned) AS rate` + subAgg + ` FROM coh GROUP BY stage UNION ALL SELECT 'all', avg(churned)` + subAll + ` FROM coh),
tot AS (SELECT count(*) AS total FROM %[2]s cn)
`
	insert := `INSERT INTO %[4]s (target_table, as_of, stage, customers, share, realized_churn_rate, retention_rate, avg_historic_value, avg_predicted_clv` + subIns + `)
`
	sel := `SELECT %[5]s, %[3]s, per.stage, per.customers, CAST(per.customers AS %[6]s) / tot.total, ch.rate, 1.0 - ch.rate, per.ahv, per.aclv` + subSel + `
FROM per CROSS JOIN tot LEFT JOIN ch ON ch.stage = per.stage`
	q := with + insert + sel
	if d.my {
		// MariaDB takes the WITH after INSERT INTO; 1e0 and 0e0 are DOUBLE
		// literals (1.0 is DECIMAL, whose avg MySQL rounds to 4 more digits).
		q = insert + strings.NewReplacer("1.0 ELSE 0.0", "1e0 ELSE 0e0").Replace(with) +
			strings.Replace(sel, "1.0 - ch.rate", "1e0 - ch.rate", 1)
	}
	return fmt.Sprintf(q, hist, cur, d.dateP(), d.tbl(tMetrics), d.textP(), real, clv)
}
