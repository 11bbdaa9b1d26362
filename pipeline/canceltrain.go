package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/churnpipe/churnpipe/data"
	"github.com/churnpipe/churnpipe/features/subscription"
	"github.com/churnpipe/churnpipe/models/cancel"
)

// CancelDays are the snapshot days of the subscribers' cancel model for an
// as-of day and a horizon H: the test snapshot as-of − H (its label window
// ends on the as-of day), the validation snapshot test − H (labels end on
// the test snapshot) and nTrain training snapshots val − H − j·step, oldest
// first (every training label window ends by the validation snapshot).
func CancelDays(asOf time.Time, horizonDays, stepDays, nTrain int) (train []time.Time, val, test time.Time) {
	test = asOf.AddDate(0, 0, -horizonDays)
	val = test.AddDate(0, 0, -horizonDays)
	last := val.AddDate(0, 0, -horizonDays)
	for j := nTrain - 1; j >= 0; j-- {
		train = append(train, last.AddDate(0, 0, -j*stepDays))
	}
	return train, val, test
}

// trainCancel trains the subscribers' cancel model on point-in-time
// snapshots of the history (see CancelDays): at each snapshot S the
// features are those of the nightly (subscriberFeatures, with the sBG
// fitted on the subscriptions censored at S), the population is the active
// subscribers at S, and the label is a cancel or end in (S, S + H]. It
// returns no model and a report saying why when the history has too few
// subscribers; cfg.Subscriptions.Disabled returns (nil, nil, nil).
func trainCancel(ctx context.Context, h *History, cfg TrainConfig, log *slog.Logger) (*cancel.Model, *cancel.Report, error) {
	if cfg.Subscriptions.Disabled {
		return nil, nil, nil
	}
	o := cfg.Subscriptions.withDefaults()
	H := o.HorizonDays
	trainDays, valDay, testDay := CancelDays(cfg.AsOf, H, cfg.StepDays, cfg.TrainSnapshots)
	var snaps []time.Time
	for _, d := range trainDays {
		if !d.Before(h.First) {
			snaps = append(snaps, d)
		}
	}
	snaps = append(snaps, valDay, testDay)
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
		return nil, nil, err
	}
	if err := feed(map[time.Time]*subscription.Builder{cfg.AsOf: now}); err != nil {
		return nil, nil, err
	}
	rep := &cancel.Report{HorizonDays: H}
	states := map[time.Time][]subscription.State{cfg.AsOf: now.Finish()}
	if len(states[cfg.AsOf]) == 0 {
		rep.Skipped = "the history has no subscriber"
		return nil, rep, nil
	}
	builders := map[time.Time]*subscription.Builder{}
	for _, d := range snaps {
		for _, day := range []time.Time{d, d.AddDate(0, 0, H)} {
			if _, ok := states[day]; ok || builders[day] != nil {
				continue
			}
			b, err := subscription.NewBuilder(day, o.Rules)
			if err != nil {
				return nil, nil, err
			}
			builders[day] = b
		}
	}
	if err := feed(builders); err != nil {
		return nil, nil, err
	}
	for d, b := range builders {
		states[d] = b.Finish()
	}
	rowsAt := func(d time.Time) (cancel.Set, error) {
		var s cancel.Set
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
		return s, nil
	}
	var train cancel.Set
	var days []string
	for _, d := range snaps[:len(snaps)-2] {
		s, err := rowsAt(d)
		if err != nil {
			log.Info("cancel model: training snapshot dropped", "day", d.Format(time.DateOnly), "err", err)
			continue
		}
		train.X, train.Y = append(train.X, s.X...), append(train.Y, s.Y...)
		days = append(days, d.Format(time.DateOnly))
	}
	skip := func(err error) (*cancel.Model, *cancel.Report, error) {
		if errors.Is(err, cancel.ErrTooFewData) {
			if rep.Skipped == "" {
				rep.Skipped = err.Error()
			}
			log.Warn("cancel model not trained", "reason", rep.Skipped)
			return nil, rep, nil
		}
		return nil, nil, err
	}
	val, err := rowsAt(valDay)
	if err != nil {
		return skip(err)
	}
	test, err := rowsAt(testDay)
	if err != nil {
		return skip(err)
	}
	m, r, err := cancel.Train(train, val, test, cancel.Options{Features: subscriberFeatureNames, Transforms: subscriberTransforms,
		HorizonDays: H, TrainSnapshots: days, ValidationSnapshot: valDay.Format(time.DateOnly), Test: testDay.Format(time.DateOnly)})
	*rep = r
	if err != nil {
		return skip(err)
	}
	if r.BeatsBaselines {
		log.Info("cancel model trained", "kind", m.Kind, "verdict", r.Verdict)
	} else {
		log.Warn("cancel model loses to a baseline", "kind", m.Kind, "verdict", r.Verdict)
	}
	return m, rep, nil
}
