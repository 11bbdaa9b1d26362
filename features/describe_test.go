package features_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/churnpipe/churnpipe/features"
	"github.com/churnpipe/churnpipe/internal/testenv"
)

// docs/features.md is exactly what Describe writes: regenerate it with
// `go run ./cmd/churnpipe features --describe > docs/features.md`.
func TestFeaturesDocInSync(t *testing.T) {
	var b bytes.Buffer
	require.NoError(t, features.Describe(&b))
	got, err := os.ReadFile(filepath.Join(testenv.Root(t), "docs", "features.md"))
	require.NoError(t, err)
	assert.Equal(t, b.String(), string(got), "docs/features.md is stale: go run ./cmd/churnpipe features --describe > docs/features.md")
	// Every column is documented.
	for _, f := range features.Schema().Fields() {
		doc, ok := f.Metadata.GetValue("doc")
		assert.True(t, ok && doc != "", "column %s has no doc", f.Name)
		assert.Contains(t, b.String(), "| `"+f.Name+"` |")
	}
}
