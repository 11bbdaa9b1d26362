package pipeline

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/churnpipe/churnpipe/features"
	"github.com/churnpipe/churnpipe/features/subscription"
)

// shardSubscribers is what a shard worker writes next to its feature table
// for the contractual setting: the states of its subscribers at the as-of
// day and HorizonDays before it (the training snapshot of a cancel model
// fitted tonight), and the rules they were built with. The finalize step
// has no events: it merges these instead of running a SubscriberTap.
type shardSubscribers struct {
	Rules       subscription.Rules   `json:"rules"`
	HorizonDays int                  `json:"horizon_days"`
	Now         []subscription.State `json:"now"`
	Past        []subscription.State `json:"past"`
}

func shardSubscribersPath(base string) string { return base + ".subscribers.json" }

// shardTap returns the tap of a shard worker: it follows the customers of
// shard i of n only.
func shardTap(asOf time.Time, o SubscriptionOptions, i, n int) (*SubscriberTap, error) {
	t, err := newSubscriberTap(asOf, o)
	if err != nil {
		return nil, err
	}
	keep := func(id string) bool { return features.ShardOf(id, n) == i }
	t.now.Keep, t.past.Keep = keep, keep
	return t, nil
}

// writeShardSubscribers saves the worker's subscriber states (t nil: the
// setting is disabled, and a file of an earlier run is removed).
func writeShardSubscribers(base string, t *SubscriberTap) error {
	path := shardSubscribersPath(base)
	if t == nil {
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return nil
	}
	return saveJSON(path, shardSubscribers{Rules: t.o.Rules, HorizonDays: t.o.HorizonDays, Now: t.finishNow(), Past: t.finishPast()})
}

// readShardSubscribers merges the n workers' subscriber states into a tap
// that hands them to FitSubscribersWith, in the single run's order (by
// customer id), so that N shards fit and publish what one run does. It
// returns nil when no worker wrote states (workers with the setting
// disabled, or of a churnpipe before it); some but not all, or states built
// with other rules than the night's, are an error wrapping ErrShards.
func readShardSubscribers(dir string, asOf time.Time, n int, o SubscriptionOptions) (*SubscriberTap, error) {
	o = o.withDefaults()
	var now, past []subscription.State
	found := 0
	for i := 0; i < n; i++ {
		path := shardSubscribersPath(shardBase(dir, asOf, i, n))
		b, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrShards, err)
		}
		var s shardSubscribers
		if err := json.Unmarshal(b, &s); err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrShards, path, err)
		}
		if s.Rules != o.Rules || s.HorizonDays != o.HorizonDays {
			return nil, fmt.Errorf("%w: %s: shard %d built its subscribers with rules %+v and a %d-day horizon, the night has %+v and %d: run the workers with the same subscriptions configuration",
				ErrShards, path, i, s.Rules, s.HorizonDays, o.Rules, o.HorizonDays)
		}
		found++
		now, past = append(now, s.Now...), append(past, s.Past...)
	}
	switch {
	case found == 0:
		return nil, nil
	case found < n:
		return nil, fmt.Errorf("%w: %d of the %d shards of %s wrote no subscriber states (%s): run every worker with the same churnpipe and configuration",
			ErrShards, n-found, n, asOf.Format(time.DateOnly), shardSubscribersPath(shardBase(dir, asOf, 0, n)))
	}
	byID := func(a, b subscription.State) int { return strings.Compare(a.ID, b.ID) }
	slices.SortFunc(now, byID)
	slices.SortFunc(past, byID)
	return &SubscriberTap{asOf: asOf, o: o, loaded: true, nowStates: now, pastStates: past}, nil
}
