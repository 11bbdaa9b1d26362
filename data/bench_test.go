package data

import (
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

const benchRows = 1_000_000

var benchFiles struct {
	once sync.Once
	dir  string
	err  error
}

// benchFile writes 1,000,000 generated events once per process as CSV and
// Parquet and returns the path for ext.
func benchFile(b *testing.B, ext string) string {
	benchFiles.once.Do(func() {
		benchFiles.dir, benchFiles.err = os.MkdirTemp("", "churnpipe-data-bench-")
		if benchFiles.err != nil {
			return
		}
		evs := randomEvents(benchRows, 42)
		for _, e := range []string{".csv", ".parquet"} {
			writeEvents(b, memory.DefaultAllocator, filepath.Join(benchFiles.dir, "events"+e), evs, 65536)
		}
	})
	if benchFiles.err != nil {
		b.Fatal(benchFiles.err)
	}
	return filepath.Join(benchFiles.dir, "events"+ext)
}

func benchRead(b *testing.B, ext string) {
	path := benchFile(b, ext)
	st, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(st.Size())
	b.ReportAllocs()
	b.ResetTimer()
	var rows int64
	for b.Loop() {
		r, err := Open(path, Options{})
		if err != nil {
			b.Fatal(err)
		}
		for r.Next() {
			rows += r.Record().NumRows()
		}
		if err := r.Err(); err != nil {
			b.Fatal(err)
		}
		r.Release()
	}
	b.StopTimer()
	if rows != int64(b.N)*benchRows {
		b.Fatalf("read %d rows, want %d", rows, int64(b.N)*benchRows)
	}
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(rows), "ns/row")
}

// BenchmarkReadCSV reads 1,000,000 generated events from CSV.
func BenchmarkReadCSV(b *testing.B) { benchRead(b, ".csv") }

// BenchmarkReadParquet reads 1,000,000 generated events from Parquet (zstd).
func BenchmarkReadParquet(b *testing.B) { benchRead(b, ".parquet") }

// BenchmarkWriteParquet writes 1,000,000 events to Parquet.
func BenchmarkWriteParquet(b *testing.B) {
	benchWrite(b, func(dir string, i int) (eventWriter, error) {
		return CreateFile(filepath.Join(dir, "e"+strconv.Itoa(i)+".parquet"), EventSchema, WriteOptions{})
	})
}

// BenchmarkWritePartitioned writes 1,000,000 events as 8 partition files,
// the layout of a sharded night (compare with BenchmarkWriteParquet: one file).
func BenchmarkWritePartitioned(b *testing.B) {
	benchWrite(b, func(dir string, i int) (eventWriter, error) {
		return CreatePartitioned(filepath.Join(dir, "p"+strconv.Itoa(i)), 8, WriteOptions{})
	})
}

type eventWriter interface {
	Write(arrow.RecordBatch) error
	Close() error
}

// benchWrite times writing 1,000,000 generated events through a new
// writer per iteration.
func benchWrite(b *testing.B, create func(dir string, i int) (eventWriter, error)) {
	evs := randomEvents(benchRows, 42)
	rec := buildEvents(memory.DefaultAllocator, evs)
	defer rec.Release()
	dir := b.TempDir()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		w, err := create(dir, i)
		if err != nil {
			b.Fatal(err)
		}
		if err := w.Write(rec); err != nil {
			b.Fatal(err)
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)*benchRows/b.Elapsed().Seconds(), "rows/s")
}

func TestMain(m *testing.M) {
	code := m.Run()
	if benchFiles.dir != "" {
		os.RemoveAll(benchFiles.dir)
	}
	os.Exit(code)
}
