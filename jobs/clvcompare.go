package jobs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/churnpipe/churnpipe/models/btyd"
	"github.com/churnpipe/churnpipe/pipeline"
)

// CompareCLV is `clv fit --compare` (and --model auto): the count models are
// fitted on the history up to CalibrationEnd − holdoutDays, compared on the
// last holdoutDays up to CalibrationEnd by pipeline.AutoRule, and the chosen
// one is refitted on the whole history up to CalibrationEnd (with standard
// errors). holdoutDays ≤ 0 means 90.
func CompareCLV(ctx context.Context, c CLVFitConfig, holdoutDays int, opt pipeline.Options) (*pipeline.ModelComparison, btyd.FitResult, error) {
	if c.Input.Path == "" || c.CalibrationEnd.IsZero() {
		return nil, btyd.FitResult{}, &UsageError{fmt.Errorf("clv fit --compare needs --input and --calibration-end")}
	}
	if holdoutDays <= 0 {
		holdoutDays = 90
	}
	if c.Input.Quarantine == "" {
		c.Input.Quarantine = "quarantine-clv.csv"
	}
	h, err := pipeline.LoadHistory(ctx, c.Input, opt)
	if err != nil {
		return nil, btyd.FitResult{}, err
	}
	defer h.Release()
	m, err := fitAuto(h, c.CalibrationEnd, c.Unit, holdoutDays, opt)
	if err != nil {
		return nil, btyd.FitResult{}, err
	}
	if m.Comparison == nil {
		return nil, m.CountFit, fmt.Errorf("%w: --compare: %v", pipeline.ErrNoCustomers, m.Warnings)
	}
	return m.Comparison, m.CountFit, nil
}

// fitAuto fits the CLV models with clv.model: auto on the history up to
// end, comparing on its last holdoutDays.
func fitAuto(h *pipeline.History, end time.Time, unit btyd.TimeUnit, holdoutDays int, opt pipeline.Options) (*pipeline.CLVModels, error) {
	feat, err := h.FeaturesAt(end, opt)
	if err != nil {
		return nil, err
	}
	defer feat.Release()
	o := pipeline.CLVOptions{Model: pipeline.ModelAuto, Unit: unit, HoldoutDays: holdoutDays}
	calEnd := end.AddDate(0, 0, -holdoutDays)
	cal, err := h.FeaturesAt(calEnd, opt)
	if errors.Is(err, pipeline.ErrNoCustomers) {
		return pipeline.FitCLVHoldout(feat, nil, o)
	}
	if err != nil {
		return nil, err
	}
	defer cal.Release()
	return pipeline.FitCLVHoldout(feat, &pipeline.Calibration{Features: cal, End: calEnd}, o)
}
