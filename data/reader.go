package data

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// DefaultBatchSize is the number of rows per record batch when
// Options.BatchSize is 0.
const DefaultBatchSize = 65536

// Options configures Open.
type Options struct {
	// Format is "csv", "parquet" or "arrow"; "" chooses by extension:
	// .csv .tsv .txt (and .csv.gz .tsv.gz .txt.gz) → csv; .parquet .pq →
	// parquet; .arrow .ipc .feather → arrow. For a folder, a non-empty
	// Format selects the files of that format only. Delimited text is
	// decoded by its first bytes: gzip, a UTF-16 or UTF-8 byte-order mark
	// and CR-only line ends are read as such (see csvencoding.go).
	Format string
	// Delimiter is the CSV field delimiter; 0 means ',' ('\t' for .tsv).
	Delimiter rune
	// Whitespace: CSV fields are separated by runs of spaces and tabs, with
	// no quoting (like the original CDNOW_sample.txt). Delimiter is ignored.
	Whitespace bool
	// NoHeader: the CSV has no header row; Map values are then 1-based
	// column numbers ("2"), and every row must have as many fields as the
	// first.
	NoHeader bool
	// Map maps canonical column → source column name. Unmapped canonical
	// columns are looked up by their own name (exactly, then ignoring case).
	Map map[string]string
	// TimeLayout is the Go time layout of event_time strings; a time without
	// zone is UTC. "" accepts RFC 3339 (with or without a fraction of a
	// second; an offset is converted to UTC) or 2006-01-02 (midnight UTC).
	TimeLayout string
	// BatchSize is the number of rows per record batch; 0 means
	// DefaultBatchSize. The last batch of the input may be shorter.
	BatchSize int
	// Alloc allocates the records; nil means memory.DefaultAllocator.
	Alloc memory.Allocator
	// Shard and Shards (Shards ≥ 2) say that the reader serves shard Shard
	// of Shards. A folder written by CreatePartitioned whose partition count
	// is a multiple of Shards is then read only in part: the files holding
	// that shard's customers (Stats.FilesSkipped counts the others). Rows
	// are not filtered otherwise; features.WithShard does that.
	Shard, Shards int
	// Quarantine receives the bad rows, which are counted and skipped; nil
	// means the first bad row stops the reader and Err returns it as a
	// *ParseError.
	Quarantine *Quarantine

	// noPassThrough turns off the zero-copy path of passthrough.go (the
	// tests compare both paths).
	noPassThrough bool
}

// nCanon is the number of canonical columns, the optional ones included.
const nCanon = 7

// Indexes of the canonical columns in canonicalCols.
const (
	cID = iota
	cTime
	cType
	cAmount
	cEventID
	cSubID
	cPeriodEnd
)

// canonicalCols lists the canonical columns in schema order (event_id,
// subscription_id and period_end are optional).
var canonicalCols = [nCanon]string{ColCustomerID, ColEventTime, ColEventType, ColAmount, ColEventID, ColSubscriptionID, ColPeriodEnd}

// optBit is the Optional bit of canonical column c (0 for the fixed four).
func optBit(c int) Optional {
	switch c {
	case cEventID:
		return OptEventID
	case cSubID:
		return OptSubscriptionID
	case cPeriodEnd:
		return OptPeriodEnd
	}
	return 0
}

// isCanonical reports whether name is a canonical column name.
func isCanonical(name string) bool {
	for _, c := range canonicalCols {
		if c == name {
			return true
		}
	}
	return false
}

// ParseMap parses a column mapping such as
// "customer_id=CustomerID,event_time=InvoiceDate" into canonical column →
// source column. Surrounding spaces are trimmed. Errors name the bad pair:
// a pair without '=', an empty side, an unknown canonical name, or a
// canonical name given twice. The empty string is the empty map.
func ParseMap(s string) (map[string]string, error) {
	m := make(map[string]string)
	if strings.TrimSpace(s) == "" {
		return m, nil
	}
	for _, pair := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(pair, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		switch {
		case !ok || k == "" || v == "":
			return nil, fmt.Errorf("data: column map: bad pair %q (want canonical=source)", pair)
		case !isCanonical(k):
			return nil, fmt.Errorf("data: column map: pair %q: unknown canonical column %q (want one of %s)", pair, k, strings.Join(canonicalCols[:], ", "))
		}
		if _, dup := m[k]; dup {
			return nil, fmt.Errorf("data: column map: pair %q: %q mapped twice", pair, k)
		}
		m[k] = v
	}
	return m, nil
}

// Stats counts what a Reader has seen so far.
type Stats struct {
	// Files is the number of files opened so far (all of them at the end).
	Files int
	// RowsRead counts every data row seen, rejected ones included.
	RowsRead int64
	// RowsRejected counts the bad rows (quarantined, or the one returned by Err).
	RowsRejected int64
	// FilesSkipped counts the partition files left unread because they hold
	// other shards' customers (Options.Shards).
	FilesSkipped int
}

// source streams the rows of one file into the Reader's builders.
type source interface {
	// fill appends at most n rows and reports how many it appended and
	// whether the file is exhausted.
	fill(n int) (added int, eof bool, err error)
	close() error
	// rows returns the number of data rows the file's metadata announces,
	// -1 when it does not say.
	rows() int64
}

// Reader streams the canonical interaction history of one file or a folder
// of files as arrow.Record batches with the schema EventSchema, or
// EventSchemaOf the optional columns (event_id, subscription_id,
// period_end) some file has. It holds one
// batch and the read buffers of one file in memory. A Reader is not safe for
// concurrent use.
type Reader struct {
	opt   Options
	alloc memory.Allocator
	batch int

	files   []string
	formats []string
	next    int // index in files of the next file to open
	src     source

	b      *array.RecordBuilder
	idB    *array.StringBuilder
	tmB    *array.TimestampBuilder
	tyB    *array.StringBuilder
	amB    *array.Float64Builder
	evB    *array.StringBuilder    // event_id; nil when no file has one
	sbB    *array.StringBuilder    // subscription_id; nil when no file has one
	peB    *array.TimestampBuilder // period_end; nil when no file has one
	passed int                     // batches handed on by the zero-copy path (tests)
	rows   int                     // rows in the builders

	// optional: the optional columns some file of the input has, so the
	// records have the schema EventSchemaOf(optional).
	optional Optional
	// present: for each file checked by Open, in order, the canonical
	// columns it has (bit c for canonicalCols[c]).
	present []filePresent
	checked map[string]bool

	rec      arrow.RecordBatch
	err      error
	stats    Stats
	released bool
	expect   int64 // ExpectedRows
}

// Open opens a file, or a folder: every supported file in it (recursively,
// skipping names that start with '.'), in lexical path order. It checks
// every file's header or schema, so a missing required column
// (customer_id, event_time), a duplicated header name, a column of an
// unsupported type or a corrupt Parquet or Arrow footer is an error from
// Open naming the file. The caller must Release the Reader.
func Open(path string, opt Options) (*Reader, error) {
	for k := range opt.Map {
		if !isCanonical(k) {
			return nil, fmt.Errorf("data: open %s: Map has unknown canonical column %q (want one of %s)", path, k, strings.Join(canonicalCols[:], ", "))
		}
	}
	switch opt.Format {
	case "", FormatCSV, FormatParquet, FormatArrow:
	default:
		return nil, fmt.Errorf("data: open %s: %w: format %q (want csv, parquet or arrow)", path, ErrUnsupported, opt.Format)
	}
	if opt.BatchSize < 0 {
		return nil, fmt.Errorf("data: open %s: negative BatchSize %d", path, opt.BatchSize)
	}
	r := &Reader{opt: opt, alloc: opt.Alloc, batch: opt.BatchSize}
	if r.alloc == nil {
		r.alloc = memory.DefaultAllocator
	}
	if r.batch == 0 {
		r.batch = DefaultBatchSize
	}

	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("data: open: %w", err)
	}
	if !fi.IsDir() {
		f := opt.Format
		if f == "" {
			if f, err = readFormatOf(path); err != nil {
				return nil, fmt.Errorf("data: open %s: %w", path, err)
			}
		}
		r.files, r.formats = []string{path}, []string{f}
	} else {
		err := filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if p != path && strings.HasPrefix(d.Name(), ".") {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if d.IsDir() {
				return nil
			}
			f, err := readFormatOf(p)
			if err != nil || (opt.Format != "" && f != opt.Format) {
				return nil
			}
			if err := checkRegular(p, d); err != nil {
				return err
			}
			r.files = append(r.files, p)
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("data: open %s: %w", path, err)
		}
		if len(r.files) == 0 {
			return nil, fmt.Errorf("data: open %s: no supported files (.csv .tsv .txt, gzip-compressed .csv.gz .tsv.gz .txt.gz, .parquet .pq .arrow .ipc .feather) in the folder", path)
		}
		sort.Strings(r.files)
		for _, p := range r.files {
			f := opt.Format
			if f == "" {
				f, _ = readFormatOf(p)
			}
			r.formats = append(r.formats, f)
		}
		if err := checkPartitions(path, r.files); err != nil {
			return nil, err
		}
		if err := checkDistinctFiles(path, r.files); err != nil {
			return nil, err
		}
		if opt.Shards >= 2 {
			if opt.Shard < 0 || opt.Shard >= opt.Shards {
				return nil, fmt.Errorf("data: open %s: shard %d of %d (want 0 ≤ shard < shards)", path, opt.Shard, opt.Shards)
			}
			all := len(r.files)
			r.files, r.formats, _ = prunePartitions(r.files, r.formats, opt.Shard, opt.Shards)
			r.stats.FilesSkipped = all - len(r.files)
		}
	}

	// Check every file now, in order; keep the first one open.
	for i := range r.files {
		src, err := r.openSource(i)
		if err != nil {
			if r.src != nil {
				r.src.close()
			}
			return nil, err
		}
		if n := src.rows(); n < 0 || r.expect < 0 {
			r.expect = -1
		} else {
			r.expect += n
		}
		if i == 0 {
			r.src = src
			r.next = 1
			r.stats.Files = 1
		} else if err := src.close(); err != nil {
			r.src.close()
			return nil, fmt.Errorf("data: close %s: %w", r.files[i], err)
		}
	}

	r.b = array.NewRecordBuilder(r.alloc, r.Schema())
	r.idB = r.b.Field(0).(*array.StringBuilder)
	r.tmB = r.b.Field(1).(*array.TimestampBuilder)
	r.tyB = r.b.Field(2).(*array.StringBuilder)
	r.amB = r.b.Field(3).(*array.Float64Builder)
	sc := r.Schema()
	if i := ColumnIndex(sc, ColEventID); i >= 0 {
		r.evB = r.b.Field(i).(*array.StringBuilder)
	}
	if i := ColumnIndex(sc, ColSubscriptionID); i >= 0 {
		r.sbB = r.b.Field(i).(*array.StringBuilder)
	}
	if i := ColumnIndex(sc, ColPeriodEnd); i >= 0 {
		r.peB = r.b.Field(i).(*array.TimestampBuilder)
	}
	return r, nil
}

func (r *Reader) openSource(i int) (source, error) {
	switch r.formats[i] {
	case FormatCSV:
		return openCSV(r, r.files[i])
	default:
		return openArrow(r, r.files[i], r.formats[i])
	}
}

// sourceName returns the source column name a canonical column is looked up by.
func (r *Reader) sourceName(canonical string) (name string, mapped bool) {
	if v, ok := r.opt.Map[canonical]; ok {
		return v, true
	}
	return canonical, false
}

// resolveColumns finds the source column index of every canonical column
// among names. Optional columns that are absent get -1.
func (r *Reader) resolveColumns(path string, names []string) ([nCanon]int, error) {
	var idx [nCanon]int
	for c, canon := range canonicalCols {
		want, mapped := r.sourceName(canon)
		idx[c] = -1
		for j, n := range names {
			if n == want {
				idx[c] = j
				break
			}
		}
		if idx[c] < 0 {
			found := -1
			for j, n := range names {
				if strings.EqualFold(n, want) {
					if found >= 0 {
						found = -2 // ambiguous
						break
					}
					found = j
				}
			}
			if found >= 0 {
				idx[c] = found
			}
		}
		if idx[c] < 0 && (c == cID || c == cTime || mapped) {
			return idx, missingColumn(path, canon, want, mapped, names)
		}
		if idx[c] >= 0 {
			r.optional |= optBit(c)
		}
	}
	var bits uint16
	for c := range idx {
		if idx[c] >= 0 {
			bits |= 1 << c
		}
	}
	if !r.checked[path] { // Open checks each file once; reading opens it again
		if r.checked == nil {
			r.checked = map[string]bool{}
		}
		r.checked[path] = true
		r.present = append(r.present, filePresent{path, bits})
	}
	return idx, nil
}

type filePresent struct {
	path string
	cols uint16
}

// PartialColumns describes each optional column that some files of a
// folder have and others lack — the lacking files' rows have it null (no
// amount, the default event_type…), which is seldom what was meant — one
// text per column naming up to three lacking files. Empty for a single
// file or a folder whose files agree.
func (r *Reader) PartialColumns() []string {
	if len(r.present) < 2 {
		return nil
	}
	var out []string
	for c, canon := range canonicalCols {
		var lacking []string
		for _, f := range r.present {
			if f.cols&(1<<c) == 0 {
				lacking = append(lacking, f.path)
			}
		}
		if len(lacking) == 0 || len(lacking) == len(r.present) {
			continue
		}
		names := lacking[:min(3, len(lacking))]
		more := ""
		if len(lacking) > 3 {
			more = fmt.Sprintf(" and %d more", len(lacking)-3)
		}
		out = append(out, fmt.Sprintf("column %s is missing from %d of %d files (%s%s): their rows have no %s",
			canon, len(lacking), len(r.present), strings.Join(names, ", "), more, canon))
	}
	return out
}

func missingColumn(path, canon, want string, mapped bool, names []string) error {
	how := "looked up by its own name"
	if mapped {
		how = "mapped to " + strconv.Quote(want)
	}
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = strconv.Quote(n)
	}
	return fmt.Errorf("%w: %s: column %q (%s) not found; columns present: %s", ErrMissingColumn, path, canon, how, strings.Join(q, ", "))
}

// Schema returns EventSchemaOf the optional columns some file of the input
// has (EventSchema when none has one).
func (r *Reader) Schema() *arrow.Schema { return EventSchemaOf(r.optional) }

// Next advances to the next batch. It returns false at the end of the input
// or on error; check Err.
func (r *Reader) Next() bool {
	if r.rec != nil {
		r.rec.Release()
		r.rec = nil
	}
	if r.err != nil || r.released {
		return false
	}
	if r.rows == 0 {
		r.reserve()
	}
	for r.rows < r.batch {
		if r.src == nil {
			if r.next >= len(r.files) {
				break
			}
			src, err := r.openSource(r.next)
			r.next++
			if err != nil {
				r.err = err
				break
			}
			r.src = src
			r.stats.Files++
		}
		if as, ok := r.src.(*arrowSource); ok && r.rows == 0 && r.optional == 0 && !r.opt.noPassThrough {
			rec, err := as.passThrough(r.batch)
			if err != nil {
				r.err = err
				break
			}
			if rec != nil {
				r.rec = rec
				r.passed++
				return true
			}
		}
		added, eof, err := r.src.fill(r.batch - r.rows)
		r.rows += added
		if err != nil {
			r.err = err
			break
		}
		if eof {
			err := r.src.close()
			r.src = nil
			if err != nil {
				r.err = err
				break
			}
		}
	}
	if r.rows == 0 || r.err != nil {
		return false
	}
	r.rec = r.b.NewRecordBatch()
	r.rows = 0
	return true
}

// reserve sizes the builders for one batch (at most DefaultBatchSize rows
// ahead, so that a huge BatchSize does not allocate for a small file).
func (r *Reader) reserve() {
	n := min(r.batch, DefaultBatchSize)
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

// ExpectedRows returns the number of data rows the input holds according
// to its files' metadata (the row counts of the Parquet footers), rejected
// rows included, or -1 when a file does not say (CSV, Arrow IPC). Callers
// use it to size their state ahead of reading.
func (r *Reader) ExpectedRows() int64 { return r.expect }

// Record returns the current batch. It is valid until the next call to Next
// or Release; Retain it to keep it longer.
func (r *Reader) Record() arrow.RecordBatch { return r.rec }

// Err returns the error that stopped the reader, or nil at a normal end.
// Without a Quarantine the first bad row is returned as a *ParseError.
func (r *Reader) Err() error { return r.err }

// Stats returns the counts so far.
func (r *Reader) Stats() Stats { return r.stats }

// Release closes the open file and frees the current batch and the
// builders. Calling it again does nothing.
func (r *Reader) Release() {
	if r.released {
		return
	}
	r.released = true
	if r.rec != nil {
		r.rec.Release()
		r.rec = nil
	}
	if r.src != nil {
		r.src.close()
		r.src = nil
	}
	if r.b != nil {
		r.b.Release()
	}
}

// extra holds the optional columns of one row: "" is a null event_id or
// subscription_id; hasEnd false a null period_end.
type extra struct {
	eventID, subID string
	periodEnd      int64
	hasEnd         bool
}

// appendRow appends one good row.
func (r *Reader) appendRow(id string, ms int64, typ string, amount float64, amountValid bool, x *extra) {
	r.idB.Append(id)
	r.tmB.Append(arrow.Timestamp(ms))
	r.tyB.Append(typ)
	if amountValid {
		r.amB.Append(amount)
	} else {
		r.amB.AppendNull()
	}
	if r.evB != nil {
		appendNullable(r.evB, x.eventID)
	}
	if r.sbB != nil {
		appendNullable(r.sbB, x.subID)
	}
	if r.peB != nil {
		if x.hasEnd {
			r.peB.Append(arrow.Timestamp(x.periodEnd))
		} else {
			r.peB.AppendNull()
		}
	}
}

// appendNullable appends s, or null when s is "".
func appendNullable(b *array.StringBuilder, s string) {
	if s == "" {
		b.AppendNull()
	} else {
		b.Append(s)
	}
}

// reject counts a bad row and sends it to the quarantine. Without a
// quarantine it returns e, which stops the reader.
func (r *Reader) reject(e *ParseError, raw string) error {
	r.stats.RowsRejected++
	if r.opt.Quarantine == nil {
		return e
	}
	return r.opt.Quarantine.Add(e, raw)
}

// checkRegular refuses a folder entry that is not a regular file, or a
// symbolic link to one: opening a FIFO blocks until a writer appears, and a
// device never ends.
func checkRegular(p string, d fs.DirEntry) error {
	mode := d.Type()
	if mode&fs.ModeSymlink != 0 {
		fi, err := os.Stat(p)
		if err != nil {
			return fmt.Errorf("%w: %s: %w", ErrNotRegularFile, p, err)
		}
		mode = fi.Mode().Type()
	}
	if !mode.IsRegular() {
		return fmt.Errorf("%w: %s is a %s (a folder's input files must be regular files)", ErrNotRegularFile, p, kindOf(mode))
	}
	return nil
}

func kindOf(m fs.FileMode) string {
	switch {
	case m&fs.ModeNamedPipe != 0:
		return "FIFO"
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeDevice != 0:
		return "device"
	case m&fs.ModeIrregular != 0:
		return "file of unknown type"
	}
	return "non-regular file"
}
