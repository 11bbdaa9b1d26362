package retry

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// ErrExhausted is wrapped by the error Do returns when it gave up on a
// retryable error (attempts or time used up); the last error is wrapped too.
var ErrExhausted = errors.New("retry: gave up")

// Clock is the time source; tests pass a fake one.
type Clock interface {
	Now() time.Time
	// After returns a channel that receives once d has passed.
	After(d time.Duration) <-chan time.Time
}

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// Policy configures Do. The zero value is usable: the defaults are in
// brackets.
type Policy struct {
	Attempts   int           // attempts in all, the first included [no limit: MaxElapsed decides]
	Initial    time.Duration // first wait [200ms]
	Max        time.Duration // longest single wait [30s]
	Multiplier float64       // growth of the wait [2]
	Jitter     float64       // fraction of the wait drawn at random, in [0, 1] [0.5]; negative = none
	MaxElapsed time.Duration // total time budget from the first attempt [2m]
	Seed       uint64        // jitter seed; the same seed gives the same waits
	// Retryable says whether an error is worth another attempt (e.g.
	// store.IsTransient). nil retries every error except context errors.
	Retryable func(error) bool
	// OnRetry, if set, is called before each wait (for logging).
	OnRetry func(attempt int, err error, wait time.Duration)
	Clock   Clock // nil = the real clock
}

func (p Policy) withDefaults() Policy {
	if p.Attempts <= 0 {
		p.Attempts = math.MaxInt
	}
	if p.Initial <= 0 {
		p.Initial = 200 * time.Millisecond
	}
	if p.Max <= 0 {
		p.Max = 30 * time.Second
	}
	if p.Multiplier < 1 {
		p.Multiplier = 2
	}
	switch {
	case p.Jitter == 0:
		p.Jitter = 0.5
	case p.Jitter < 0:
		p.Jitter = 0
	case p.Jitter > 1:
		p.Jitter = 1
	}
	if p.MaxElapsed <= 0 {
		p.MaxElapsed = 2 * time.Minute
	}
	if p.Clock == nil {
		p.Clock = realClock{}
	}
	return p
}

// Backoff returns the waits after attempts 1, 2, …, n−1 under p (jitter
// included), as Do would wait if every attempt failed and no time passed
// besides the waits. It ignores MaxElapsed.
func (p Policy) Backoff(n int) []time.Duration {
	p = p.withDefaults()
	rng := rand.New(rand.NewPCG(p.Seed, 0x5eed))
	var out []time.Duration
	for k := 1; k < n; k++ {
		out = append(out, p.wait(k, rng))
	}
	return out
}

func (p Policy) wait(k int, rng *rand.Rand) time.Duration {
	d := float64(p.Initial) * math.Pow(p.Multiplier, float64(k-1))
	d = math.Min(d, float64(p.Max))
	return time.Duration(d * (1 - p.Jitter*rng.Float64()))
}

// Do calls fn until it succeeds, returns an error that is not retryable,
// the attempts or MaxElapsed are used up, or ctx is done. It returns nil,
// the non-retryable error as is, an error wrapping ErrExhausted and the last
// error, or an error wrapping ctx.Err() and the last error.
func Do(ctx context.Context, p Policy, fn func(ctx context.Context) error) error {
	_, err := Value(ctx, p, func(ctx context.Context) (struct{}, error) { return struct{}{}, fn(ctx) })
	return err
}

// Value is Do for an operation that returns a value.
func Value[T any](ctx context.Context, p Policy, fn func(ctx context.Context) (T, error)) (T, error) {
	p = p.withDefaults()
	rng := rand.New(rand.NewPCG(p.Seed, 0x5eed))
	start := p.Clock.Now()
	for attempt := 1; ; attempt++ {
		if err := ctx.Err(); err != nil {
			var zero T
			return zero, err
		}
		v, err := fn(ctx)
		if err == nil {
			return v, nil
		}
		if !retryable(p, err) {
			return v, err
		}
		elapsed := p.Clock.Now().Sub(start)
		if attempt >= p.Attempts {
			return v, fmt.Errorf("%w after %d attempts in %s: %w", ErrExhausted, attempt, elapsed.Round(time.Millisecond), err)
		}
		w := p.wait(attempt, rng)
		if elapsed+w > p.MaxElapsed {
			return v, fmt.Errorf("%w after %d attempts in %s (time budget %s): %w", ErrExhausted, attempt, elapsed.Round(time.Millisecond), p.MaxElapsed, err)
		}
		if p.OnRetry != nil {
			p.OnRetry(attempt, err, w)
		}
		select {
		case <-ctx.Done():
			return v, fmt.Errorf("%w while waiting to retry: %w", ctx.Err(), err)
		case <-p.Clock.After(w):
		}
	}
}

func retryable(p Policy, err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	if p.Retryable == nil {
		return true
	}
	return p.Retryable(err)
}
