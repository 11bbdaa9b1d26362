package jobs

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// checkNightly refuses, before anything is opened, a nightly configuration
// that would otherwise fail late or do something else than asked.
func checkNightly(cfg *NightlyConfig) error {
	if y := cfg.AsOf.Year(); y < 1900 || y > 2200 {
		return &UsageError{fmt.Errorf("--as-of %s: want a day between 1900 and 2200", cfg.AsOf.Format("2006-01-02"))}
	}
	return nil
}

// sqlitePath returns the file of a SQLite DSN (sqlite:PATH, sqlite://PATH
// or a bare PATH.db), ok = false for a server DSN.
func sqlitePath(dsn string) (string, bool) {
	lower := strings.ToLower(dsn)
	switch {
	case strings.HasPrefix(lower, "sqlite://"):
		return dsn[len("sqlite://"):], true
	case strings.HasPrefix(lower, "sqlite:"):
		return dsn[len("sqlite:"):], true
	case !strings.Contains(dsn, "://") && (strings.HasSuffix(lower, ".db") || strings.HasSuffix(lower, ".sqlite") || strings.HasSuffix(lower, ".sqlite3")):
		return dsn, true
	}
	return "", false
}

// checkOutputDir refuses an output file whose folder does not exist or is
// not a folder: a usage error (exit 2) named after the flag, before the run
// starts, rather than a failure at the first rejected row.
func checkOutputDir(flag, path string) error {
	dir := filepath.Dir(path)
	fi, err := os.Stat(dir)
	switch {
	case err != nil:
		return &UsageError{fmt.Errorf("%s %s: folder %s: %w", flag, path, dir, err)}
	case !fi.IsDir():
		return &UsageError{fmt.Errorf("%s %s: %s is not a folder", flag, path, dir)}
	}
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return &UsageError{fmt.Errorf("%s %s: is a folder, want a file name", flag, path)}
	}
	return nil
}
