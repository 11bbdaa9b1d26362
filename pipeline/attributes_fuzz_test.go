package pipeline

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/churnpipe/churnpipe/data"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestAttributesCorruptParquet (issue 14 item 7): an attribute file whose
// stored Arrow schema is corrupt (data/testdata/corrupt_arrow_schema.parquet,
// a flipped byte that asks arrow-go for a 32 GiB body) is an error naming
// the file, checked before pqarrow decodes it, as for the history.
func TestAttributesCorruptParquet(t *testing.T) {
	const path = "../data/testdata/corrupt_arrow_schema.parquet"
	require.FileExists(t, path)
	_, err := LoadAttributes(path)
	require.Error(t, err)
	assert.ErrorIs(t, err, ErrAttributes)
	assert.ErrorIs(t, err, data.ErrCorrupt)
	assert.Contains(t, err.Error(), path)
}

// FuzzLoadAttributes feeds arbitrary bytes to the attribute reader as a
// CSV and as a Parquet file: it never panics, and an error wraps
// ErrAttributes and names the file.
//
//	go test ./pipeline -run '^$' -fuzz FuzzLoadAttributes -fuzztime 5m
func FuzzLoadAttributes(f *testing.F) {
	f.Add([]byte("customer_id,age,city\nc1,34,Shanghai\nc2,NA,Beijing\nc3,51,\n"), false)
	f.Add([]byte("household_key,age_desc,income_desc\n1,65+,35-49K\n7,45-54,50-74K\n"), false)
	f.Add([]byte("customer_id,x\n\"c1,2\nc1,3\n"), false)
	for _, p := range []string{"../data/testdata/corrupt_arrow_schema.parquet"} {
		b, err := os.ReadFile(p)
		require.NoError(f, err)
		f.Add(b, true)
	}
	if good, err := filepath.Glob("../data/testdata/*.parquet"); err == nil {
		for _, p := range good {
			b, err := os.ReadFile(p)
			require.NoError(f, err)
			f.Add(b, true)
		}
	}
	f.Fuzz(func(t *testing.T, in []byte, parquet bool) {
		path := filepath.Join(t.TempDir(), "attributes.csv")
		if parquet {
			path = filepath.Join(t.TempDir(), "attributes.parquet")
		}
		require.NoError(t, os.WriteFile(path, in, 0o644))
		a, err := LoadAttributes(path)
		if err != nil {
			assert.True(t, errors.Is(err, ErrAttributes), "wraps ErrAttributes: %v", err)
			assert.Contains(t, err.Error(), path)
			return
		}
		require.NotNil(t, a.Spec())
	})
}

// TestFeatureTableCorrupt (issue 14 item 7): a feature table (`churnpipe
// score --features`) with a corrupt stored Arrow schema or Arrow footer is an
// error naming the file, checked before arrow-go allocates what the
// corrupt bytes claim.
func TestFeatureTableCorrupt(t *testing.T) {
	for _, path := range []string{"../data/testdata/corrupt_arrow_schema.parquet", "../data/testdata/corrupt_footer_schema.arrow"} {
		require.FileExists(t, path)
		_, err := ReadFeatureTable(context.Background(), path, nil)
		require.Error(t, err, path)
		assert.ErrorIs(t, err, ErrFeatureTable)
		assert.ErrorIs(t, err, data.ErrCorrupt)
		assert.Contains(t, err.Error(), path)
	}
}
