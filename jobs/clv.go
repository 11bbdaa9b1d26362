package jobs

import (
	"context"
	"fmt"
	"time"

	"github.com/churnpipe/churnpipe/models/btyd"
	"github.com/churnpipe/churnpipe/pipeline"
)

// CLVFitConfig describes `churnpipe clv fit`.
type CLVFitConfig struct {
	Input          pipeline.Input
	Model          string // bgnbd, mbgnbd, paretonbd, gammagamma
	CalibrationEnd time.Time
	Unit           btyd.TimeUnit
}

// ParseTimeUnit parses day, week or month.
func ParseTimeUnit(s string) (btyd.TimeUnit, error) {
	switch s {
	case "day", "days":
		return btyd.Day, nil
	case "week", "weeks", "":
		return btyd.Week, nil
	case "month", "months":
		return btyd.Month, nil
	}
	return 0, &UsageError{fmt.Errorf("time unit %q: want day, week or month", s)}
}

// FitCLV fits one probabilistic model on the history up to the calibration
// end and returns the fit with standard errors.
func FitCLV(ctx context.Context, c CLVFitConfig, opt pipeline.Options) (btyd.FitResult, error) {
	switch c.Model {
	case "bgnbd", "mbgnbd", "paretonbd", "gammagamma":
	default:
		return btyd.FitResult{}, &UsageError{fmt.Errorf("--model %q: want bgnbd, mbgnbd, paretonbd or gammagamma", c.Model)}
	}
	if c.Input.Path == "" || c.CalibrationEnd.IsZero() {
		return btyd.FitResult{}, &UsageError{fmt.Errorf("clv fit needs --input and --calibration-end")}
	}
	if c.Input.Quarantine == "" {
		c.Input.Quarantine = "quarantine-clv.csv"
	}
	feat, _, err := pipeline.BuildFeatures(ctx, c.Input, c.CalibrationEnd, opt)
	if err != nil {
		return btyd.FitResult{}, err
	}
	defer feat.Release()
	d, zbar, err := pipeline.SummaryWithSpend(feat, c.Unit)
	if err != nil {
		return btyd.FitResult{}, err
	}
	if c.Model == "gammagamma" {
		var x, z []float64
		for i := range d.X {
			if d.X[i] > 0 {
				x, z = append(x, d.X[i]), append(z, zbar[i])
			}
		}
		_, fit, err := btyd.FitGammaGamma(x, z, btyd.FitOptions{})
		return fit, err
	}
	_, fit, err := btyd.Fit(c.Model, btyd.Compress(d), btyd.FitOptions{})
	return fit, err
}
