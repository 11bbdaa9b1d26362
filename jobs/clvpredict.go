package jobs

import (
	"context"
	"fmt"
	"time"

	"github.com/churnpipe/churnpipe/data"
	"github.com/churnpipe/churnpipe/models/btyd"
	"github.com/churnpipe/churnpipe/pipeline"
)

// CLVPredictConfig describes `churnpipe clv predict`.
type CLVPredictConfig struct {
	Input pipeline.Input
	AsOf  time.Time
	Out   string // .parquet, .arrow or .csv
	// Model is auto (default), bgnbd, mbgnbd or paretonbd.
	Model string
	Unit  btyd.TimeUnit
	// HoldoutDays is the holdout of model auto; 0 means 90.
	HoldoutDays int
}

// CLVPredictResult says what clv predict wrote.
type CLVPredictResult struct {
	Rows   int64
	Models *pipeline.CLVModels
}

// PredictCLV fits the CLV models on the history up to AsOf and writes the
// per-customer CLV columns to Out, without a database.
func PredictCLV(ctx context.Context, c CLVPredictConfig, opt pipeline.Options) (CLVPredictResult, error) {
	var res CLVPredictResult
	if c.Input.Path == "" || c.AsOf.IsZero() || c.Out == "" {
		return res, &UsageError{fmt.Errorf("clv predict needs --input, --as-of and --out")}
	}
	var err error
	if c.Model, err = countModel(c.Model); err != nil {
		return res, err
	}
	if c.HoldoutDays <= 0 {
		c.HoldoutDays = 90
	}
	if c.Unit == 0 {
		c.Unit = btyd.Week
	}
	if c.Input.Quarantine == "" {
		c.Input.Quarantine = c.Out + ".quarantine.csv"
	}
	h, err := pipeline.LoadHistory(ctx, c.Input, opt)
	if err != nil {
		return res, err
	}
	defer h.Release()
	var m *pipeline.CLVModels
	if c.Model == pipeline.ModelAuto {
		m, err = fitAuto(h, c.AsOf, c.Unit, c.HoldoutDays, opt)
	} else {
		feat, ferr := h.FeaturesAt(c.AsOf, opt)
		if ferr != nil {
			return res, ferr
		}
		m, err = pipeline.FitCLV(feat, pipeline.CLVOptions{Model: c.Model, Unit: c.Unit})
		feat.Release()
	}
	if err != nil {
		return res, err
	}
	res.Models = m
	if opt.Logger != nil {
		for _, w := range m.Warnings {
			opt.Logger.Warn(w)
		}
	}
	feat, err := h.FeaturesAt(c.AsOf, opt)
	if err != nil {
		return res, err
	}
	defer feat.Release()
	rec, err := pipeline.CLVTable(feat, m, c.AsOf, opt.Alloc)
	if err != nil {
		return res, err
	}
	defer rec.Release()
	w, err := data.CreateFile(c.Out, rec.Schema(), data.WriteOptions{Alloc: opt.Alloc})
	if err != nil {
		return res, &UsageError{err}
	}
	if err := w.Write(rec); err != nil {
		w.Abort()
		return res, err
	}
	res.Rows = rec.NumRows()
	return res, w.Close()
}

// countModel checks a --model of clv predict and clv report: auto (the
// default, for ""), bgnbd, mbgnbd or paretonbd.
func countModel(m string) (string, error) {
	switch m {
	case "":
		return pipeline.ModelAuto, nil
	case pipeline.ModelAuto, "bgnbd", "mbgnbd", "paretonbd":
		return m, nil
	}
	return m, &UsageError{fmt.Errorf("--model %q: want auto, bgnbd, mbgnbd or paretonbd", m)}
}
