package data

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// copyAs writes the events of the CSV at src to dst (format by extension).
func copyAs(t *testing.T, src, dst string) int64 {
	t.Helper()
	r, err := Open(src, Options{})
	require.NoError(t, err)
	defer r.Release()
	w, err := CreateFile(dst, EventSchema, WriteOptions{})
	require.NoError(t, err)
	var n int64
	for r.Next() {
		require.NoError(t, w.Write(r.Record()))
		n += r.Record().NumRows()
	}
	require.NoError(t, r.Err())
	require.NoError(t, w.Close())
	return n
}

func TestExpectedRows(t *testing.T) {
	const csv = hdr + "c1,2024-03-01T10:00:00Z,purchase,10\nc2,2024-03-02,visit,\nc1,2024-03-03T11:00:00Z,purchase,5\n"
	dir := t.TempDir()
	src := filepath.Join(dir, "in.csv")
	require.NoError(t, os.WriteFile(src, []byte(csv), 0o644))
	pq := filepath.Join(dir, "pq", "a.parquet")
	require.NoError(t, os.MkdirAll(filepath.Dir(pq), 0o755))
	n := copyAs(t, src, pq)
	require.EqualValues(t, 3, n)
	other := filepath.Join(dir, "other.csv") // another day's file: the same file twice would be refused
	require.NoError(t, os.WriteFile(other, []byte(strings.Replace(csv, ",5\n", ",6\n", 1)), 0o644))
	copyAs(t, other, filepath.Join(dir, "pq", "b.parquet"))
	mixed := filepath.Join(dir, "mixed")
	require.NoError(t, os.MkdirAll(mixed, 0o755))
	copyAs(t, src, filepath.Join(mixed, "a.parquet"))
	copyAs(t, src, filepath.Join(mixed, "b.arrow"))

	for _, tc := range []struct {
		name, path string
		want       int64
	}{
		{"CSV has no row count", src, -1},
		{"Parquet footer", pq, 3},
		{"folder of Parquet files: the sum", filepath.Join(dir, "pq"), 6},
		{"an Arrow IPC file makes the folder unknown", mixed, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			r, err := Open(tc.path, Options{Alloc: mem})
			require.NoError(t, err)
			defer r.Release()
			assert.Equal(t, tc.want, r.ExpectedRows())
			var got int64
			for r.Next() {
				got += r.Record().NumRows()
			}
			require.NoError(t, r.Err())
			if tc.want >= 0 {
				assert.Equal(t, tc.want, got, "the footer's count is the rows read")
			}
		})
	}
}
