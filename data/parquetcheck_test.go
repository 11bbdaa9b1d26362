package data

import (
	"bytes"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// goodParquet returns the bytes of a small valid events Parquet file as
// churnpipe writes it (with the Arrow schema stored in its metadata).
func goodParquet(tb testing.TB) []byte {
	tb.Helper()
	p := filepath.Join(tb.TempDir(), "good.parquet")
	w, err := CreateFile(p, EventSchema, WriteOptions{})
	require.NoError(tb, err)
	rec := buildEvents(memory.DefaultAllocator, []event{{ID: "c1", TimeMS: ms("2024-03-01T10:00:00Z"), Type: "purchase", Amount: f64(9.5)},
		{ID: "c2", TimeMS: ms("2024-03-02T11:00:00Z"), Type: "visit"}})
	require.NoError(tb, w.Write(rec))
	rec.Release()
	require.NoError(tb, w.Close())
	b, err := os.ReadFile(p)
	require.NoError(tb, err)
	return b
}

// storedSchema returns the position of the base64 "ARROW:schema" value in
// the Parquet file b and its decoded bytes.
func storedSchema(tb testing.TB, b []byte) (at int, decoded []byte) {
	tb.Helper()
	pf, err := file.NewParquetReader(bytes.NewReader(b))
	require.NoError(tb, err)
	v := pf.MetaData().KeyValueMetadata().FindValue(parquetArrowSchemaKey)
	require.NotNil(tb, v, "the file stores its Arrow schema")
	require.NoError(tb, pf.Close())
	at = bytes.Index(b, []byte(*v))
	require.GreaterOrEqual(tb, at, 0)
	decoded, err = base64.StdEncoding.DecodeString(*v)
	require.NoError(tb, err)
	return at, decoded
}

// flipStoredSchema returns a copy of the Parquet file b with byte off of
// its decoded stored Arrow schema XORed with x (and encoded back in place,
// so the file stays valid base64 and Parquet).
func flipStoredSchema(tb testing.TB, b []byte, off int, x byte) []byte {
	tb.Helper()
	at, dec := storedSchema(tb, b)
	dec[off] ^= x
	out := append([]byte(nil), b...)
	copy(out[at:], base64.StdEncoding.EncodeToString(dec))
	return out
}

// corruptSchemaFlip is the byte of the stored schema flipped in
// testdata/corrupt_arrow_schema.parquet: the low byte of the schema
// message's vtable size (0x0a → 0xf5), after which arrow-go reads a body
// length of 34,360,262,660 bytes from the bytes that follow.
const corruptSchemaFlip = 14

// TestCorruptParquetArrowSchemaIsAnError is issue 14 item 7 (Parquet half):
// a flipped byte in the Arrow schema a Parquet file stores in its metadata
// made arrow-go allocate 32 GiB and the process die ("fatal error: out of
// memory", exit 2). testdata/corrupt_arrow_schema.parquet is such a file;
// every byte of a good file's stored schema is flipped three ways: each
// read ends, and an error names the file.
func TestCorruptParquetArrowSchemaIsAnError(t *testing.T) {
	_, err := Open("testdata/corrupt_arrow_schema.parquet", Options{})
	require.Error(t, err)
	assert.ErrorIs(t, err, ErrCorrupt)
	assert.Contains(t, err.Error(), "corrupt_arrow_schema.parquet")
	assert.Contains(t, err.Error(), "body length 34360262660")

	b := goodParquet(t)
	_, dec := storedSchema(t, b)
	path := filepath.Join(t.TempDir(), "flipped.parquet")
	var refused int
	for off := range dec {
		for _, x := range []byte{0xff, 0x80, 0x01} {
			require.NoError(t, os.WriteFile(path, flipStoredSchema(t, b, off, x), 0o644))
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			r, err := Open(path, Options{Alloc: mem, Quarantine: NewQuarantine(discard{})})
			if err != nil {
				assert.Contains(t, err.Error(), path, "offset %d ^ %#x", off, x)
				if errors.Is(err, ErrCorrupt) {
					refused++
				}
				mem.AssertSize(t, 0)
				continue
			}
			for r.Next() {
			}
			if err := r.Err(); err != nil {
				assert.Contains(t, err.Error(), path, "offset %d ^ %#x", off, x)
			}
			r.Release()
		}
	}
	assert.Positive(t, refused, "some flips are refused by the size checks")
}
