package jobs

import (
	"context"
	"fmt"
	"time"

	"github.com/churnpipe/churnpipe/data"
	"github.com/churnpipe/churnpipe/pipeline"
)

// ExportConfig describes a feature export.
type ExportConfig struct {
	Input pipeline.Input
	AsOf  time.Time
	Out   string // .parquet or .arrow (or .csv)
}

// ExportFeatures writes the feature table at AsOf to Out.
func ExportFeatures(ctx context.Context, c ExportConfig, opt pipeline.Options) (pipeline.IngestStats, int64, error) {
	if c.Out == "" || c.Input.Path == "" || c.AsOf.IsZero() {
		return pipeline.IngestStats{}, 0, &UsageError{fmt.Errorf("features needs --input, --as-of and --out")}
	}
	if c.Input.Quarantine == "" {
		c.Input.Quarantine = c.Out + ".quarantine.csv"
	}
	feat, st, err := pipeline.BuildFeatures(ctx, c.Input, c.AsOf, opt)
	if err != nil {
		return st, 0, err
	}
	defer feat.Release()
	w, err := data.CreateFile(c.Out, feat.Schema(), data.WriteOptions{Alloc: opt.Alloc})
	if err != nil {
		return st, 0, &UsageError{err}
	}
	if err := w.Write(feat); err != nil {
		w.Abort()
		return st, 0, err
	}
	return st, feat.NumRows(), w.Close()
}
