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
	// LabelHorizonDays > 0 exports the labelled training snapshots instead
	// (see pipeline.LabelledSnapshots).
	LabelHorizonDays int
}

// ExportFeatures writes the feature table at AsOf to Out.
func ExportFeatures(ctx context.Context, c ExportConfig, opt pipeline.Options) (pipeline.IngestStats, int64, error) {
	if c.Out == "" || c.Input.Path == "" || c.AsOf.IsZero() {
		return pipeline.IngestStats{}, 0, &UsageError{fmt.Errorf("features needs --input, --as-of and --out")}
	}
	if c.Input.Quarantine == "" {
		c.Input.Quarantine = c.Out + ".quarantine.csv"
	}
	if c.LabelHorizonDays > 0 {
		return exportSnapshots(ctx, c, opt)
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

func exportSnapshots(ctx context.Context, c ExportConfig, opt pipeline.Options) (pipeline.IngestStats, int64, error) {
	h, err := pipeline.LoadHistory(ctx, c.Input, opt)
	if err != nil {
		return pipeline.IngestStats{}, 0, err
	}
	defer h.Release()
	recs, err := pipeline.LabelledSnapshots(ctx, h, pipeline.TrainConfig{AsOf: c.AsOf, HorizonDays: c.LabelHorizonDays}, opt)
	if err != nil {
		return h.Stats, 0, err
	}
	defer func() {
		for _, r := range recs {
			r.Release()
		}
	}()
	w, err := data.CreateFile(c.Out, recs[0].Schema(), data.WriteOptions{Alloc: opt.Alloc})
	if err != nil {
		return h.Stats, 0, &UsageError{err}
	}
	var n int64
	for _, r := range recs {
		if err := w.Write(r); err != nil {
			w.Abort()
			return h.Stats, 0, err
		}
		n += r.NumRows()
	}
	return h.Stats, n, w.Close()
}
