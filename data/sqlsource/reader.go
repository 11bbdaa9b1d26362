package sqlsource

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/churnpipe/churnpipe/data"
	"github.com/churnpipe/churnpipe/data/store"
)

// Options configures Open.
type Options struct {
	// Table is the table or view to read, "table" or "schema.table"; each
	// part is taken exactly as written, or double-quoted SQL-style. Exactly
	// one of Table and Query must be set.
	Table string
	// Query is a complete SELECT (one statement, no parameters) whose result
	// columns are found by name.
	Query string
	// Map maps canonical column → source column name, like data.Options.Map.
	Map map[string]string
	// TimeLayout is the Go time layout of an event_time column of text type;
	// "" accepts RFC 3339 or 2006-01-02 (see data.ParseTime). Typed
	// timestamp and date columns ignore it.
	TimeLayout string
	// BatchSize is the number of rows per record batch; 0 means
	// data.DefaultBatchSize (65536).
	BatchSize int
	// Alloc allocates the records; nil means memory.DefaultAllocator.
	Alloc memory.Allocator
	// Quarantine receives the bad rows (File "postgres:<table or query>",
	// Line the 1-based row number in the result), which are counted and
	// skipped; nil means the first bad row stops the Reader and Err returns
	// it as a *data.ParseError.
	Quarantine *data.Quarantine
}

// Reader streams the rows of one PostgreSQL table or query as arrow.Record
// batches with the schema data.EventSchemaOf the optional columns
// (event_id, subscription_id, period_end) the result has. It satisfies the pipeline's
// Source interface. A Reader is not safe for concurrent use.
type Reader struct {
	opt   Options
	label string // "postgres:<table>" or "postgres:query"
	alloc memory.Allocator
	batch int

	conn   *pgx.Conn
	tx     pgx.Tx
	rows   pgx.Rows
	cancel context.CancelFunc

	col   [data.NumCanonical]int // result column of each canonical column; -1 when absent
	kinds [data.NumCanonical]kind
	oids  [data.NumCanonical]uint32
	line  int64 // 1-based number of the last row read

	b   *array.RecordBuilder
	idB *array.StringBuilder
	tmB *array.TimestampBuilder
	tyB *array.StringBuilder
	amB *array.Float64Builder
	evB *array.StringBuilder    // event_id; nil when the result has none
	sbB *array.StringBuilder    // subscription_id; nil when the result has none
	peB *array.TimestampBuilder // period_end; nil when the result has none

	idBuf [data.NumCanonical][]byte // text of a non-text id, per id column (the views of one row must not overlap)
	amBuf []byte                    // text of a numeric amount
	rec   arrow.RecordBatch
	err   error
	stats data.Stats
	done  bool
	relsd bool
}

// Open connects to the PostgreSQL database at dsn ("postgres://…" or
// "postgresql://…", any pgx connection URL), opens a READ ONLY transaction,
// checks the columns of opt.Table or opt.Query and starts streaming its
// rows; nothing is read before the first Next. Errors name the source and
// show the DSN without its password: an unsupported scheme (mysql://…) wraps
// data.ErrUnsupported; a missing or mistyped column wraps
// data.ErrMissingColumn (data.ErrColumnType for a type). ctx governs the
// whole read: cancelling it makes Next fail. The caller must Release the
// Reader.
func Open(ctx context.Context, dsn string, opt Options) (*Reader, error) {
	red := store.RedactDSN(dsn)
	if (opt.Table == "") == (opt.Query == "") {
		return nil, fmt.Errorf("sqlsource: open %s: set exactly one of Table and Query", red)
	}
	if opt.BatchSize < 0 {
		return nil, fmt.Errorf("sqlsource: open %s: negative BatchSize %d", red, opt.BatchSize)
	}
	lower := strings.ToLower(dsn)
	switch {
	case strings.HasPrefix(lower, "postgres://"), strings.HasPrefix(lower, "postgresql://"):
	case strings.HasPrefix(lower, "mysql://"), strings.HasPrefix(lower, "mariadb://"):
		return nil, fmt.Errorf("sqlsource: open %s: %w: MySQL/MariaDB sources are not implemented (want postgres://…)", red, data.ErrUnsupported)
	default:
		return nil, fmt.Errorf("sqlsource: open %s: %w: want a postgres:// or postgresql:// URL", red, data.ErrUnsupported)
	}
	r := &Reader{opt: opt, alloc: opt.Alloc, batch: opt.BatchSize}
	if r.alloc == nil {
		r.alloc = memory.DefaultAllocator
	}
	if r.batch == 0 {
		r.batch = data.DefaultBatchSize
	}
	var table pgx.Identifier
	if opt.Table != "" {
		r.label = "postgres:" + opt.Table
		var err error
		if table, err = parseTable(opt.Table); err != nil {
			return nil, fmt.Errorf("sqlsource: open %s: %w", red, err)
		}
	} else {
		r.label = "postgres:query"
	}

	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		// pgx's message may quote the DSN, password included: do not wrap it.
		return nil, fmt.Errorf("sqlsource: open %s: invalid PostgreSQL DSN", red)
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("sqlsource: open %s: %w", red, err)
	}
	r.conn = conn
	if err := r.start(ctx, table); err != nil {
		r.abort()
		return nil, fmt.Errorf("sqlsource: open %s (%s): %w", r.label, red, err)
	}

	r.b = array.NewRecordBuilder(r.alloc, r.Schema())
	r.idB = r.b.Field(0).(*array.StringBuilder)
	r.tmB = r.b.Field(1).(*array.TimestampBuilder)
	r.tyB = r.b.Field(2).(*array.StringBuilder)
	r.amB = r.b.Field(3).(*array.Float64Builder)
	sc := r.Schema()
	if i := data.ColumnIndex(sc, data.ColEventID); i >= 0 {
		r.evB = r.b.Field(i).(*array.StringBuilder)
	}
	if i := data.ColumnIndex(sc, data.ColSubscriptionID); i >= 0 {
		r.sbB = r.b.Field(i).(*array.StringBuilder)
	}
	if i := data.ColumnIndex(sc, data.ColPeriodEnd); i >= 0 {
		r.peB = r.b.Field(i).(*array.TimestampBuilder)
	}
	r.stats.Files = 1
	return r, nil
}

// start describes the source, resolves and checks the canonical columns
// and sends the query.
func (r *Reader) start(ctx context.Context, table pgx.Identifier) error {
	tx, err := r.conn.BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly})
	if err != nil {
		return err
	}
	r.tx = tx
	sql := r.opt.Query
	if table != nil {
		sql = "SELECT * FROM " + table.Sanitize()
	}
	sd, err := tx.Prepare(ctx, "", sql) // describes the result without running it
	if err != nil {
		return err
	}
	names := make([]string, len(sd.Fields))
	for i, f := range sd.Fields {
		names[i] = f.Name
	}
	col, err := data.ResolveColumns(r.label, names, r.opt.Map)
	if err != nil {
		return err
	}
	tm := r.conn.TypeMap()
	canon := data.CanonicalColumns()
	for c, j := range col {
		if j < 0 {
			continue
		}
		for k, n := range names {
			if k != j && n == names[j] {
				return fmt.Errorf("%w: %s: %q (for %s)", data.ErrDuplicateColumn, r.label, n, canon[c])
			}
		}
		oid := sd.Fields[j].DataTypeOID
		if !accepts(c, classOf(oid, tm)) {
			return fmt.Errorf("%w: %s: column %q (for %s) has type %s; want %s", data.ErrColumnType, r.label, names[j], canon[c], typeName(tm, oid), wantTypes[c])
		}
		r.oids[c] = oid
	}
	if table != nil {
		// Select the needed columns only, in canonical order.
		var sel []string
		for c, j := range col {
			if j < 0 {
				continue
			}
			col[c] = len(sel)
			sel = append(sel, quoteIdent(names[j]))
		}
		sql = "SELECT " + strings.Join(sel, ", ") + " FROM " + table.Sanitize()
	}
	r.col = col

	qctx, cancel := context.WithCancel(ctx)
	rows, err := tx.Query(qctx, sql)
	if err != nil {
		cancel()
		return err
	}
	r.rows, r.cancel = rows, cancel
	fds := rows.FieldDescriptions()
	for c, j := range col {
		if j < 0 {
			continue
		}
		if j >= len(fds) || fds[j].DataTypeOID != r.oids[c] {
			// Most likely the statement failed when run (a write in this
			// read-only transaction): its error says why.
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
			return fmt.Errorf("the columns changed between describing and running the query")
		}
		r.kinds[c] = kindOf(r.oids[c], fds[j].Format)
	}
	return nil
}

func typeName(m *pgtype.Map, oid uint32) string {
	if t, ok := m.TypeForOID(oid); ok {
		return t.Name
	}
	return "oid " + strconv.FormatUint(uint64(oid), 10)
}

// Schema returns data.EventSchemaOf the optional columns the result has
// (data.EventSchema when none).
func (r *Reader) Schema() *arrow.Schema {
	var o data.Optional
	if r.col[cEventID] >= 0 {
		o |= data.OptEventID
	}
	if r.col[cSubID] >= 0 {
		o |= data.OptSubscriptionID
	}
	if r.col[cPeriodEnd] >= 0 {
		o |= data.OptPeriodEnd
	}
	return data.EventSchemaOf(o)
}

// Next advances to the next batch of at most BatchSize good rows. It
// returns false at the end of the result or on error; check Err.
func (r *Reader) Next() bool {
	if r.rec != nil {
		r.rec.Release()
		r.rec = nil
	}
	if r.err != nil || r.relsd || r.done {
		return false
	}
	r.reserve()
	n := 0
	for n < r.batch {
		if !r.rows.Next() {
			r.finish()
			break
		}
		r.line++
		r.stats.RowsRead++
		c, err := r.row(r.rows.RawValues())
		if err == nil {
			n++
			continue
		}
		e := &data.ParseError{File: r.label, Line: r.line, Column: data.CanonicalColumns()[c], Err: err}
		r.stats.RowsRejected++
		if r.opt.Quarantine == nil {
			r.err = e
		} else if qerr := r.opt.Quarantine.Add(e, r.raw(r.rows.RawValues())); qerr != nil {
			r.err = qerr
		}
		if r.err != nil {
			r.abort()
			break
		}
	}
	if n == 0 || r.err != nil {
		if n > 0 { // drop the partial batch
			r.b.NewRecordBatch().Release()
		}
		return false
	}
	r.rec = r.b.NewRecordBatch()
	return true
}

// finish ends a result read to its end (or failed), freeing the connection.
func (r *Reader) finish() {
	r.done = true
	r.rows.Close()
	if err := r.rows.Err(); err != nil && r.err == nil {
		r.err = fmt.Errorf("sqlsource: read %s: %w", r.label, err)
	}
	r.closeConn()
}

// abort stops reading in the middle of the result: the query is cancelled
// by closing the connection rather than by draining its rows.
func (r *Reader) abort() {
	r.done = true
	if r.cancel != nil {
		r.cancel()
	}
	if r.rows != nil {
		r.rows.Close()
	}
	r.closeConn()
}

func (r *Reader) closeConn() {
	if r.conn == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if r.tx != nil && !r.conn.IsClosed() {
		r.tx.Rollback(ctx) // read only: nothing to keep
	}
	r.conn.Close(ctx)
	if r.cancel != nil {
		r.cancel()
	}
	r.conn, r.tx = nil, nil
}

// reserve sizes the builders for one batch (at most DefaultBatchSize rows
// ahead, so that a huge BatchSize does not allocate for a small table).
func (r *Reader) reserve() {
	n := min(r.batch, data.DefaultBatchSize)
	r.idB.Reserve(n)
	r.tmB.Reserve(n)
	r.tyB.Reserve(n)
	r.amB.Reserve(n)
	if r.evB != nil {
		r.evB.Reserve(n)
	}
	if r.sbB != nil {
		r.sbB.Reserve(n)
	}
	if r.peB != nil {
		r.peB.Reserve(n)
	}
}

// value returns the raw bytes of canonical column c (nil when NULL or
// absent).
func (r *Reader) value(vals [][]byte, c int) []byte {
	if j := r.col[c]; j >= 0 {
		return vals[j]
	}
	return nil
}

// row converts and appends one row; on error it returns the index of the
// bad canonical column.
func (r *Reader) row(vals [][]byte) (int, error) {
	id, err := r.id(r.value(vals, 0))
	if err != nil {
		return 0, err
	}
	ms, err := r.time(r.value(vals, 1))
	if err != nil {
		return 1, err
	}
	typ := data.EventPurchase
	if v := r.value(vals, 2); v != nil {
		if typ, err = data.NormType(bytesString(v)); err != nil {
			return 2, err
		}
	}
	var amount float64
	var valid bool
	if v := r.value(vals, 3); v != nil {
		if amount, valid, err = r.amount(v); err != nil {
			return 3, err
		}
	}
	var eid, sid string
	if v := r.value(vals, cEventID); v != nil {
		if eid, err = r.textID(cEventID, v); err != nil {
			return cEventID, err
		}
	}
	if v := r.value(vals, cSubID); v != nil {
		if sid, err = r.textID(cSubID, v); err != nil {
			return cSubID, err
		}
	}
	var pend int64
	var hasEnd bool
	if v := r.value(vals, cPeriodEnd); v != nil {
		if pend, hasEnd, err = r.periodEnd(v, ms); err != nil {
			return cPeriodEnd, err
		}
	}
	r.idB.Append(id)
	r.tmB.Append(arrow.Timestamp(ms))
	r.tyB.Append(typ)
	if valid {
		r.amB.Append(amount)
	} else {
		r.amB.AppendNull()
	}
	if r.evB != nil {
		appendNullable(r.evB, eid)
	}
	if r.sbB != nil {
		appendNullable(r.sbB, sid)
	}
	if r.peB != nil {
		if hasEnd {
			r.peB.Append(arrow.Timestamp(pend))
		} else {
			r.peB.AppendNull()
		}
	}
	return 0, nil
}

// appendNullable appends s, or null when s is "".
func appendNullable(b *array.StringBuilder, s string) {
	if s == "" {
		b.AppendNull()
	} else {
		b.Append(s)
	}
}

func (r *Reader) id(raw []byte) (string, error) {
	if raw == nil {
		return "", data.ErrEmptyID
	}
	return r.textID(0, raw)
}

// textID decodes the non-null customer_id, event_id or subscription_id
// (canonical column c) to text; integers, numerics and UUIDs in their
// canonical text form. The result is a view of r.idBuf[c] or raw, valid
// until the next call for c.
func (r *Reader) textID(c int, raw []byte) (string, error) {
	name := data.CanonicalColumns()[c]
	check := data.CheckID
	switch c {
	case cEventID:
		check = data.CheckEventID
	case cSubID:
		check = data.CheckSubscriptionID
	}
	switch k := r.kinds[c]; k {
	case kText:
		return check(bytesString(raw))
	case kInt2, kInt4, kInt8:
		v, err := intValue(k, raw)
		if err != nil {
			return "", data.NewReason(data.ErrBadID, name+": "+err.Error())
		}
		r.idBuf[c] = strconv.AppendInt(r.idBuf[c][:0], v, 10)
	case kNumeric:
		b, err := appendNumeric(r.idBuf[c][:0], raw)
		r.idBuf[c] = b
		if err != nil {
			return "", data.NewReason(data.ErrBadID, name+": "+err.Error())
		}
		return check(bytesString(r.idBuf[c]))
	case kUUID:
		if len(raw) != 16 {
			return "", data.NewReason(data.ErrBadID, name+": "+errShort.Error())
		}
		r.idBuf[c] = appendUUID(r.idBuf[c][:0], raw)
	default:
		return "", data.NewReason(data.ErrBadID, name+": undecodable value")
	}
	return bytesString(r.idBuf[c]), nil
}

func (r *Reader) time(raw []byte) (int64, error) {
	if raw == nil {
		return 0, data.NewReason(data.ErrBadTime, "null event_time")
	}
	if r.kinds[cTime] == kText {
		return data.ParseTime(bytesString(raw), r.opt.TimeLayout)
	}
	ms, err := r.typedTime(cTime, raw)
	if err != nil {
		return 0, data.NewReason(data.ErrBadTime, "event_time: "+err.Error())
	}
	if err := data.CheckTimeMS(ms, ""); err != nil {
		return 0, data.CheckTimeMS(ms, string(appendText(nil, r.kinds[cTime], raw)))
	}
	return ms, nil
}

// typedTime decodes the non-null value of the time column c (a timestamp,
// timestamptz or date) to milliseconds since the epoch.
func (r *Reader) typedTime(c int, raw []byte) (ms int64, err error) {
	switch r.kinds[c] {
	case kTimestamp:
		return timestampMS(raw)
	case kDate:
		return dateMS(raw)
	case kScanTime:
		var t time.Time
		if err = r.conn.TypeMap().Scan(r.oids[c], pgtype.TextFormatCode, raw, &t); err == nil {
			ms = t.UnixMilli()
			if t.UnixMicro()%1000 < 0 {
				ms--
			}
		}
		return ms, err
	}
	return 0, errors.New("undecodable value")
}

// periodEnd decodes a non-null period_end and checks it against the row's
// event time eventMS (see data.ParsePeriodEnd).
func (r *Reader) periodEnd(raw []byte, eventMS int64) (int64, bool, error) {
	if r.kinds[cPeriodEnd] == kText {
		return data.ParsePeriodEnd(bytesString(raw), r.opt.TimeLayout, eventMS)
	}
	ms, err := r.typedTime(cPeriodEnd, raw)
	if err != nil {
		return 0, false, data.NewReason(data.ErrBadPeriodEnd, "period_end: "+err.Error())
	}
	if err := data.CheckPeriodEnd(ms, eventMS, string(appendText(nil, r.kinds[cPeriodEnd], raw))); err != nil {
		return 0, false, err
	}
	return ms, true, nil
}

func (r *Reader) amount(raw []byte) (float64, bool, error) {
	var v float64
	var err error
	switch k := r.kinds[3]; k {
	case kText:
		return data.ParseAmount(bytesString(raw))
	case kNumeric:
		r.amBuf, err = appendNumeric(r.amBuf[:0], raw)
		if err == nil {
			return data.ParseAmount(bytesString(r.amBuf))
		}
	case kFloat4, kFloat8:
		v, err = floatValue(k, raw)
	case kInt2, kInt4, kInt8:
		var i int64
		i, err = intValue(k, raw)
		v = float64(i)
	default:
		err = errors.New("undecodable value")
	}
	if err != nil {
		return 0, false, data.NewReason(data.ErrBadAmount, "amount: "+err.Error())
	}
	if err := data.CheckAmount(v, ""); err != nil {
		return 0, false, data.CheckAmount(v, string(appendText(nil, r.kinds[3], raw)))
	}
	return v, true, nil
}

// raw renders a row's canonical values for the quarantine: their text
// joined with ',', empty for NULL or absent.
func (r *Reader) raw(vals [][]byte) string {
	var b []byte
	for c := range data.NumCanonical {
		if c >= cEventID && r.col[c] < 0 {
			continue // an optional column the result does not have
		}
		if c > 0 {
			b = append(b, ',')
		}
		if v := r.value(vals, c); v != nil {
			b = appendText(b, r.kinds[c], v)
		}
	}
	return string(b)
}

// Record returns the current batch. It is valid until the next call to
// Next or Release; Retain it to keep it longer.
func (r *Reader) Record() arrow.RecordBatch { return r.rec }

// Err returns the error that stopped the reader, or nil at a normal end.
// Without a Quarantine the first bad row is returned as a *data.ParseError.
func (r *Reader) Err() error { return r.err }

// Stats returns the counts so far; Files is 1.
func (r *Reader) Stats() data.Stats { return r.stats }

// Release stops the query if it is still running (closing the connection,
// without reading the rest), and frees the current batch and the builders.
// Calling it again does nothing.
func (r *Reader) Release() {
	if r.relsd {
		return
	}
	r.relsd = true
	if r.rec != nil {
		r.rec.Release()
		r.rec = nil
	}
	if !r.done {
		r.abort()
	}
	if r.b != nil {
		r.b.Release()
	}
}
