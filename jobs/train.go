package jobs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/churnpipe/churnpipe/models/churn"
	"github.com/churnpipe/churnpipe/pipeline"
)

// TrainConfig is `churnpipe train`.
type TrainConfig struct {
	Input pipeline.Input
	pipeline.TrainConfig
}

// ParseHorizon parses a horizon like "90d", "12w" or "90" (days).
func ParseHorizon(s string) (int, error) {
	var n int
	var unit string
	if _, err := fmt.Sscanf(s, "%d%s", &n, &unit); err != nil {
		if _, err := fmt.Sscanf(s, "%d", &n); err != nil {
			return 0, &UsageError{fmt.Errorf("horizon %q: want a number of days like 90d", s)}
		}
	}
	switch unit {
	case "", "d":
	case "w":
		n *= 7
	default:
		return 0, &UsageError{fmt.Errorf("horizon %q: want days (90d) or weeks (13w)", s)}
	}
	if n < 7 || n > 730 {
		return 0, &UsageError{fmt.Errorf("horizon %q: must be between 7 and 730 days", s)}
	}
	return n, nil
}

// Train loads the history and trains, evaluates and registers the churn and
// predicted-stage models.
func Train(ctx context.Context, c TrainConfig, opt pipeline.Options) (*pipeline.TrainReport, error) {
	if c.Input.Path == "" {
		return nil, &UsageError{fmt.Errorf("train needs --input")}
	}
	if c.Input.Quarantine == "" {
		c.Input.Quarantine = "quarantine-train.csv"
	}
	h, err := pipeline.LoadHistory(ctx, c.Input, opt)
	if err != nil {
		return nil, err
	}
	defer h.Release()
	if c.AsOf.IsZero() {
		c.AsOf = h.Last
	}
	if c.AsOf.Before(h.First) {
		return nil, &UsageError{fmt.Errorf("--as-of %s is before the first event (%s)", c.AsOf.Format(time.DateOnly), h.First.Format(time.DateOnly))}
	}
	rep, _, err := pipeline.Train(ctx, h, c.TrainConfig, opt)
	return rep, err
}

// BacktestConfig repeats training and evaluation at earlier as-of days.
type BacktestConfig struct {
	TrainConfig
	Runs int // as-of days: AsOf, AsOf − step, …; default 4
}

// Backtest trains and evaluates at several past as-of days (nothing is
// registered), one rolling origin each unless TestSnapshots says otherwise, and returns one report per day, newest first. Days whose
// history is too short are skipped.
func Backtest(ctx context.Context, c BacktestConfig, opt pipeline.Options) ([]*pipeline.TrainReport, error) {
	if c.Input.Path == "" {
		return nil, &UsageError{fmt.Errorf("backtest needs --input")}
	}
	if c.Runs == 0 {
		c.Runs = 4
	}
	if c.Input.Quarantine == "" {
		c.Input.Quarantine = "quarantine-backtest.csv"
	}
	h, err := pipeline.LoadHistory(ctx, c.Input, opt)
	if err != nil {
		return nil, err
	}
	defer h.Release()
	if c.AsOf.IsZero() {
		c.AsOf = h.Last
	}
	tc := c.TrainConfig.TrainConfig
	tc.Registry = ""
	if tc.HorizonDays == 0 {
		tc.HorizonDays = 90
	}
	step := tc.StepDays
	if step == 0 {
		step = tc.HorizonDays
	}
	if tc.TestSnapshots == 0 {
		tc.TestSnapshots = 1 // each run is one rolling origin of the backtest
	}
	var out []*pipeline.TrainReport
	for k := 0; k < c.Runs; k++ {
		tc.AsOf = c.AsOf.AddDate(0, 0, -k*step)
		rep, _, err := pipeline.Train(ctx, h, tc, opt)
		if errors.Is(err, churn.ErrTooFewData) {
			opt.Logger.Warn("backtest: skipped", "as_of", tc.AsOf.Format(time.DateOnly), "err", err)
			continue
		}
		if err != nil {
			return out, err
		}
		out = append(out, rep)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: no as-of day had enough history", churn.ErrTooFewData)
	}
	return out, nil
}
