package jobs

import (
	"context"
	"errors"
	"fmt"

	"github.com/churnpipe/churnpipe/data/store"
	"github.com/churnpipe/churnpipe/pipeline"
)

// ErrRetrainRecommended is returned by CheckRetrain when the champion's
// realized figures fell behind its test figures (exit code
// ExitRetrainRecommended).
var ErrRetrainRecommended = errors.New("retrain recommended")

// CheckRetrain reads prediction_outcomes of the configured database and
// compares the champion's newest realized AUC and ECE with its own test
// figures in the registry (margins: Outcomes.MaxAUCDrop, MaxECERise). The
// error wraps ErrRetrainRecommended when retraining is recommended.
func CheckRetrain(ctx context.Context, cfg NightlyConfig) (pipeline.RetrainAdvice, error) {
	var adv pipeline.RetrainAdvice
	if cfg.DB == "" {
		cfg.DB = DefaultDB
	}
	ch, err := pipeline.LoadChampion(cfg.Registry)
	if err != nil {
		return adv, err
	}
	if ch == nil {
		adv.Reason = "no champion in the registry " + cfg.Registry
		return adv, nil
	}
	if !ch.HasBuyerModel() {
		adv.Reason = pipeline.NoBuyerOutcomes(ch.Version)
		return adv, nil
	}
	test, err := pipeline.ModelMetrics(cfg.Registry, ch.Version)
	if err != nil {
		return adv, err
	}
	st, err := store.Open(ctx, cfg.DB, cfg.Store)
	if err != nil {
		return adv, fmt.Errorf("%w: %w", pipeline.ErrSink, err)
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		return adv, fmt.Errorf("%w: %w", pipeline.ErrSink, err)
	}
	all, err := st.Outcomes(ctx, false)
	if err != nil {
		return adv, fmt.Errorf("%w: %w", pipeline.ErrSink, err)
	}
	adv = pipeline.AdviseRetrain(all, ch.Version, test, cfg.Outcomes)
	if adv.Recommended {
		return adv, fmt.Errorf("%w: %s", ErrRetrainRecommended, adv.Reason)
	}
	return adv, nil
}
