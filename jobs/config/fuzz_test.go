package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// FuzzParse feeds arbitrary bytes to the configuration reader: it never
// panics or hangs, and a configuration it refuses is an *Error naming the
// file (or wraps ErrInvalid with the file in the message).
//
//	go test ./jobs/config -run '^$' -fuzz FuzzParse -fuzztime 5m
func FuzzParse(f *testing.F) {
	for _, p := range []string{"../../deploy/churnpipe.example.yaml"} {
		b, err := os.ReadFile(p)
		require.NoError(f, err)
		f.Add(b)
	}
	f.Add([]byte("churn_days: 4294967396\n"))
	f.Add([]byte("db: ${DB_DSN}\nclv:\n  model: auto\n"))
	f.Add([]byte("stages:\n  - [a, b]\n&x y: *x\n"))
	const name = "/etc/churnpipe/churnpipe.yaml"
	lookup := func(k string) (string, bool) {
		if k == "DB_DSN" {
			return "postgres://u:secret@h/db", true
		}
		return "", false
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		_, err := Parse(name, in, lookup)
		if err == nil {
			return
		}
		var ce *Error
		if !errors.As(err, &ce) {
			assert.ErrorIs(t, err, ErrInvalid)
		}
		assert.True(t, strings.Contains(err.Error(), name) || strings.Contains(err.Error(), filepath.Base(name)),
			"the error names the file: %v", err)
	})
}
