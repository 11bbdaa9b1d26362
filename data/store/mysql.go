package store

import (
	"github.com/churnpipe/churnpipe/internal/redact"

	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
)

// mysqlBatchRows is the number of rows of one multi-row staging INSERT.
const mysqlBatchRows = 1000

// mysqlConfig turns mysql://user:password@host:port/database?param=value
// into a driver configuration: instants read and written in UTC, DATE and
// DATETIME scanned as time.Time.
func mysqlConfig(dsn string) (*mysql.Config, error) {
	u, err := url.Parse(dsn)
	if err != nil {
		return nil, errors.New("unparseable URL")
	}
	host := u.Host
	if host == "" {
		host = "127.0.0.1:3306"
	} else if u.Port() == "" {
		host += ":3306"
	}
	native := "tcp(" + host + ")/" + strings.TrimPrefix(u.Path, "/")
	if u.RawQuery != "" {
		native += "?" + u.RawQuery
	}
	cfg, err := mysql.ParseDSN(native)
	if err != nil {
		return nil, errors.New("invalid parameters")
	}
	if u.User != nil {
		cfg.User = u.User.Username()
		cfg.Passwd, _ = u.User.Password()
	}
	cfg.ParseTime = true
	cfg.Loc = time.UTC
	if cfg.Params == nil {
		cfg.Params = map[string]string{}
	}
	cfg.Params["time_zone"] = "'+00:00'"
	return cfg, nil
}

func openMySQL(ctx context.Context, dsn string, opt Options) (Store, error) {
	red := RedactDSN(dsn)
	cfg, err := mysqlConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: invalid MySQL DSN: %v", ErrUnsupportedDSN, red, redact.Scrub(err.Error()))
	}
	schema, table, err := resolveTarget("mysql", opt, "", "", cfg.DBName)
	if err != nil {
		return nil, err
	}
	if schema == "" {
		return nil, fmt.Errorf("%w: %s names no database", ErrUnsupportedDSN, red)
	}
	opt.Table = table
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", red, err)
	}
	db := sql.OpenDB(conn)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: open %s: %w", red, err)
	}
	db.SetMaxIdleConns(4)
	db.SetConnMaxIdleTime(5 * time.Minute)
	target := schema + "." + opt.Table
	s := &store{
		d:      dialect{my: true, schema: schema},
		table:  opt.Table,
		target: target,
		log:    opt.Logger.With("sink", red),
	}
	s.eng = &myEngine{db: db, d: s.d, table: opt.Table, lockName: myLockName("table:" + target),
		migrateName: myLockName("migrate:" + schema)}
	s.log.Debug("store: opened")
	return s, nil
}

// myLockName is a GET_LOCK name (at most 64 characters) for name.
func myLockName(name string) string {
	return fmt.Sprintf("churnpipe/store:%016x", uint64(lockKey(name)))
}

type myEngine struct {
	db          *sql.DB
	d           dialect
	table       string
	lockName    string
	migrateName string
}

// myQ adapts database/sql for MySQL, rewriting the "…" identifiers of the
// shared SQL to `…` (myQuote).
type myQ struct{ q sqlQ }

func (q myQ) exec(ctx context.Context, s string, args ...any) (int64, error) {
	return q.q.exec(ctx, myQuote(s), args...)
}

func (q myQ) queryRow(ctx context.Context, s string, args ...any) rowScanner {
	return q.q.queryRow(ctx, myQuote(s), args...)
}

// myQuote rewrites double-quoted identifiers to backtick-quoted ones (a
// doubled " inside becomes ", a ` becomes “) outside string literals, so
// that the SQL shared with SQLite and PostgreSQL runs on MySQL in its default
// sql_mode (without ANSI_QUOTES).
func myQuote(q string) string {
	if !strings.Contains(q, `"`) {
		return q
	}
	var b strings.Builder
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch c {
		case '\'':
			j := i + 1
			for j < len(q) {
				if q[j] == '\\' {
					j += 2
					continue
				}
				if q[j] == '\'' {
					if j+1 < len(q) && q[j+1] == '\'' {
						j += 2
						continue
					}
					break
				}
				j++
			}
			end := min(j+1, len(q))
			b.WriteString(q[i:end])
			i = end - 1
		case '"':
			b.WriteByte('`')
			j := i + 1
			for j < len(q) {
				if q[j] == '"' {
					if j+1 < len(q) && q[j+1] == '"' {
						b.WriteByte('"')
						j += 2
						continue
					}
					break
				}
				if q[j] == '`' {
					b.WriteByte('`')
				}
				b.WriteByte(q[j])
				j++
			}
			b.WriteByte('`')
			i = j
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func (e *myEngine) pool() querier { return myQ{sqlQ{e.db}} }

// myTx runs f between BEGIN and COMMIT on conn, rolling back on error (also
// when ctx is cancelled). DDL commits implicitly in MySQL.
func myTx(ctx context.Context, conn *sql.Conn, f func(q querier) error) error {
	return connTx(ctx, conn, "BEGIN", myQ{sqlQ{conn}}, f)
}

// inTx runs f in a transaction on one connection. Migrations are serialized
// by a named lock (GET_LOCK, waiting up to 60 s) per database, as MySQL DDL
// is not transactional.
func (e *myEngine) inTx(ctx context.Context, migration bool, f func(q querier) error) error {
	conn, err := e.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if migration {
		var got sql.NullInt64
		if err := conn.QueryRowContext(ctx, "SELECT GET_LOCK(?, 60)", e.migrateName).Scan(&got); err != nil {
			return err
		}
		if got.Int64 != 1 {
			return fmt.Errorf("migration lock %s not obtained in 60 s", e.migrateName)
		}
		defer conn.ExecContext(context.WithoutCancel(ctx), "SELECT RELEASE_LOCK(?)", e.migrateName)
	}
	return myTx(ctx, conn, f)
}

func (e *myEngine) columns(ctx context.Context, table string) ([]column, error) {
	rows, err := e.db.QueryContext(ctx, `SELECT column_name, lower(data_type) FROM information_schema.columns
	WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position`, e.d.schema, table)
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

// publish loads pl into a regular InnoDB staging table (CREATE TABLE … LIKE
// the current table, so its primary key rejects a duplicate customer) with
// multi-row INSERTs of mysqlBatchRows rows in one transaction, then runs
// swap in a second transaction on the same connection.
func (e *myEngine) publish(ctx context.Context, pl *plan, swap func(ctx context.Context, q querier, staging string) error) error {
	conn, err := e.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	q := myQ{sqlQ{conn}}
	staging := e.d.tbl(e.table + "_staging")
	for _, s := range []string{
		"DROP TABLE IF EXISTS " + staging,
		fmt.Sprintf("CREATE TABLE %s LIKE %s", staging, e.d.tbl(e.table)),
	} {
		if _, err := q.exec(ctx, s); err != nil {
			return fmt.Errorf("staging: %w", err)
		}
	}
	defer q.exec(context.WithoutCancel(ctx), "DROP TABLE IF EXISTS "+staging)
	cols := make([]string, len(pl.cols))
	for i, c := range pl.cols {
		cols[i] = ident(c)
	}
	err = myTx(ctx, conn, func(querier) error { return e.stage(ctx, conn, staging, cols, pl) })
	if err != nil {
		return fmt.Errorf("staging: %w", err)
	}
	if testHook != nil {
		testHook("staged")
	}
	return myTx(ctx, conn, func(q querier) error { return swap(ctx, q, staging) })
}

// stage inserts all rows of pl with prepared multi-row INSERT statements
// (at most 65,535 placeholders per statement).
func (e *myEngine) stage(ctx context.Context, conn *sql.Conn, staging string, cols []string, pl *plan) error {
	prepare := func(ctx context.Context, q string) (*sql.Stmt, error) { return conn.PrepareContext(ctx, myQuote(q)) }
	return stageInserts(ctx, staging, cols, pl, min(60_000/len(cols), mysqlBatchRows), prepare)
}

// tryLock takes GET_LOCK(name, 0) on a connection set aside for the lock;
// MySQL releases it when that connection ends.
func (e *myEngine) tryLock(ctx context.Context) (func() error, error) {
	conn, err := e.db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: lock: %w", err)
	}
	var got sql.NullInt64
	if err := conn.QueryRowContext(ctx, "SELECT GET_LOCK(?, 0)", e.lockName).Scan(&got); err != nil {
		conn.Close()
		return nil, fmt.Errorf("store: lock: %w", err)
	}
	if got.Int64 != 1 {
		conn.Close()
		return nil, fmt.Errorf("%w: %s.%s (MySQL named lock %s)", ErrLocked, e.d.schema, e.table, e.lockName)
	}
	return func() error {
		var rel sql.NullInt64
		err := conn.QueryRowContext(context.Background(), "SELECT RELEASE_LOCK(?)", e.lockName).Scan(&rel)
		if err == nil && rel.Int64 != 1 {
			err = errors.New("named lock was not held")
		}
		if err != nil {
			// Never return a connection that may still hold the lock to the pool.
			_ = conn.Raw(func(any) error { return driver.ErrBadConn })
			conn.Close()
			return fmt.Errorf("store: unlock: %w", err)
		}
		return conn.Close()
	}, nil
}

func (e *myEngine) close() error { return e.db.Close() }

// isMyTransient reports MySQL errors worth retrying: deadlock (1213), lock
// wait time-out (1205), too many connections (1040, 1203), server shutdown
// (1053), and broken connections.
func isMyTransient(err error) bool {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		switch me.Number {
		case 1213, 1205, 1040, 1203, 1053:
			return true
		}
		return false
	}
	return errors.Is(err, mysql.ErrInvalidConn) || errors.Is(err, driver.ErrBadConn)
}

func isMyUniqueViolation(err error) bool {
	var me *mysql.MySQLError
	return errors.As(err, &me) && me.Number == 1062
}
