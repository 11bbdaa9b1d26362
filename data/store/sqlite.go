package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"modernc.org/sqlite"
)

// sqliteBusyMS is the busy timeout of every SQLite connection.
const sqliteBusyMS = 30_000

// sqliteDSN builds the modernc.org/sqlite DSN of a file: a URI (so any path
// works) in WAL mode with a busy timeout.
func sqliteDSN(path string) string {
	u := url.URL{Path: path}
	return "file:" + u.EscapedPath() + fmt.Sprintf("?_busy_timeout=%d&_journal_mode=WAL&_pragma=cache_size(-65536)", sqliteBusyMS)
}

func openSQLite(ctx context.Context, path string, opt Options) (Store, error) {
	if path == "" {
		return nil, fmt.Errorf("%w: empty SQLite path", ErrUnsupportedDSN)
	}
	if strings.HasPrefix(strings.ToLower(path), "file:") {
		return nil, fmt.Errorf("%w: sqlite:%s: give a plain file path (sqlite:/var/lib/churnpipe/p.db), not a file: URI with options", ErrUnsupportedDSN, path)
	}
	if strings.Contains(opt.Table, ".") {
		return nil, fmt.Errorf("%w: table %q: SQLite has no schemas, give the table name without a dot", ErrInvalidTarget, opt.Table)
	}
	dir := filepath.Dir(path)
	if fi, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("%w: sqlite:%s: folder %s: %w (churnpipe creates the database file, not its folder)", ErrUnsupportedDSN, path, dir, err)
	} else if !fi.IsDir() {
		return nil, fmt.Errorf("%w: sqlite:%s: %s is not a folder", ErrUnsupportedDSN, path, dir)
	}
	fi, statErr := os.Stat(path)
	if statErr == nil && fi.IsDir() {
		return nil, fmt.Errorf("%w: sqlite:%s is a folder, not a database file", ErrUnsupportedDSN, path)
	}
	dsn := sqliteDSN(path)
	if opt.ReadOnly {
		if errors.Is(statErr, os.ErrNotExist) {
			return nil, fmt.Errorf("%w: sqlite:%s", ErrNoDatabase, path)
		}
		u := url.URL{Path: path}
		dsn = "file:" + u.EscapedPath() + fmt.Sprintf("?mode=ro&_busy_timeout=%d", sqliteBusyMS)
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("store: open sqlite %s: %w", path, err)
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: open sqlite %s: %w", path, err)
	}
	db.SetMaxIdleConns(4)
	s := &store{
		d:      dialect{},
		eng:    &sqliteEngine{db: db, path: path},
		table:  opt.Table,
		target: opt.Table,
		log:    opt.Logger.With("sink", "sqlite:"+path),
	}
	s.log.Debug("store: opened")
	return s, nil
}

type sqliteEngine struct {
	db   *sql.DB
	path string
}

// sqlQ adapts database/sql (a *sql.DB or a pinned *sql.Conn).
type sqlQ struct {
	db interface {
		ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error)
		QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
	}
}

func (q sqlQ) exec(ctx context.Context, s string, args ...any) (int64, error) {
	r, err := q.db.ExecContext(ctx, s, args...)
	if err != nil {
		return 0, err
	}
	return r.RowsAffected()
}

func (q sqlQ) queryRow(ctx context.Context, s string, args ...any) rowScanner {
	return q.db.QueryRowContext(ctx, s, args...)
}

func (e *sqliteEngine) pool() querier { return sqlQ{e.db} }

// immediateTx runs f between BEGIN IMMEDIATE and COMMIT on conn, rolling back
// on error. The rollback runs even when ctx is cancelled.
// connTx runs f inside a transaction started with begin on one connection
// (database/sql engines: SQLite and MySQL), handing it q to query with, and
// rolls back when f or the commit fails.
func connTx(ctx context.Context, conn *sql.Conn, begin string, q querier, f func(q querier) error) (err error) {
	if _, err := conn.ExecContext(ctx, begin); err != nil {
		return err
	}
	defer func() {
		if err != nil {
			if _, rbErr := conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK"); rbErr != nil {
				err = errors.Join(err, fmt.Errorf("rollback: %w", rbErr))
			}
		}
	}()
	if err := f(q); err != nil {
		return err
	}
	_, err = conn.ExecContext(ctx, "COMMIT")
	return err
}

func immediateTx(ctx context.Context, conn *sql.Conn, begin string, f func(q querier) error) error {
	return connTx(ctx, conn, begin, sqlQ{conn}, f)
}

func (e *sqliteEngine) inTx(ctx context.Context, _ bool, f func(q querier) error) error {
	conn, err := e.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return immediateTx(ctx, conn, "BEGIN IMMEDIATE", f)
}

func (e *sqliteEngine) columns(ctx context.Context, table string) ([]column, error) {
	rows, err := e.db.QueryContext(ctx, "SELECT name, lower(type) FROM pragma_table_info(?)", table)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []column
	for rows.Next() {
		var c column
		if err := rows.Scan(&c.name, &c.typ); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// sqliteMaxVars bounds the parameters of one multi-row INSERT (SQLite's
// default SQLITE_MAX_VARIABLE_NUMBER is 32766).
const sqliteMaxVars = 30_000

func (e *sqliteEngine) publish(ctx context.Context, pl *plan, swap func(ctx context.Context, q querier, staging string) error) error {
	// TEMP tables live per connection: pin one for staging and swap.
	conn, err := e.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if !pl.pub.HistoryOnly {
		// The night replaces the current table: write its rows straight into
		// it inside the swap transaction. Readers keep the previous night (WAL
		// snapshot) until the commit, a failure rolls everything back, and
		// the rows are written once instead of into a staging table first
		// and then copied (tier M: the copy was 4.7 of the publish's 20 s).
		cols := make([]string, len(pl.cols))
		for i, c := range pl.cols {
			cols[i] = ident(c)
		}
		return immediateTx(ctx, conn, "BEGIN IMMEDIATE", func(q querier) error {
			if _, err := q.exec(ctx, "DELETE FROM "+pl.current); err != nil {
				return fmt.Errorf("clear current: %w", err)
			}
			if err := e.stage(ctx, conn, pl.current, cols, pl); err != nil {
				return fmt.Errorf("staging: %w", err)
			}
			if testHook != nil {
				testHook("staged")
			}
			return swap(ctx, q, pl.current)
		})
	}
	const stagingName = "churnpipe_staging"
	staging := "temp." + ident(stagingName)
	cols := make([]string, len(pl.cols))
	for i, c := range pl.cols {
		cols[i] = ident(c)
	}
	// Untyped staging columns keep values as bound; the current table's
	// column affinities apply on INSERT … SELECT.
	for _, q := range []string{
		"DROP TABLE IF EXISTS " + staging,
		fmt.Sprintf("CREATE TEMP TABLE %s (%s)", ident(stagingName), strings.Join(cols, ", ")),
	} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("staging: %w", err)
		}
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), "DROP TABLE IF EXISTS "+staging)

	err = immediateTx(ctx, conn, "BEGIN", func(querier) error {
		return e.stage(ctx, conn, staging, cols, pl)
	})
	if err != nil {
		return fmt.Errorf("staging: %w", err)
	}
	if testHook != nil {
		testHook("staged")
	}
	return immediateTx(ctx, conn, "BEGIN IMMEDIATE", func(q querier) error {
		return swap(ctx, q, staging)
	})
}

// stage inserts all rows of pl with prepared multi-row INSERT statements.
func (e *sqliteEngine) stage(ctx context.Context, conn *sql.Conn, staging string, cols []string, pl *plan) error {
	return stageInserts(ctx, staging, cols, pl, min(sqliteMaxVars/len(cols), 256), conn.PrepareContext)
}

// stageInserts inserts all rows of pl into staging with prepared INSERT
// statements of batch rows each and one statement for the remainder
// (SQLite and MySQL; PostgreSQL uses COPY).
func stageInserts(ctx context.Context, staging string, cols []string, pl *plan, batch int,
	prepare func(ctx context.Context, q string) (*sql.Stmt, error)) error {
	ncol := len(cols)
	one := "(" + strings.TrimSuffix(strings.Repeat("?, ", ncol), ", ") + ")"
	insert := func(n int) (*sql.Stmt, error) {
		return prepare(ctx, fmt.Sprintf("INSERT INTO %s (%s) VALUES %s", staging, strings.Join(cols, ", "),
			strings.TrimSuffix(strings.Repeat(one+", ", n), ", ")))
	}
	var big *sql.Stmt
	if pl.rows >= int64(batch) {
		var err error
		if big, err = insert(batch); err != nil {
			return err
		}
		defer big.Close()
	}
	args := make([]any, 0, batch*ncol)
	row := make([]any, ncol)
	for r, rec := range pl.pub.Records {
		for i := 0; i < int(rec.NumRows()); i++ {
			pl.values(r, i, row)
			args = append(args, row...)
			if len(args) == cap(args) {
				if _, err := big.ExecContext(ctx, args...); err != nil {
					return err
				}
				args = args[:0]
			}
		}
	}
	if len(args) == 0 {
		return nil
	}
	rest, err := insert(len(args) / ncol)
	if err != nil {
		return err
	}
	defer rest.Close()
	_, err = rest.ExecContext(ctx, args...)
	return err
}

func (e *sqliteEngine) tryLock(context.Context) (func() error, error) {
	return flock(e.path + ".lock")
}

func (e *sqliteEngine) close() error { return e.db.Close() }

func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) || isPgNoRows(err) }

// isUniqueViolation reports a primary-key/unique violation of either engine.
func isUniqueViolation(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() == 1555 || se.Code() == 2067 // SQLITE_CONSTRAINT_PRIMARYKEY, _UNIQUE
	}
	return isPgUniqueViolation(err) || isMyUniqueViolation(err)
}
