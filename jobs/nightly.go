package jobs

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/churnpipe/churnpipe/pipeline"
)

// DefaultDB is the sink used when none is given: a SQLite file in the
// working folder.
const DefaultDB = "sqlite:churnpipe.db"

// NightlyConfig is the nightly job's configuration as a scheduler gives it.
type NightlyConfig struct {
	pipeline.NightlyConfig
	// TimeZone decides which day "yesterday" is when AsOf is zero.
	TimeZone *time.Location
}

// Yesterday returns the calendar day before now in loc, as a UTC day.
func Yesterday(now time.Time, loc *time.Location) time.Time {
	y, m, d := now.In(loc).AddDate(0, 0, -1).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// Nightly runs the nightly job with defaults filled in: the as-of day is
// yesterday in TimeZone, the database DefaultDB, and rejected rows go to
// quarantine/<as-of>-<run id>.csv beside the SQLite file (or in the working
// folder for a server database).
func Nightly(ctx context.Context, cfg NightlyConfig, opt pipeline.Options) (pipeline.NightlyResult, error) {
	if cfg.Input.Path == "" {
		return pipeline.NightlyResult{}, &UsageError{fmt.Errorf("no input: give --input PATH (a file or a folder)")}
	}
	if cfg.DB == "" {
		cfg.DB = DefaultDB
	}
	if cfg.TimeZone == nil {
		cfg.TimeZone = time.Local
	}
	if cfg.AsOf.IsZero() {
		cfg.AsOf = Yesterday(time.Now(), cfg.TimeZone)
	}
	if cfg.Input.MaxReject < 0 || cfg.Input.MaxReject > 1 {
		return pipeline.NightlyResult{}, &UsageError{fmt.Errorf("--max-reject %g: must be a fraction between 0 and 1", cfg.Input.MaxReject)}
	}
	if cfg.RunID == "" {
		cfg.RunID = pipeline.NewRunID(time.Now())
	}
	if cfg.Input.Quarantine == "" {
		dir := "quarantine"
		if p, ok := strings.CutPrefix(cfg.DB, "sqlite:"); ok {
			dir = filepath.Join(filepath.Dir(p), "quarantine")
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return pipeline.NightlyResult{}, err
		}
		cfg.Input.Quarantine = filepath.Join(dir, cfg.AsOf.Format(time.DateOnly)+"-"+cfg.RunID+".csv")
	}
	return pipeline.Nightly(ctx, cfg.NightlyConfig, opt)
}
