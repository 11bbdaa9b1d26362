// Package testenv locates the resources tests share: the repository root,
// the real data in ../shared/data, and the test database servers.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Root returns the repository root (the folder holding go.mod).
func Root(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("testenv: no go.mod above the working folder")
		}
		dir = parent
	}
}

// SharedData returns the path of a file under ../shared/data, or skips the
// test with a clear message when the shared data are not beside the repo.
func SharedData(t testing.TB, rel string) string {
	t.Helper()
	p := filepath.Join(Root(t), "..", "shared", "data", rel)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("shared data %s not found (it lives in ../shared/data beside the repository): %v", rel, err)
	}
	return p
}

// Postgres returns the DSN of the test PostgreSQL server from
// CHURNPIPE_TEST_POSTGRES. Without it the test is skipped — except in CI
// (CI=true), where a missing server is a failure.
func Postgres(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv("CHURNPIPE_TEST_POSTGRES")
	if dsn == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI=true but CHURNPIPE_TEST_POSTGRES is not set: .ci/run must point the tests at PostgreSQL")
		}
		t.Skip("set CHURNPIPE_TEST_POSTGRES=postgres://postgres@127.0.0.1:5432/test?sslmode=disable to run the PostgreSQL tests")
	}
	return dsn
}

// PostgresSchema returns a fresh schema name starting with prefix and drops
// the schema (CASCADE) when the test ends. The cleanup opens a connection
// of its own: a connection of the test, closed by a defer when the test
// function returns, would already be closed when t.Cleanup runs (issue 14
// item 12: two schemas leaked per run that way). The schema itself is not
// created.
func PostgresSchema(t testing.TB, dsn, prefix string) string {
	t.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := prefix + hex.EncodeToString(b[:])
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Errorf("testenv: drop schema %s: %v", schema, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
			t.Errorf("testenv: drop schema %s: %v", schema, err)
		}
	})
	return schema
}
