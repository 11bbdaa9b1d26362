package memlimit

import (
	"math"
	"os"
	"path/filepath"
	"runtime/debug"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func cgroup(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for name, content := range files {
		p := filepath.Join(root, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	}
	return root
}

func TestFromCgroup(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  int64
		ok    bool
	}{
		// cgroup v2: memory.max holds bytes or "max" (Documentation/admin-guide/cgroup-v2.rst).
		{"v2 limit", map[string]string{"memory.max": "17179869184\n"}, 16 << 30, true},
		{"v2 unlimited", map[string]string{"memory.max": "max\n"}, 0, false},
		// cgroup v1: memory.limit_in_bytes, 9223372036854771712 when unlimited.
		{"v1 limit", map[string]string{"memory/memory.limit_in_bytes": "8589934592\n"}, 8 << 30, true},
		{"v1 unlimited", map[string]string{"memory/memory.limit_in_bytes": "9223372036854771712\n"}, 0, false},
		{"none", nil, 0, false},
		{"garbage", map[string]string{"memory.max": "lots\n"}, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := FromCgroup(cgroup(t, tc.files))
			assert.Equal(t, tc.ok, ok)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestApply(t *testing.T) {
	old := debug.SetMemoryLimit(-1)
	defer debug.SetMemoryLimit(old)
	root := cgroup(t, map[string]string{"memory.max": "10000000000"})

	t.Setenv("GOMEMLIMIT", "12GiB")
	_, ok := Apply(root)
	assert.False(t, ok, "an explicit GOMEMLIMIT wins")

	t.Setenv("GOMEMLIMIT", "")
	debug.SetMemoryLimit(math.MaxInt64)
	set, ok := Apply(root)
	require.True(t, ok)
	assert.EqualValues(t, 9_000_000_000, set)
	assert.EqualValues(t, 9_000_000_000, debug.SetMemoryLimit(-1))

	_, ok = Apply(cgroup(t, map[string]string{"memory.max": "max"}))
	assert.False(t, ok)
}
