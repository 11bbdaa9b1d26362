package jobs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/churnpipe/churnpipe/data"
	"github.com/churnpipe/churnpipe/models/registry"
	"github.com/churnpipe/churnpipe/pipeline"
)

// ScoreConfig describes `churnpipe score`: a registry model applied to an
// exported feature table, without a database.
type ScoreConfig struct {
	Registry string
	Model    string    // version (v000003) or alias (champion)
	Input    string    // feature table: .parquet or .arrow (churnpipe features --out)
	Out      string    // .parquet, .arrow or .csv
	AsOf     time.Time // zero = derived from the table (first_purchase_date + first_to_asof_days)
	CLV      pipeline.CLVOptions
}

// ScoreResult says what was scored.
type ScoreResult struct {
	AsOf      time.Time
	Version   string
	Customers int64
}

// Score reads the feature table, fits the CLV models on it, applies the
// model and writes the prediction columns of the CRM table (no change,
// rank or alert columns: those need the published history).
func Score(ctx context.Context, c ScoreConfig, opt pipeline.Options) (ScoreResult, error) {
	var res ScoreResult
	if c.Input == "" || c.Out == "" || c.Model == "" {
		return res, &UsageError{fmt.Errorf("score needs --model, --input and --out")}
	}
	if c.Registry == "" {
		c.Registry = DefaultRegistry
	}
	ch, err := pipeline.LoadModel(c.Registry, c.Model)
	if errors.Is(err, registry.ErrNotFound) {
		return res, &UsageError{fmt.Errorf("--model %s: %w", c.Model, err)}
	}
	if err != nil {
		return res, err
	}
	res.Version = ch.Version
	feat, err := pipeline.ReadFeatureTable(ctx, c.Input, opt.Alloc)
	if err != nil {
		return res, fmt.Errorf("%w: %w", pipeline.ErrInput, err)
	}
	defer feat.Release()
	res.AsOf = c.AsOf
	if res.AsOf.IsZero() {
		if res.AsOf, err = pipeline.FeatureAsOf(feat); err != nil {
			return res, &UsageError{fmt.Errorf("%w (--as-of DAY)", err)}
		}
	}
	pred, _, err := pipeline.ScoreTable(feat, res.AsOf, ch, c.CLV, opt)
	if err != nil {
		return res, err
	}
	defer pred.Release()
	w, err := data.CreateFile(c.Out, pred.Schema(), data.WriteOptions{Alloc: opt.Alloc})
	if err != nil {
		return res, &UsageError{err}
	}
	if err := w.Write(pred); err != nil {
		w.Abort()
		return res, err
	}
	res.Customers = pred.NumRows()
	return res, w.Close()
}
