package data

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCorruptArrowFooterIsAnError is issue 14 item 7: a flipped byte in an
// Arrow IPC file's footer schema made arrow-go allocate 170–376 GB and the
// process die ("fatal error: out of memory", exit 2). The seed
// testdata/corrupt_footer_schema.arrow is such a file (a churnpipe synth
// file with byte 11020 set to 0xff); every byte of a good file's last 700
// is flipped the same way: each read ends, an error names the file.
func TestCorruptArrowFooterIsAnError(t *testing.T) {
	_, err := Open("testdata/corrupt_footer_schema.arrow", Options{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "corrupt_footer_schema.arrow")

	good := filepath.Join(t.TempDir(), "good.arrow")
	w, err := CreateFile(good, EventSchema, WriteOptions{})
	require.NoError(t, err)
	rec := buildEvents(memory.DefaultAllocator, []event{{ID: "c1", TimeMS: ms("2024-03-01T10:00:00Z"), Type: "purchase", Amount: f64(9.5)},
		{ID: "c2", TimeMS: ms("2024-03-02T11:00:00Z"), Type: "visit"}})
	require.NoError(t, w.Write(rec))
	rec.Release()
	require.NoError(t, w.Close())
	b, err := os.ReadFile(good)
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "flipped.arrow")
	for off := max(0, len(b)-700); off < len(b); off++ {
		x := append([]byte(nil), b...)
		x[off] = 0xff
		require.NoError(t, os.WriteFile(path, x, 0o644))
		r, err := Open(path, Options{Quarantine: NewQuarantine(discard{})})
		if err != nil {
			assert.Contains(t, err.Error(), path, "offset %d", off)
			continue
		}
		for r.Next() {
		}
		if err := r.Err(); err != nil {
			assert.Contains(t, err.Error(), path, "offset %d", off)
		}
		r.Release()
	}
}
