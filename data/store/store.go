package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"syscall"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"

	"github.com/churnpipe/churnpipe/internal/redact"
)

// Sentinel errors. Errors returned by this package wrap them; test with errors.Is.
var (
	// ErrLocked: TryLock found another run holding the target table's lock.
	ErrLocked = errors.New("store: target table is locked by another run")
	// ErrUnknownColumn: a record column has no column of that name in the table.
	ErrUnknownColumn = errors.New("store: unknown column")
	// ErrUnsupportedDSN: Open does not know the DSN's scheme.
	ErrUnsupportedDSN = errors.New("store: unsupported DSN")
	// ErrColumnType: a record column's Arrow type cannot be stored in the
	// table column of the same name (PostgreSQL only; SQLite is dynamically typed).
	ErrColumnType = errors.New("store: column type mismatch")
	// ErrDuplicateCustomer: a publication holds the same customer_id twice.
	ErrDuplicateCustomer = errors.New("store: duplicate customer_id in publication")
	// ErrEmptyPublication: a publication without rows would empty the CRM's table.
	ErrEmptyPublication = errors.New("store: empty publication")
	// ErrNotMigrated: the target table does not exist; call Migrate first.
	ErrNotMigrated = errors.New("store: table not migrated")
	// ErrNoDatabase: Options.ReadOnly and the SQLite file does not exist
	// (nothing was published there yet).
	ErrNoDatabase = errors.New("store: no database file")
)

// DefaultTable is the current-night table used when Options.Table is empty.
const DefaultTable = "customer_predictions"

// Run statuses.
const (
	StatusRunning   = "running"
	StatusSucceeded = "succeeded"
	StatusFailed    = "failed"
	StatusBlocked   = "blocked"
	// StatusBackfilled: the run published an older night into history only
	// (Publication.HistoryOnly); the current table holds a later night.
	StatusBackfilled = "backfilled"
)

// Options configures Open.
type Options struct {
	// Table is the current-night table; "" means DefaultTable. The history
	// table is Table+"_history". Identifiers are always quoted, so any
	// characters work, but a dot separates SCHEMA.TABLE (PostgreSQL; MySQL:
	// DATABASE.TABLE; refused by SQLite), and a name PostgreSQL would
	// truncate with a suffix the store appends (over MaxTableBytes, 39
	// bytes; MySQL: 40 characters) is refused (ErrInvalidTarget).
	Table string
	// Schema is the PostgreSQL schema; "" means the schema of a dotted
	// Table, else the first schema of the DSN's search_path (search_path=…
	// or options=-c search_path=…), else "public". For MySQL it is the
	// database holding the tables; "" means the DSN's database. Two of these
	// naming different schemas are refused (ErrInvalidTarget). Migrate
	// creates the schema. Every table of the sink — the ledger and
	// schema_migrations too — lives in it. Ignored by SQLite.
	Schema string
	// ReadOnly: the caller only reads (a dry run). SQLite opens the file
	// read-only and does not create it (a missing file is ErrNoDatabase);
	// PostgreSQL and MySQL connect as usual (Open changes nothing there).
	ReadOnly bool
	// Logger receives progress messages; nil discards them. DSNs are logged
	// through RedactDSN only.
	Logger *slog.Logger
}

// Store is a prediction-table sink. Methods are safe for concurrent use, but
// one process should run one publication at a time per target table (TryLock).
type Store interface {
	// Migrate applies the versioned migrations not yet recorded in
	// schema_migrations. It is idempotent and safe to run concurrently.
	Migrate(ctx context.Context) error
	// Migrated reports whether every migration is applied to the target
	// table (false for a database Migrate never ran on, or one an older
	// churnpipe migrated); it changes nothing.
	Migrated(ctx context.Context) (bool, error)
	// StartRun inserts r into pipeline_runs with status "running", filling
	// r.ID (if empty), r.StartedAt (if zero) and r.Status. If this Store holds
	// the target table's lock (TryLock), runs of the same table left
	// "running" by a dead process are first marked "failed", error "abandoned".
	StartRun(ctx context.Context, r *Run) error
	// FinishRun records r.Status ("succeeded", "backfilled", "failed" or "blocked"),
	// r.FinishedAt (now if zero, filled in), the counts, r.Error and r.Details.
	FinishRun(ctx context.Context, r *Run) error
	// Publish atomically replaces the current night with p and records it in
	// history, stage_transitions and lifecycle_metrics (see the package doc);
	// with p.HistoryOnly it writes the night to history, its transitions,
	// metrics and alerts, and leaves the current table alone.
	Publish(ctx context.Context, p Publication) error
	// PutLabels upserts labels by code into "stage_labels" or "segment_labels".
	PutLabels(ctx context.Context, table string, labels []Label) error
	// LastRun returns the newest run (by started_at) of the target table with
	// the given status ("" = any); ok is false when there is none.
	LastRun(ctx context.Context, status string) (r Run, ok bool, err error)
	// PublishedRun returns the ledger row of the run whose night the
	// current table holds (the last published night); ok is false when
	// nothing was published yet.
	PublishedRun(ctx context.Context) (r Run, ok bool, err error)
	// TryLock takes the target table's run lock without waiting: a
	// PostgreSQL session advisory lock keyed by a hash of schema.table, or a
	// flock(2) on the SQLite file's PATH+".lock", or a MySQL GET_LOCK named
	// after a hash of database.table on a connection set aside for it. If
	// it is held elsewhere the
	// error wraps ErrLocked. release is idempotent; Close releases it too.
	TryLock(ctx context.Context) (release func() error, err error)
	// Close releases the lock (if held) and the connections.
	Close() error
	// PreviousNight returns the newest history night before asOf (the
	// night the change columns of asOf compare with).
	PreviousNight(ctx context.Context, asOf time.Time) (PreviousNight, error)
	// OutcomeNights lists the history nights on or before through without
	// prediction_outcomes rows, newest first; NightRows reads one night's
	// predictions; PutOutcomes replaces a night's prediction_outcomes rows;
	// Outcomes reads them back (decile 0 only unless allDeciles), oldest first.
	OutcomeNights(ctx context.Context, through time.Time) ([]time.Time, error)
	NightRows(ctx context.Context, asOf time.Time) ([]NightRow, error)
	PutOutcomes(ctx context.Context, asOf time.Time, rows []Outcome) error
	Outcomes(ctx context.Context, allDeciles bool) ([]Outcome, error)
	// Alerts reads the customer_alerts rows of a night.
	Alerts(ctx context.Context, asOf time.Time) ([]Alert, error)
}

// Run is one row of pipeline_runs.
type Run struct {
	ID         string
	AsOf       time.Time // a UTC day
	StartedAt  time.Time
	FinishedAt time.Time
	Status     string

	RowsRead, RowsRejected, RowsExcluded, RowsDuplicate, Customers int64
	// RowsIdentical counts rows identical in customer_id, event_time,
	// event_type and amount to an earlier row: kept (lines of one order),
	// counted so that a feed delivered twice shows. RowsDuplicate counts the
	// re-delivered events dropped (same customer_id and event_id).
	RowsIdentical int64

	Error   string
	Details map[string]any // stored as JSON (gates, model version, forced publish…)
}

// Publication is one night of predictions.
type Publication struct {
	RunID string
	AsOf  time.Time // a UTC day; the time of day is ignored
	// Records hold one row per customer. Columns are matched by name to the
	// table's columns; as_of, run_id and updated_at are filled by the store and
	// must not be present. Publish does not retain or release them.
	Records []arrow.RecordBatch
	// Alerts replace the night's rows of customer_alerts in the same
	// transaction (none: the night has no alerts).
	Alerts []Alert
	// Run, if set, is the run publishing the night (started with
	// StartRun): its ledger row is recorded succeeded — with Run's counts,
	// details and finished_at — inside the publishing transaction, so that
	// the newest succeeded run is always the night in the table, whatever
	// interrupts the process around the commit. With HistoryOnly it is
	// recorded backfilled instead.
	Run *Run
	// HistoryOnly publishes a night older than the current table's (a
	// backfill): the history night, its stage_transitions (against the
	// history night before it), lifecycle_metrics and customer_alerts are
	// replaced; the current table keeps its later night. The figures of
	// the later nights it now precedes are recomputed in the same
	// transaction: the next history night's stage_transitions (now against
	// this night) and the lifecycle_metrics of the nights whose cohort night
	// (the newest at or before as_of − 90 days) it now is. Per-customer
	// values of later nights (stage_since, alerts) stay as those nights
	// computed them.
	HistoryOnly bool
}

// Label is one row of stage_labels or segment_labels.
type Label struct{ Code, English, Chinese, Action string }

// Open connects to a sink. dsn is "sqlite:PATH" (or a bare path ending in .db,
// .sqlite or .sqlite3), "postgres://…"/"postgresql://…" or
// "mysql://user:password@host:port/database?param=value" (MySQL/MariaDB). Other schemes
// return an error wrapping ErrUnsupportedDSN. Open checks the connection but
// changes nothing; call Migrate before publishing.
func Open(ctx context.Context, dsn string, opt Options) (Store, error) {
	if opt.Table == "" {
		opt.Table = DefaultTable
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	lower := strings.ToLower(dsn)
	switch {
	case strings.HasPrefix(lower, "postgres://"), strings.HasPrefix(lower, "postgresql://"):
		return openPostgres(ctx, dsn, opt)
	case strings.HasPrefix(lower, "mysql://"), strings.HasPrefix(lower, "mariadb://"):
		return openMySQL(ctx, dsn, opt)
	case strings.HasPrefix(lower, "sqlite://"):
		return openSQLite(ctx, dsn[len("sqlite://"):], opt)
	case strings.HasPrefix(lower, "sqlite:"):
		return openSQLite(ctx, dsn[len("sqlite:"):], opt)
	case strings.HasSuffix(lower, ".db"), strings.HasSuffix(lower, ".sqlite"), strings.HasSuffix(lower, ".sqlite3"):
		if !strings.Contains(dsn, "://") {
			return openSQLite(ctx, dsn, opt)
		}
	}
	return nil, fmt.Errorf("%w: %s (want sqlite:PATH, PATH.db, postgres://… or mysql://…)", ErrUnsupportedDSN, RedactDSN(dsn))
}

// RedactDSN returns dsn with any password replaced by "xxxxx", whatever its
// form: URL userinfo (also with a mistyped scheme), a password query
// parameter, a MySQL driver DSN user:password@tcp(…), or a password=…
// keyword of a PostgreSQL keyword/value string (internal/redact). Use it
// whenever a DSN is logged or shown.
func RedactDSN(dsn string) string { return redact.DSN(dsn) }

// IsTransient reports whether err is worth retrying later with the same
// input: refused/reset/aborted connections and network time-outs, PostgreSQL
// serialization failures, deadlocks, admin/crash shutdowns, connection
// failures and "too many connections", SQLITE_BUSY/SQLITE_LOCKED, and MySQL
// deadlocks, lock wait time-outs, "too many connections" and broken
// connections.
// ErrLocked (another run is active) is not transient.
func IsTransient(err error) bool {
	if err == nil || errors.Is(err, ErrLocked) {
		return false
	}
	for _, e := range []error{syscall.ECONNREFUSED, syscall.ECONNRESET, syscall.ECONNABORTED, syscall.EPIPE} {
		if errors.Is(err, e) {
			return true
		}
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "40001", "40P01", // serialization_failure, deadlock_detected
			"57P01", "57P02", "57P03", // admin_shutdown, crash_shutdown, cannot_connect_now
			"08000", "08003", "08006", "08001", "08004", // connection exceptions
			"53300": // too_many_connections
			return true
		}
		return false
	}
	if isMyTransient(err) {
		return true
	}
	var sqErr *sqlite.Error
	if errors.As(err, &sqErr) {
		switch sqErr.Code() & 0xff {
		case 5, 6: // SQLITE_BUSY, SQLITE_LOCKED
			return true
		}
		return false
	}
	var netErr net.Error
	if errors.As(err, &netErr) && netErr.Timeout() {
		return true
	}
	return pgconn.SafeToRetry(err)
}

// newRunID returns a fresh run identifier: UTC start time and 8 random hex digits.
func newRunID(t time.Time) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return t.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b[:])
}

// day truncates t to its UTC day.
func day(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}
