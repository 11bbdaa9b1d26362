package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/churnpipe/churnpipe/data"
	"github.com/churnpipe/churnpipe/features/subscription"
	"github.com/churnpipe/churnpipe/models/cancel"
	"github.com/churnpipe/churnpipe/models/registry"
)

// CancelFolds are the rolling origins of the subscribers' cancel model for
// an as-of day and a horizon H, newest first: fold k tests on as-of − H −
// k·H (the test label windows do not overlap; the newest ends on the as-of
// day), calibrates on the validation snapshot H before its test snapshot
// (labels end on it) and trains on nTrain snapshots val − H − j·step,
// oldest first, so every training label window ends by the validation
// snapshot. It is Folds with the cancel model's horizon.
func CancelFolds(asOf time.Time, horizonDays, stepDays, nTrain, nTest int) []FoldDays {
	return Folds(asOf, horizonDays, stepDays, nTrain, nTest)
}

// trainCancel trains the subscribers' cancel model on point-in-time
// snapshots of the history (see CancelFolds; cfg.TestSnapshots folds): at
// each snapshot S the features are those of the nightly
// (subscriberFeatures, with the sBG fitted on the subscriptions censored at
// S), the population is the active subscribers at S, and the label is a
// cancel or end in (S, S + H]. It returns no model and a report saying why
// when the history has too few subscribers; cfg.Subscriptions.Disabled
// returns (nil, nil, nil, nil). With a model it also returns the rows of its
// test snapshots (those its report lists, newest first), which the promotion
// rule scores the champion's cancel model on.
func trainCancel(ctx context.Context, h *History, cfg TrainConfig, log *slog.Logger) (*cancel.Model, *cancel.Report, *registry.CancelTests, error) {
	if cfg.Subscriptions.Disabled {
		return nil, nil, nil, nil
	}
	o := cfg.Subscriptions.withDefaults()
	H := o.HorizonDays
	folds := CancelFolds(cfg.AsOf, H, cfg.StepDays, cfg.TrainSnapshots, cfg.TestSnapshots)
	feed := func(builders map[time.Time]*subscription.Builder) error {
		for _, r := range h.recs {
			if err := ctx.Err(); err != nil {
				return err
			}
			for _, b := range builders {
				if err := b.Add(r); err != nil {
					return err
				}
			}
		}
		return nil
	}
	// The as-of day first: a history without subscribers costs one pass.
	now, err := subscription.NewBuilder(cfg.AsOf, o.Rules)
	if err != nil {
		return nil, nil, nil, err
	}
	if err := feed(map[time.Time]*subscription.Builder{cfg.AsOf: now}); err != nil {
		return nil, nil, nil, err
	}
	rep := &cancel.Report{HorizonDays: H}
	states := map[time.Time][]subscription.State{cfg.AsOf: now.Finish()}
	if len(states[cfg.AsOf]) == 0 {
		rep.Skipped = "the history has no subscriber"
		return nil, rep, nil, nil
	}
	builders := map[time.Time]*subscription.Builder{}
	for _, f := range folds {
		for _, d := range append(append([]time.Time{}, f.Train...), f.Val, f.Test) {
			if d.Before(h.First) {
				continue
			}
			for _, day := range []time.Time{d, d.AddDate(0, 0, H)} {
				if _, ok := states[day]; ok || builders[day] != nil {
					continue
				}
				b, err := subscription.NewBuilder(day, o.Rules)
				if err != nil {
					return nil, nil, nil, err
				}
				builders[day] = b
			}
		}
	}
	if err := feed(builders); err != nil {
		return nil, nil, nil, err
	}
	for d, b := range builders {
		states[d] = b.Finish()
	}
	sets := map[time.Time]cancel.Set{}
	rowsAt := func(d time.Time) (cancel.Set, error) {
		if s, ok := sets[d]; ok {
			return s, nil
		}
		var s cancel.Set
		if d.Before(h.First) {
			return s, fmt.Errorf("%w: %s is before the history's first day", cancel.ErrTooFewData, d.Format(time.DateOnly))
		}
		m, _, err := fitRetention(states[d], o.Model)
		if err != nil {
			return s, fmt.Errorf("%w: no %s fit at %s: %v", cancel.ErrTooFewData, o.Model, d.Format(time.DateOnly), err)
		}
		t0 := data.DayOf(d.UnixMilli())
		exit := map[string]int32{}
		for _, st := range states[d.AddDate(0, 0, H)] {
			exit[st.ID] = st.LastExit
		}
		for _, st := range states[d] {
			if st.Status != subscription.StatusActive {
				continue
			}
			y := 0.0
			if e, ok := exit[st.ID]; ok && e > t0 {
				y = 1
			}
			s.X, s.Y = append(s.X, subscriberFeatures(st, m)), append(s.Y, y)
		}
		sets[d] = s
		return s, nil
	}
	var cf []cancel.Fold
	for k, f := range folds {
		fold := cancel.Fold{ValidationSnapshot: f.Val.Format(time.DateOnly), Test: f.Test.Format(time.DateOnly)}
		for _, d := range f.Train {
			s, err := rowsAt(d)
			if err != nil {
				continue // a training snapshot without subscribers yet
			}
			fold.Train.X, fold.Train.Y = append(fold.Train.X, s.X...), append(fold.Train.Y, s.Y...)
			fold.TrainSnapshots = append(fold.TrainSnapshots, d.Format(time.DateOnly))
		}
		var verr, terr error
		fold.Val, verr = rowsAt(f.Val)
		fold.TestSet, terr = rowsAt(f.Test)
		if err := errors.Join(verr, terr); err != nil || len(fold.TrainSnapshots) == 0 {
			if k == 0 {
				if err == nil {
					err = fmt.Errorf("%w: no training snapshot with subscribers before %s", cancel.ErrTooFewData, fold.ValidationSnapshot)
				}
				rep.Skipped = err.Error()
				log.Warn("cancel model not trained", "reason", rep.Skipped)
				return nil, rep, nil, nil
			}
			log.Info("cancel model: rolling origin dropped: not enough history", "test_snapshot", fold.Test)
			break
		}
		cf = append(cf, fold)
	}
	m, r, err := cancel.Train(cf, cancel.Options{Features: subscriberFeatureNames, Transforms: subscriberTransforms, HorizonDays: H})
	*rep = r
	if errors.Is(err, cancel.ErrTooFewData) {
		log.Warn("cancel model not trained", "reason", rep.Skipped)
		return nil, rep, nil, nil
	}
	if err != nil {
		return nil, nil, nil, err
	}
	if r.BeatsBaselines {
		log.Info("cancel model trained", "kind", m.Kind, "verdict", r.Verdict)
	} else {
		log.Warn("cancel model loses to a baseline", "kind", m.Kind, "verdict", r.Verdict)
	}
	tests := &registry.CancelTests{Features: subscriberFeatureNames, HorizonDays: H}
	for _, f := range cf {
		if slices.Contains(r.TestSnapshots, f.Test) {
			tests.Snapshots = append(tests.Snapshots, registry.CancelSnapshot{Day: f.Test, X: f.TestSet.X, Y: f.TestSet.Y})
		}
	}
	return m, rep, tests, nil
}
