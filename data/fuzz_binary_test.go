package data

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fuzzBinary feeds arbitrary bytes to a binary reader: it must never panic
// or leak, an error must name the file, and every row read must be emitted
// or quarantined.
func fuzzBinary(f *testing.F, ext string) {
	seeds, err := filepath.Glob("testdata/*" + ext)
	require.NoError(f, err)
	corpus, _ := filepath.Glob("../testdata/badinput/*" + ext) // the nightly job's bad-input corpus
	seeds = append(seeds, corpus...)
	for _, p := range seeds {
		b, err := os.ReadFile(p)
		require.NoError(f, err)
		f.Add(b)
		if len(b) > 64 {
			f.Add(b[:len(b)/2])
		}
	}
	// A valid file as a seed too, so the fuzzer mutates from something readable.
	good := filepath.Join(f.TempDir(), "good"+ext)
	w, err := CreateFile(good, EventSchema, WriteOptions{})
	require.NoError(f, err)
	rec := buildEvents(memory.DefaultAllocator, []event{{ID: "c1", TimeMS: ms("2024-03-01T10:00:00Z"), Type: "purchase", Amount: f64(9.5)},
		{ID: "c2", TimeMS: ms("2024-03-02T11:00:00Z"), Type: "visit"}})
	require.NoError(f, w.Write(rec))
	rec.Release()
	require.NoError(f, w.Close())
	b, err := os.ReadFile(good)
	require.NoError(f, err)
	f.Add(b)
	if ext == ".parquet" {
		// Flipped bytes in the Arrow schema the file stores in its metadata
		// (issue 14 item 7: one made arrow-go allocate 32 GiB): the message
		// header and vtable, then every 8th byte of the schema.
		_, dec := storedSchema(f, b)
		for off := 0; off < len(dec); off++ {
			if off < 24 || off%8 == 0 {
				f.Add(flipStoredSchema(f, b, off, 0xff))
			}
		}
	}

	f.Fuzz(func(t *testing.T, in []byte) {
		path := filepath.Join(t.TempDir(), "f"+ext)
		require.NoError(t, os.WriteFile(path, in, 0o644))
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		q := NewQuarantine(discard{})
		r, err := Open(path, Options{Alloc: mem, Quarantine: q})
		if err != nil {
			assert.Contains(t, err.Error(), path, "the error names the file")
			mem.AssertSize(t, 0)
			return
		}
		var emitted int64
		for r.Next() {
			emitted += r.Record().NumRows()
		}
		readErr := r.Err()
		r.Release()
		if readErr != nil {
			assert.Contains(t, readErr.Error(), path, "the error names the file")
			return // the library may keep buffers of a failed batch (see writer tests); no row accounting then
		}
		s := r.Stats()
		assert.Equal(t, s.RowsRead, emitted+s.RowsRejected, "every row emitted or quarantined")
		mem.AssertSize(t, 0)
	})
}

// FuzzReadParquet: go test ./data -run XXX -fuzz FuzzReadParquet -fuzztime 60s
func FuzzReadParquet(f *testing.F) { fuzzBinary(f, ".parquet") }

// FuzzReadArrow: go test ./data -run XXX -fuzz FuzzReadArrow -fuzztime 60s
func FuzzReadArrow(f *testing.F) { fuzzBinary(f, ".arrow") }
