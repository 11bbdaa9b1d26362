package data

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// ShardOf returns the shard of a customer id among n: the FNV-1a 64-bit hash
// of the id's bytes (offset basis 14695981039346656037, prime
// 1099511628211) modulo n. Every event of a customer therefore lands in one
// shard, on every machine and in every run. It panics if n < 1.
func ShardOf(id string, n int) int {
	if n < 1 {
		panic("data: ShardOf with n < 1")
	}
	h := uint64(14695981039346656037)
	for i := 0; i < len(id); i++ {
		h ^= uint64(id[i])
		h *= 1099511628211
	}
	return int(h % uint64(n))
}

// PartitionFile returns the file name of partition i of n of a partitioned
// history: "part-00003-of-00008.parquet". It panics unless 0 ≤ i < n ≤ 99999.
func PartitionFile(i, n int) string {
	if n < 1 || n > maxPartitions || i < 0 || i >= n {
		panic(fmt.Sprintf("data: PartitionFile(%d, %d)", i, n))
	}
	return fmt.Sprintf("part-%05d-of-%05d.parquet", i, n)
}

const maxPartitions = 99999

var partitionName = regexp.MustCompile(`^part-(\d{5})-of-(\d{5})\.parquet$`)

// ParsePartitionFile reads the partition number and count from a file name
// made by PartitionFile (the base name of path); ok is false for any other name.
func ParsePartitionFile(path string) (i, n int, ok bool) {
	m := partitionName.FindStringSubmatch(filepath.Base(path))
	if m == nil {
		return 0, 0, false
	}
	i, _ = strconv.Atoi(m[1])
	n, _ = strconv.Atoi(m[2])
	if n < 1 || i >= n {
		return 0, 0, false
	}
	return i, n, true
}

// ErrPartition is wrapped by the errors of partitioned histories.
var ErrPartition = errors.New("data: partitioned history")

// PartitionWriter writes a canonical event history (EventSchema, or
// EventSchemaOf its optional columns: the files keep the schema of the
// first record) as n
// Parquet files in one folder, PartitionFile(i, n), where file i holds exactly the
// events of the customers with ShardOf(customer_id, n) == i. A worker of
// shard s of N (with N dividing n) then reads only the files i ≡ s (mod N):
// ShardOf(id, N) == ShardOf(id, n) mod N because the hash is the same.
// Each file is written through a temporary file and renamed on Close, like
// CreateFile. Every partition encodes and compresses its batches in a
// goroutine of its own, so the caller's reading overlaps the writing. A
// PartitionWriter is not safe for concurrent use.
type PartitionWriter struct {
	dir    string
	alloc  memory.Allocator
	n      int
	schema *arrow.Schema // of the files; nil until the first Write
	files  []*FileWriter
	bufs   []*array.RecordBuilder
	rows   []int

	queue  []chan arrow.RecordBatch // one per partition, to its writing goroutine
	wg     sync.WaitGroup
	mu     sync.Mutex
	err    error // the first write error of a goroutine
	closed bool  // the queues are closed
}

// partitionFlushRows is the number of rows a partition buffers before it
// writes them as one record batch.
const partitionFlushRows = 1 << 16

// CreatePartitioned creates the folder dir if needed and returns a writer of
// n partitions (1 ≤ n ≤ 99999). The folder must not hold partition files
// already (another layout would be mixed in): that is an error wrapping
// ErrPartition.
func CreatePartitioned(dir string, n int, opt WriteOptions) (*PartitionWriter, error) {
	if n < 1 || n > maxPartitions {
		return nil, fmt.Errorf("%w: %d partitions (want 1 … %d)", ErrPartition, n, maxPartitions)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("data: CreatePartitioned: %w", err)
	}
	old, err := filepath.Glob(filepath.Join(dir, "part-*-of-*.parquet"))
	if err != nil {
		return nil, fmt.Errorf("data: CreatePartitioned: %w", err)
	}
	if len(old) > 0 {
		return nil, fmt.Errorf("%w: %s already holds %s: write a partitioned history into an empty folder", ErrPartition, dir, filepath.Base(old[0]))
	}
	alloc := opt.Alloc
	if alloc == nil {
		alloc = memory.DefaultAllocator
	}
	return &PartitionWriter{dir: dir, alloc: alloc, n: n, rows: make([]int, n)}, nil
}

// start creates the partition files with the schema of the first record
// (EventSchema, or EventSchemaOf to keep the optional columns) and their
// goroutines.
func (w *PartitionWriter) start(schema *arrow.Schema) error {
	w.schema = schema
	for i := 0; i < w.n; i++ {
		f, err := CreateFile(filepath.Join(w.dir, PartitionFile(i, w.n)), schema, WriteOptions{Alloc: w.alloc})
		if err != nil {
			return err
		}
		w.files = append(w.files, f)
		w.bufs = append(w.bufs, array.NewRecordBuilder(w.alloc, schema))
		q := make(chan arrow.RecordBatch, 1)
		w.queue = append(w.queue, q)
		w.wg.Add(1)
		go w.drain(f, q)
	}
	return nil
}

// drain writes the batches queued for one partition file. After an error
// it releases the rest unwritten.
func (w *PartitionWriter) drain(f *FileWriter, q <-chan arrow.RecordBatch) {
	defer w.wg.Done()
	var err error
	for rec := range q {
		if err == nil {
			if err = f.Write(rec); err != nil {
				w.mu.Lock()
				if w.err == nil {
					w.err = err
				}
				w.mu.Unlock()
			}
		}
		rec.Release()
	}
}

// failed returns the first error of a writing goroutine.
func (w *PartitionWriter) failed() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// stop closes the queues (once) and waits for the goroutines.
func (w *PartitionWriter) stop() {
	if !w.closed {
		w.closed = true
		for _, q := range w.queue {
			close(q)
		}
	}
	w.wg.Wait()
}

// Write routes the rows of rec (a canonical schema, the same for every
// record) to their partitions.
func (w *PartitionWriter) Write(rec arrow.RecordBatch) error {
	if w.closed {
		return fmt.Errorf("%w: %s: Write after Close or Abort", ErrPartition, w.dir)
	}
	if !IsEventSchema(rec.Schema()) {
		return fmt.Errorf("%w: record is not in the canonical event layout: %s", ErrPartition, rec.Schema())
	}
	if w.schema == nil {
		if err := w.start(rec.Schema()); err != nil {
			return err
		}
	} else if !rec.Schema().Equal(w.schema) {
		return fmt.Errorf("%w: record schema %s differs from the first record's %s", ErrPartition, rec.Schema(), w.schema)
	}
	ids := rec.Column(0).(*array.String)
	ts := rec.Column(1).(*array.Timestamp)
	types := rec.Column(2).(*array.String)
	amt := rec.Column(3).(*array.Float64)
	var copiers []func(int) // per partition: the optional columns
	if rec.NumCols() > 4 {
		copiers = make([]func(int), len(w.bufs))
		for p, b := range w.bufs {
			var err error
			if copiers[p], err = RowCopier(rec, b, 4); err != nil {
				return fmt.Errorf("%w: %w", ErrPartition, err)
			}
		}
	}
	n := len(w.files)
	for i := 0; i < int(rec.NumRows()); i++ {
		p := ShardOf(ids.Value(i), n)
		b := w.bufs[p]
		b.Field(0).(*array.StringBuilder).Append(ids.Value(i))
		b.Field(1).(*array.TimestampBuilder).Append(ts.Value(i))
		b.Field(2).(*array.StringBuilder).Append(types.Value(i))
		if amt.IsValid(i) {
			b.Field(3).(*array.Float64Builder).Append(amt.Value(i))
		} else {
			b.Field(3).(*array.Float64Builder).AppendNull()
		}
		if copiers != nil {
			copiers[p](i)
		}
		if w.rows[p]++; w.rows[p] == partitionFlushRows {
			if err := w.flush(p); err != nil {
				return err
			}
		}
	}
	return nil
}

// flush hands partition p's buffered rows to its goroutine.
func (w *PartitionWriter) flush(p int) error {
	if err := w.failed(); err != nil {
		return err
	}
	if w.rows[p] == 0 {
		return nil
	}
	w.rows[p] = 0
	w.queue[p] <- w.bufs[p].NewRecordBatch() // drain releases it
	return nil
}

// Close writes what is buffered and renames every partition file into place.
// On an error the files not yet renamed are removed.
func (w *PartitionWriter) Close() error {
	if w.closed {
		return fmt.Errorf("%w: %s: Close after Close or Abort", ErrPartition, w.dir)
	}
	if w.schema == nil { // no record: n empty files
		if err := w.start(EventSchema); err != nil {
			w.Abort()
			return err
		}
	}
	for p := range w.files {
		if err := w.flush(p); err != nil {
			w.Abort()
			return err
		}
	}
	w.stop()
	if err := w.failed(); err != nil {
		w.Abort()
		return err
	}
	for p, f := range w.files {
		if err := f.Close(); err != nil {
			w.Abort()
			return err
		}
		w.files[p] = nil
	}
	w.release()
	return nil
}

// Abort removes the partition files not yet renamed into place. It is a
// no-op after Close.
func (w *PartitionWriter) Abort() {
	w.stop()
	for p, f := range w.files {
		if f != nil {
			f.Abort()
			w.files[p] = nil
		}
	}
	w.release()
}

func (w *PartitionWriter) release() {
	for _, b := range w.bufs {
		b.Release()
	}
	w.bufs = nil
}

// prunePartitions keeps, of a folder's files, those a worker of shard s of
// N needs: when every file is a partition file of the same count n and N
// divides n, the files i with i mod N == s. Otherwise it keeps every file
// and reports pruned = false.
func prunePartitions(files, formats []string, s, N int) (keepFiles, keepFormats []string, pruned bool) {
	if N < 2 || len(files) == 0 {
		return files, formats, false
	}
	count := -1
	for _, f := range files {
		_, n, ok := ParsePartitionFile(f)
		if !ok || (count >= 0 && n != count) {
			return files, formats, false
		}
		count = n
	}
	if count%N != 0 {
		return files, formats, false
	}
	for k, f := range files {
		if i, _, _ := ParsePartitionFile(f); i%N == s {
			keepFiles = append(keepFiles, f)
			keepFormats = append(keepFormats, formats[k])
		}
	}
	return keepFiles, keepFormats, true
}

// checkPartitions returns an error wrapping ErrPartition when the files of a
// folder are partition files of one count n but not all n of them, once
// each: a missing partition would silently lose its customers. Folders of
// other files pass.
func checkPartitions(dir string, files []string) error {
	count := -1
	for _, f := range files {
		_, n, ok := ParsePartitionFile(f)
		if !ok {
			return nil
		}
		if count >= 0 && n != count {
			return fmt.Errorf("%w: %s mixes partition counts %d and %d", ErrPartition, dir, count, n)
		}
		count = n
	}
	if count < 0 {
		return nil
	}
	seen := make([]string, count)
	for _, f := range files {
		i, _, _ := ParsePartitionFile(f)
		if seen[i] != "" {
			return fmt.Errorf("%w: %s holds partition %d of %d twice (%s and %s)", ErrPartition, dir, i, count, seen[i], f)
		}
		seen[i] = f
	}
	for i, f := range seen {
		if f == "" {
			return fmt.Errorf("%w: %s lacks %s (%d of %d partition files present)", ErrPartition, dir, PartitionFile(i, count), len(files), count)
		}
	}
	return nil
}
