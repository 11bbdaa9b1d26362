package jobs

import (
	"context"
	"fmt"
	"time"

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
