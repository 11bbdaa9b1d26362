package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"gonum.org/v1/gonum/mat"

	"github.com/churnpipe/churnpipe/data/store"
	"github.com/churnpipe/churnpipe/pipeline/gate"
)

// gateState carries the night's gate inputs from the feed checks (right
// after reading, before any model is fitted) to the final evaluation.
type gateState struct {
	cfg  gate.Config
	in   gate.Input
	last *nightProfile // the last published night's profile; nil = none
	// refs are tonight's feature columns binned, for its profile.
	refs    map[string]gate.Reference
	compare []gate.Comparison
	log     *slog.Logger
	// lastRun is the last published run (haveLast), for churnColumnsGate.
	lastRun  store.Run
	haveLast bool
}

func gateConfig(cfg NightlyConfig) gate.Config {
	gc := cfg.Gates
	if gc == (gate.Config{}) {
		gc = gate.DefaultConfig()
	}
	// One reject limit: the input's (checked already while reading, exit code 3).
	gc.MaxReject = cfg.Input.MaxReject
	return gc
}

// profileOf decodes the profile a run recorded in its details.
func profileOf(details map[string]any) *nightProfile {
	raw, ok := details["profile"]
	if !ok {
		return nil
	}
	b, err := json.Marshal(raw)
	if err != nil {
		return nil
	}
	var p nightProfile
	if json.Unmarshal(b, &p) != nil {
		return nil
	}
	return &p
}

// feedGates runs the checks that need no model: volumes and customers
// against the last published night, the input's day counts, time span,
// event-type mix and amounts, and the feature distributions night over
// night. feat is nil when the input had no customer at the as-of day. It
// returns ErrGateBlocked when a check blocks and publishing is not forced.
func feedGates(ctx context.Context, st store.Store, cfg NightlyConfig, asOf time.Time, res *NightlyResult, feat arrow.RecordBatch, log *slog.Logger) (*gateState, error) {
	gs := &gateState{cfg: gateConfig(cfg), log: log}
	gs.in = gate.Input{RowsRead: res.Ingest.RowsRead, RowsRejected: res.Ingest.RowsRejected,
		Customers: int64(res.Ingest.Customers), Feed: res.Ingest.Feed}
	last, ok, err := st.PublishedRun(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: ledger: %w", ErrSink, err)
	}
	if feat == nil && (!ok || res.Ingest.RowsRead == 0 || asOf.Before(last.AsOf)) {
		// No customer at the as-of day: a broken feed only when rows were
		// read and the night moves forward from a published one (a
		// history shifted into the future); otherwise the input error stands.
		return gs, nil
	}
	gs.lastRun, gs.haveLast = last, ok
	if ok {
		gs.in.Last = &gate.Baseline{RunID: last.ID, Rows: last.RowsRead, Customers: last.Customers}
		if gs.last = profileOf(last.Details); gs.last != nil {
			gs.in.LastFeed = gs.last.Feed
		}
	}
	if feat != nil {
		// Tonight's binned profile for the next night and the
		// night-over-night check are kept, not the feature values.
		var lastRefs map[string]gate.Reference
		if gs.last != nil && len(gs.last.Features) > 0 {
			lastRefs = gs.last.Features
		}
		refs, drifts, cmp, compared := tonightProfile(feat, lastRefs, last.AsOf, asOf)
		if compared {
			cmp.Against = "run " + last.ID + ", " + cmp.Against
			gs.compare = append(gs.compare, cmp)
		}
		gs.in.NightChecked = gate.NightFeatureCheckOf(gs.cfg, drifts)
		gs.refs = refs
	}
	if rep := gate.Evaluate(gs.cfg, gs.in); rep.Blocked() && !cfg.ForcePublish {
		return gs, gs.record(cfg, res, rep, nil)
	}
	return gs, nil // recorded by final, with the model checks
}

// final adds the champion's checks (its reference on the calendar-stable
// features, its scores) and the scores night over night, and records the
// full report and tonight's profile.
func (gs *gateState) final(cfg NightlyConfig, res *NightlyResult, ch *Champion, chv churnValues) error {
	in := gs.in
	compare := gs.compare
	if ch.HasBuyerModel() && chv.X != nil {
		r, _ := chv.X.Dims()
		col := func(j int) []float64 {
			v := make([]float64, r)
			mat.Col(v, j, chv.X)
			return v
		}
		if ch.Refs != nil {
			names, notCompared := championScope(ch.Model.Features)
			use := map[string]bool{}
			for _, n := range names {
				if _, ok := ch.Refs.Features[n]; ok {
					use[n] = true
				}
			}
			in.FeatureRefs, in.Features = map[string]gate.Reference{}, map[string][]float64{}
			cmp := gate.Comparison{Check: gate.CheckFeaturePSI, NotCompared: notCompared,
				Against: fmt.Sprintf("champion %s's reference (its test snapshot, one churn horizon before its training day)", ch.Version)}
			for j, n := range ch.Model.Features {
				if use[n] {
					in.FeatureRefs[n], in.Features[n] = ch.Refs.Features[n], col(j)
					cmp.Features = append(cmp.Features, n)
				}
			}
			compare = append(compare, cmp)
			in.ScoreRef = ch.Refs.Score
		}
		in.Scores = make([]float64, len(chv.rows))
		for k, i := range chv.rows {
			in.Scores[k] = chv.prob[i]
		}
		if gs.last != nil {
			in.NightScoreRef = gs.last.Score
		}
	}
	rep := gate.Evaluate(gs.cfg, in)
	rep = churnColumnsGate(rep, gs.lastRun, gs.haveLast, ch, cfg.Registry)
	rep.Compared = compare
	return gs.record(cfg, res, rep, in.Scores)
}

// record stores rep and tonight's profile in the run, logs the warnings and
// returns ErrGateBlocked when rep blocks and publishing is not forced.
func (gs *gateState) record(cfg NightlyConfig, res *NightlyResult, rep gate.Report, scores []float64) error {
	if rep.Compared == nil {
		rep.Compared = gs.compare
	}
	if rep.Blocked() && cfg.ForcePublish {
		rep.Forced = true
	}
	res.Gates = rep
	res.Run.Details["gates"] = rep
	res.Run.Details["profile"] = newNightProfile(gs.in.Feed, gs.refs, scores)
	for _, r := range rep.Failed(gate.Warn) {
		gs.log.Warn("quality gate warning", "gate", r.Name, "value", r.Value, "message", r.Message)
	}
	if rep.Blocked() {
		for _, r := range rep.Failed(gate.Block) {
			gs.log.Warn("quality gate blocks", "gate", r.Name, "value", r.Value, "message", r.Message, "forced", cfg.ForcePublish)
		}
		if !cfg.ForcePublish {
			return fmt.Errorf("%w: %s (use --force-publish to override)", ErrGateBlocked, rep.Summary())
		}
	}
	return nil
}
