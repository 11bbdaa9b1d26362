package store

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

func openPostgres(ctx context.Context, dsn string, opt Options) (Store, error) {
	red := RedactDSN(dsn)
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// pgx error messages may quote the DSN: do not wrap err.
		return nil, fmt.Errorf("%w: %s: invalid PostgreSQL DSN", ErrUnsupportedDSN, red)
	}
	pathSchema, pathSource, err := pgSearchPath(cfg.ConnConfig.RuntimeParams)
	if err != nil {
		return nil, err
	}
	if opt.Schema, opt.Table, err = resolveTarget("postgres", opt, pathSchema, pathSource, "public"); err != nil {
		return nil, err
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", red, err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("store: open %s: %w", red, err)
	}
	target := opt.Schema + "." + opt.Table
	s := &store{
		d:      dialect{pg: true, schema: opt.Schema},
		table:  opt.Table,
		target: target,
		log:    opt.Logger.With("sink", red),
	}
	s.eng = &pgEngine{pp: pool, d: s.d, table: opt.Table, lockKey: lockKey("table:" + target),
		migrateKey: lockKey("migrate:" + opt.Schema)}
	s.log.Debug("store: opened")
	return s, nil
}

// lockKey hashes a name to a PostgreSQL advisory lock key (FNV-1a, 64 bit).
func lockKey(name string) int64 {
	h := fnv.New64a()
	h.Write([]byte("churnpipe/store:" + name))
	return int64(h.Sum64())
}

type pgEngine struct {
	pp         *pgxpool.Pool
	d          dialect
	table      string
	lockKey    int64
	migrateKey int64
}

// pgQ adapts pgx (pool, connection or transaction), rebinding "?" to $n.
type pgQ struct {
	db interface {
		Exec(ctx context.Context, q string, args ...any) (pgconn.CommandTag, error)
		QueryRow(ctx context.Context, q string, args ...any) pgx.Row
	}
}

func (q pgQ) exec(ctx context.Context, s string, args ...any) (int64, error) {
	tag, err := q.db.Exec(ctx, rebind(s), args...)
	return tag.RowsAffected(), err
}

func (q pgQ) queryRow(ctx context.Context, s string, args ...any) rowScanner {
	return q.db.QueryRow(ctx, rebind(s), args...)
}

func (e *pgEngine) pool() querier { return pgQ{e.pp} }

func (e *pgEngine) inTx(ctx context.Context, migration bool, f func(q querier) error) error {
	return pgx.BeginFunc(ctx, e.pp, func(tx pgx.Tx) error {
		if migration {
			if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", e.migrateKey); err != nil {
				return err
			}
		}
		return f(pgQ{tx})
	})
}

func (e *pgEngine) columns(ctx context.Context, table string) ([]column, error) {
	rows, err := e.pp.Query(ctx, `SELECT column_name::text, data_type::text FROM information_schema.columns
	WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position`, e.d.schema, table)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (column, error) {
		var c column
		err := r.Scan(&c.name, &c.typ)
		return c, err
	})
}

// copySource streams a plan's rows to CopyFrom.
type copySource struct {
	pl   *plan
	r, i int
	row  []any
}

func (c *copySource) Next() bool {
	for c.r < len(c.pl.pub.Records) {
		if c.i < int(c.pl.pub.Records[c.r].NumRows()) {
			c.pl.values(c.r, c.i, c.row)
			c.i++
			return true
		}
		c.r, c.i = c.r+1, 0
	}
	return false
}

func (c *copySource) Values() ([]any, error) { return c.row, nil }
func (c *copySource) Err() error             { return nil }

func (e *pgEngine) publish(ctx context.Context, pl *plan, swap func(ctx context.Context, q querier, staging string) error) error {
	stagingName := e.table + "_staging"
	staging := e.d.tbl(stagingName)
	for _, q := range []string{
		"DROP TABLE IF EXISTS " + staging,
		// Autovacuum has nothing to do on staging, which lives a few
		// seconds, and would only compete with the swap for the CPU.
		fmt.Sprintf("CREATE UNLOGGED TABLE %s (LIKE %s INCLUDING DEFAULTS) WITH (autovacuum_enabled = false)", staging, e.d.tbl(e.table)),
	} {
		if _, err := e.pp.Exec(ctx, q); err != nil {
			return fmt.Errorf("staging: %w", err)
		}
	}
	defer e.pp.Exec(context.WithoutCancel(ctx), "DROP TABLE IF EXISTS "+staging)
	n, err := e.pp.CopyFrom(ctx, pgx.Identifier{e.d.schema, stagingName}, pl.cols,
		&copySource{pl: pl, row: make([]any, len(pl.cols))})
	if err != nil {
		return fmt.Errorf("staging copy: %w", err)
	}
	if n != pl.rows {
		return fmt.Errorf("staging copy: copied %d rows, want %d", n, pl.rows)
	}
	// No ANALYZE of staging (0.15–0.2 s per million rows): the planner
	// takes a never-analyzed table's row count from its pages, and with no
	// index on staging the swap's joins with a history night are hash joins
	// (measured plans identical with and without the statistics).
	if testHook != nil {
		testHook("staged")
	}
	return pgx.BeginFunc(ctx, e.pp, func(tx pgx.Tx) error {
		return swap(ctx, pgQ{tx}, staging)
	})
}

// readAt runs read-only queries in a REPEATABLE READ transaction of its own
// on snapshot, one exported by the publish transaction (pg_export_snapshot),
// and returns each query's rows. It runs them serially (no parallel
// workers: the publish transaction uses the other core, and float sums keep
// their table order). It opens a connection of its own rather than taking
// one from the pool, which the publish transaction and a TryLock may have
// drained (pool_max_conns=2).
func (e *pgEngine) readAt(ctx context.Context, snapshot string, queries []string, args [][]any) ([][][]any, error) {
	conn, err := pgx.ConnectConfig(ctx, e.pp.Config().ConnConfig.Copy())
	if err != nil {
		return nil, fmt.Errorf("second connection: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var out [][][]any
	err = pgx.BeginTxFunc(ctx, conn, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		for _, q := range []string{
			"SET TRANSACTION SNAPSHOT '" + strings.ReplaceAll(snapshot, "'", "''") + "'",
			"SET LOCAL work_mem = '128MB'",
			"SET LOCAL max_parallel_workers_per_gather = 0",
		} {
			if _, err := tx.Exec(ctx, q); err != nil {
				return fmt.Errorf("%s: %w", q, err)
			}
		}
		for i, q := range queries {
			rows, err := tx.Query(ctx, rebind(q), args[i]...)
			if err != nil {
				return err
			}
			vals, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) ([]any, error) { return r.Values() })
			if err != nil {
				return err
			}
			out = append(out, vals)
		}
		return nil
	})
	return out, err
}

func (e *pgEngine) tryLock(ctx context.Context) (func() error, error) {
	conn, err := e.pp.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: lock: %w", err)
	}
	var ok bool
	if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1)", e.lockKey).Scan(&ok); err != nil {
		conn.Release()
		return nil, fmt.Errorf("store: lock: %w", err)
	}
	if !ok {
		conn.Release()
		return nil, fmt.Errorf("%w: %s.%s (PostgreSQL advisory lock %d)", ErrLocked, e.d.schema, e.table, e.lockKey)
	}
	return func() error {
		defer conn.Release()
		var unlocked bool
		err := conn.QueryRow(context.Background(), "SELECT pg_advisory_unlock($1)", e.lockKey).Scan(&unlocked)
		if err == nil && !unlocked {
			err = errors.New("advisory lock was not held")
		}
		if err != nil {
			// Never return a connection that may still hold the lock to the pool.
			_ = conn.Conn().Close(context.Background())
			return fmt.Errorf("store: unlock: %w", err)
		}
		return nil
	}, nil
}

func (e *pgEngine) close() error {
	e.pp.Close()
	return nil
}

func isPgNoRows(err error) bool { return errors.Is(err, pgx.ErrNoRows) }

func isPgUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23505"
}
