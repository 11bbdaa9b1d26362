package retry_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/churnpipe/churnpipe/internal/retry"
)

// fakeClock advances only when Do waits; After fires at once.
type fakeClock struct {
	mu    sync.Mutex
	now   time.Time
	waits []time.Duration
	block bool // After never fires (to test cancellation)
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Date(2024, 6, 30, 2, 15, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.waits = append(c.waits, d)
	ch := make(chan time.Time, 1)
	if !c.block {
		c.now = c.now.Add(d)
		ch <- c.now
	}
	return ch
}

var errTransient = errors.New("connection reset")
var errPermanent = errors.New("syntax error")

func isTransient(err error) bool { return errors.Is(err, errTransient) }

// failing returns fn failing with errs in turn, then succeeding.
func failing(calls *int, errs ...error) func(context.Context) error {
	return func(context.Context) error {
		*calls++
		if *calls <= len(errs) {
			return errs[*calls-1]
		}
		return nil
	}
}

func TestBackoffWithoutJitterDoubles(t *testing.T) {
	p := retry.Policy{Initial: 100 * time.Millisecond, Max: time.Second, Jitter: -1}
	// 100·2^(k−1) ms capped at 1 s
	want := []time.Duration{100, 200, 400, 800, 1000, 1000}
	for i := range want {
		want[i] *= time.Millisecond
	}
	assert.Equal(t, want, p.Backoff(7))
}

func TestBackoffJitterBoundsAndSeed(t *testing.T) {
	p := retry.Policy{Initial: 100 * time.Millisecond, Max: 10 * time.Second, Jitter: 0.5, Seed: 42}
	a, b := p.Backoff(8), p.Backoff(8)
	assert.Equal(t, a, b, "same seed, same waits")
	p2 := p
	p2.Seed = 43
	assert.NotEqual(t, a, p2.Backoff(8))
	for k, w := range a {
		full := 100 * time.Millisecond << k
		assert.LessOrEqual(t, w, full, "wait %d", k)
		assert.GreaterOrEqual(t, w, full/2, "wait %d", k)
	}
}

func TestDo(t *testing.T) {
	base := retry.Policy{Attempts: 4, Initial: time.Second, Max: time.Minute, Jitter: -1, MaxElapsed: time.Hour, Retryable: isTransient}
	cases := []struct {
		name      string
		errs      []error
		policy    func(p *retry.Policy)
		calls     int
		waits     []time.Duration
		wantErr   error
		exhausted bool
	}{
		{name: "first try", calls: 1},
		{name: "two transient then ok", errs: []error{errTransient, errTransient}, calls: 3,
			waits: []time.Duration{time.Second, 2 * time.Second}},
		{name: "permanent not retried", errs: []error{errPermanent}, calls: 1, wantErr: errPermanent},
		{name: "transient then permanent", errs: []error{errTransient, errPermanent}, calls: 2,
			waits: []time.Duration{time.Second}, wantErr: errPermanent},
		{name: "attempts used up", errs: []error{errTransient, errTransient, errTransient, errTransient, errTransient}, calls: 4,
			waits: []time.Duration{time.Second, 2 * time.Second, 4 * time.Second}, wantErr: errTransient, exhausted: true},
		// 1 s + 2 s waited; the next wait of 4 s would end at 7 s > 5 s: give up without waiting.
		{name: "time budget", errs: []error{errTransient, errTransient, errTransient, errTransient}, calls: 3,
			policy: func(p *retry.Policy) { p.MaxElapsed = 5 * time.Second },
			waits:  []time.Duration{time.Second, 2 * time.Second}, wantErr: errTransient, exhausted: true},
		{name: "nil classifier retries all", errs: []error{errPermanent}, calls: 2,
			policy: func(p *retry.Policy) { p.Retryable = nil }, waits: []time.Duration{time.Second}},
		{name: "context error never retried", errs: []error{fmt.Errorf("query: %w", context.DeadlineExceeded)}, calls: 1,
			policy: func(p *retry.Policy) { p.Retryable = nil }, wantErr: context.DeadlineExceeded},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clk := newFakeClock()
			p := base
			p.Clock = clk
			if tc.policy != nil {
				tc.policy(&p)
			}
			var logged []int
			p.OnRetry = func(attempt int, err error, wait time.Duration) { logged = append(logged, attempt) }
			calls := 0
			err := retry.Do(context.Background(), p, failing(&calls, tc.errs...))
			assert.Equal(t, tc.calls, calls)
			assert.Equal(t, tc.waits, clk.waits)
			assert.Len(t, logged, len(tc.waits))
			if tc.wantErr == nil {
				assert.NoError(t, err)
				return
			}
			assert.ErrorIs(t, err, tc.wantErr)
			assert.Equal(t, tc.exhausted, errors.Is(err, retry.ErrExhausted), "%v", err)
		})
	}
}

func TestDoCancelledWhileWaiting(t *testing.T) {
	clk := newFakeClock()
	clk.block = true
	ctx, cancel := context.WithCancel(context.Background())
	p := retry.Policy{Clock: clk, Retryable: isTransient, OnRetry: func(int, error, time.Duration) { cancel() }}
	calls := 0
	err := retry.Do(ctx, p, failing(&calls, errTransient, errTransient))
	assert.Equal(t, 1, calls)
	assert.ErrorIs(t, err, context.Canceled)
	assert.ErrorIs(t, err, errTransient, "the last error is kept")
	assert.NotErrorIs(t, err, retry.ErrExhausted)

	calls = 0
	err = retry.Do(ctx, p, failing(&calls))
	assert.ErrorIs(t, err, context.Canceled, "a done context is not attempted")
	assert.Zero(t, calls)
}

// With the real clock and tiny waits, the total time stays within the
// budget (no sleeping > 50 ms in this test).
func TestDoRealClockBounded(t *testing.T) {
	p := retry.Policy{Attempts: 100, Initial: time.Millisecond, Max: 5 * time.Millisecond, MaxElapsed: 30 * time.Millisecond, Retryable: isTransient}
	start := time.Now()
	calls := 0
	err := retry.Do(context.Background(), p, func(context.Context) error { calls++; return errTransient })
	require.ErrorIs(t, err, retry.ErrExhausted)
	assert.Less(t, time.Since(start), 45*time.Millisecond)
	assert.Greater(t, calls, 3)
	assert.Less(t, calls, 100)
}

func TestValue(t *testing.T) {
	clk := newFakeClock()
	n := 0
	v, err := retry.Value(context.Background(), retry.Policy{Clock: clk, Retryable: isTransient},
		func(context.Context) (int, error) {
			n++
			if n < 3 {
				return 0, errTransient
			}
			return 42, nil
		})
	require.NoError(t, err)
	assert.Equal(t, 42, v)
	assert.Len(t, clk.waits, 2)
}

func ExampleDo() {
	attempts := 0
	p := retry.Policy{
		Initial: time.Millisecond, Jitter: -1,
		Retryable: func(err error) bool { return err.Error() == "busy" },
		OnRetry: func(attempt int, err error, wait time.Duration) {
			fmt.Printf("attempt %d: %v; retrying in %s\n", attempt, err, wait)
		},
	}
	err := retry.Do(context.Background(), p, func(context.Context) error {
		attempts++
		if attempts < 3 {
			return errors.New("busy")
		}
		return nil
	})
	fmt.Println("err:", err)
	// Output:
	// attempt 1: busy; retrying in 1ms
	// attempt 2: busy; retrying in 2ms
	// err: <nil>
}
