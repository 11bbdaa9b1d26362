package pipeline

import (
	"context"
	"time"

	"github.com/churnpipe/churnpipe/data/store"
	"github.com/churnpipe/churnpipe/internal/retry"
)

// retryingStore retries the ledger and read/write calls a night makes
// around its publication when they fail with a transient error
// (store.IsTransient: connection refused or reset, PostgreSQL shutting down
// or restarting, SQLite busy…), under the night's retry policy — so a
// database restart of a few seconds at the start or the end of a night does
// not fail it. Publish is retried by the caller, Migrate with the opening;
// TryLock and Close are not retried.
type retryingStore struct {
	store.Store
	pol retry.Policy
}

func (s retryingStore) do(ctx context.Context, fn func(ctx context.Context) error) error {
	return retry.Do(ctx, s.pol, fn)
}

func (s retryingStore) StartRun(ctx context.Context, r *store.Run) error {
	return s.do(ctx, func(ctx context.Context) error { return s.Store.StartRun(ctx, r) })
}

func (s retryingStore) FinishRun(ctx context.Context, r *store.Run) error {
	return s.do(ctx, func(ctx context.Context) error { return s.Store.FinishRun(ctx, r) })
}

func (s retryingStore) PutLabels(ctx context.Context, table string, labels []store.Label) error {
	return s.do(ctx, func(ctx context.Context) error { return s.Store.PutLabels(ctx, table, labels) })
}

func (s retryingStore) LastRun(ctx context.Context, status string) (r store.Run, ok bool, err error) {
	err = s.do(ctx, func(ctx context.Context) error {
		r, ok, err = s.Store.LastRun(ctx, status)
		return err
	})
	return r, ok, err
}

func (s retryingStore) PublishedRun(ctx context.Context) (r store.Run, ok bool, err error) {
	err = s.do(ctx, func(ctx context.Context) error {
		r, ok, err = s.Store.PublishedRun(ctx)
		return err
	})
	return r, ok, err
}

func (s retryingStore) PreviousNight(ctx context.Context, asOf time.Time) (p store.PreviousNight, err error) {
	err = s.do(ctx, func(ctx context.Context) error {
		p, err = s.Store.PreviousNight(ctx, asOf)
		return err
	})
	return p, err
}

func (s retryingStore) OutcomeNights(ctx context.Context, through time.Time) (n []time.Time, err error) {
	err = s.do(ctx, func(ctx context.Context) error {
		n, err = s.Store.OutcomeNights(ctx, through)
		return err
	})
	return n, err
}

func (s retryingStore) NightRows(ctx context.Context, asOf time.Time) (rows []store.NightRow, err error) {
	err = s.do(ctx, func(ctx context.Context) error {
		rows, err = s.Store.NightRows(ctx, asOf)
		return err
	})
	return rows, err
}

func (s retryingStore) PutOutcomes(ctx context.Context, asOf time.Time, rows []store.Outcome) error {
	return s.do(ctx, func(ctx context.Context) error { return s.Store.PutOutcomes(ctx, asOf, rows) })
}

func (s retryingStore) Outcomes(ctx context.Context, allDeciles bool) (out []store.Outcome, err error) {
	err = s.do(ctx, func(ctx context.Context) error {
		out, err = s.Store.Outcomes(ctx, allDeciles)
		return err
	})
	return out, err
}

func (s retryingStore) Alerts(ctx context.Context, asOf time.Time) (out []store.Alert, err error) {
	err = s.do(ctx, func(ctx context.Context) error {
		out, err = s.Store.Alerts(ctx, asOf)
		return err
	})
	return out, err
}
