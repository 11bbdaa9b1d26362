package pipeline

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/churnpipe/churnpipe/data"
	"github.com/churnpipe/churnpipe/data/store"
	"github.com/churnpipe/churnpipe/features/lifecycle"
	"github.com/churnpipe/churnpipe/features/rfm"
	"github.com/churnpipe/churnpipe/features/subscription"
	"github.com/churnpipe/churnpipe/internal/redact"
	"github.com/churnpipe/churnpipe/internal/retry"
	"github.com/churnpipe/churnpipe/models/churn"
	"github.com/churnpipe/churnpipe/pipeline/gate"
)

// NightlyConfig describes one nightly run.
type NightlyConfig struct {
	Input Input
	AsOf  time.Time     // the UTC day to score, inclusive
	DB    string        // sink DSN, e.g. "sqlite:predictions.db"
	Store store.Options // table names…
	RunID string        // "" = generated
	// DryRun does everything but publish: the database is read (the last
	// published night for the gates and the change columns) but neither
	// migrated nor written — no ledger row, no lock, no labels. A database
	// not migrated to this version is read as empty.
	DryRun bool
	// ReplaceCurrent publishes a night older than the current table's into
	// the current table too; without it such a night (a backfill) goes to
	// history only and its run is recorded "backfilled".
	ReplaceCurrent bool
	CLV            CLVOptions // probabilistic models (BG/NBD + Gamma-Gamma by default)
	Registry       string     // churn model registry folder; "" = no churn model
	// RegistryRequired: Registry was configured (not the default), so a
	// missing registry or one without a loadable champion fails the run
	// (ErrRegistry) instead of leaving the churn columns NULL with a warning.
	RegistryRequired bool
	// Attributes is the customer-attribute file a champion trained with
	// --attributes needs; "" = none.
	Attributes string
	Risk       churn.Thresholds // churn-risk bands; zero = 0.3 / 0.6
	Gates      gate.Config      // quality gates before publishing; zero = gate.DefaultConfig()
	// MoneyDecimals: see Models.MoneyDecimals (nil = cents).
	MoneyDecimals *int
	// ForcePublish publishes even when a gate blocks (recorded in the ledger).
	ForcePublish bool
	// FromShards, when set, is the folder of the Shards feature tables that
	// WriteShard workers wrote for AsOf: the run reads them instead of the
	// input (the finalize step of a sharded night).
	FromShards string
	Shards     int
	// Subscriptions configure the contractual setting (customers with
	// subscription events); see SubscriptionOptions.
	Subscriptions SubscriptionOptions
	// Retry bounds the retries of transient database errors (connect,
	// migrate, publish); zero = 5 attempts within 2 minutes.
	Retry retry.Policy
	// Outcomes configures prediction_outcomes and the retrain warning.
	Outcomes OutcomeOptions
}

// NightlyResult is what a run did.
type NightlyResult struct {
	Run      store.Run
	Ingest   IngestStats
	Stages   map[lifecycle.Stage]int
	Segments map[rfm.Segment]int
	Tiers    map[rfm.Tier]int
	// Crosstab counts customers by lifecycle stage × RFM segment.
	Crosstab map[lifecycle.Stage]map[rfm.Segment]int
	// Seconds spent per step: read+features, fit, score, publish.
	Seconds map[string]float64
	// Gates is the quality-gate report of the night.
	Gates gate.Report
	// Alerts counts tonight's customer_alerts rows by alert code.
	Alerts map[string]int
	// Outcomes are the all-buyers prediction_outcomes rows this run stored;
	// Retrain compares the champion's newest ones with its test figures.
	Outcomes []store.Outcome
	Retrain  RetrainAdvice
}

// timer accumulates wall-clock seconds per step.
type timer struct {
	m      map[string]float64
	last   time.Time
	onStep func(string)
}

func newTimer(onStep func(string)) *timer {
	return &timer{m: map[string]float64{}, last: time.Now(), onStep: onStep}
}

// lap charges the time since the previous lap to step.
func (t *timer) lap(step string) {
	now := time.Now()
	t.m[step] += now.Sub(t.last).Seconds()
	t.last = now
	if t.onStep != nil {
		t.onStep(step)
	}
}

// NewRunID returns a sortable, unique run identifier like
// "20240630T020000Z-3f9a1c2b".
func NewRunID(now time.Time) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return now.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b[:])
}

// Nightly runs the nightly job: read, build features, apply the rules and
// models, publish atomically, and record the run in the ledger. A failure at
// any step leaves the published table as it was and records the run as
// failed with the error.
func Nightly(ctx context.Context, cfg NightlyConfig, opt Options) (res NightlyResult, err error) {
	opt = opt.withDefaults()
	log := opt.Logger
	if cfg.RunID == "" {
		cfg.RunID = NewRunID(time.Now())
	}
	asOf := cfg.AsOf.UTC().Truncate(24 * time.Hour)
	res.Run = store.Run{ID: cfg.RunID, AsOf: asOf, Status: "running", Details: map[string]any{}}
	log = log.With("run_id", cfg.RunID, "as_of", asOf.Format(time.DateOnly))

	redact.Register(cfg.DB, cfg.Input.Path)
	pol := cfg.Retry
	pol.Retryable = store.IsTransient
	onRetry := pol.OnRetry
	pol.OnRetry = func(attempt int, err error, wait time.Duration) {
		log.Warn("database unavailable, retrying", "attempt", attempt, "wait", wait, "err", err)
		if onRetry != nil {
			onRetry(attempt, err, wait)
		}
	}
	var st store.Store
	if cfg.DryRun {
		if st, err = openDryRun(ctx, cfg, pol, log); err != nil {
			return res, err
		}
		defer st.Close()
		defer func() { // nothing recorded: the status is the result's only
			switch {
			case err == nil:
				res.Run.Status = statusDryRun
			case errors.Is(err, ErrGateBlocked):
				res.Run.Status = store.StatusBlocked
			default:
				res.Run.Status = store.StatusFailed
			}
		}()
	} else {
		var opened store.Store
		opened, err = retry.Value(ctx, pol, func(ctx context.Context) (store.Store, error) {
			st, err := store.Open(ctx, cfg.DB, withLogger(cfg.Store, log))
			if err != nil {
				return nil, err
			}
			if err := st.Migrate(ctx); err != nil {
				st.Close()
				return nil, err
			}
			return st, nil
		})
		if err != nil {
			return res, fmt.Errorf("%w: %w", ErrSink, err)
		}
		st = retryingStore{Store: opened, pol: pol}
		defer st.Close()
		var release func() error
		release, err = st.TryLock(ctx)
		if err != nil {
			if !errors.Is(err, store.ErrLocked) { // e.g. a read-only folder, a lock file that is a folder
				err = fmt.Errorf("%w: lock: %w", ErrSink, err)
			}
			return res, err
		}
		defer release()
		if err := st.StartRun(ctx, &res.Run); err != nil {
			return res, fmt.Errorf("%w: ledger: %w", ErrSink, err)
		}
		defer func() {
			res.Run.FinishedAt = time.Now().UTC()
			if errors.Is(err, ErrGateBlocked) {
				res.Run.Status = store.StatusBlocked
				res.Run.Error = redact.Scrub(err.Error())
			} else if err != nil {
				res.Run.Status = store.StatusFailed
				res.Run.Error = redact.Scrub(err.Error()) // a driver message may quote a DSN
			} else if res.Run.Details["backfill"] == true {
				res.Run.Status = store.StatusBackfilled
			} else {
				res.Run.Status = store.StatusSucceeded
			}
			// Record the outcome even when ctx was cancelled.
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			defer cancel()
			if ferr := st.FinishRun(fctx, &res.Run); ferr != nil {
				err = errors.Join(err, fmt.Errorf("%w: ledger: %w", ErrSink, ferr))
			}
		}()
	}
	log.Info("run started", "input", store.RedactDSN(cfg.Input.Path), "db", store.RedactDSN(cfg.DB), "dry_run", cfg.DryRun)

	tm := newTimer(opt.OnStep)
	res.Seconds = tm.m
	tm.lap("setup")
	pauseAt("read")
	var feat arrow.RecordBatch
	var ing IngestStats
	var subTap *SubscriberTap
	var cal *Calibration
	if cfg.FromShards != "" {
		feat, ing, err = readShards(cfg.FromShards, asOf, cfg.Shards, opt)
		if err == nil && !cfg.Subscriptions.Disabled {
			if subTap, err = readShardSubscribers(cfg.FromShards, asOf, cfg.Shards, cfg.Subscriptions); err != nil {
				feat.Release()
			} else if subTap == nil {
				log.Warn("the shard workers wrote no subscriber states: no subscription columns tonight (run the workers with this churnpipe)")
			}
		}
	} else {
		fopt := opt
		var taps []func(arrow.RecordBatch) error
		if !cfg.Subscriptions.Disabled {
			if subTap, err = newSubscriberTap(asOf, cfg.Subscriptions); err != nil {
				return res, err
			}
			taps = append(taps, subTap.Add)
		}
		if len(taps) > 0 {
			fopt.tap = func(rec arrow.RecordBatch) error {
				for _, tap := range taps {
					if err := tap(rec); err != nil {
						return err
					}
				}
				return nil
			}
		}
		side := sideOutputs{usageDays: subTap.usageDays()}
		side.calEnd, side.withCal = calibrationEnd(cfg, asOf)
		var out built
		feat, ing, out, err = buildFeatures(ctx, cfg.Input, asOf, fopt, side)
		cal = calibrationOf(out.cal, side.calEnd)
		subTap.seal(out.usage)
	}
	tm.lap("read_features")
	res.Ingest = ing
	res.Run.RowsRead, res.Run.RowsRejected, res.Run.RowsExcluded = ing.RowsRead, ing.RowsRejected, ing.RowsExcluded
	res.Run.Customers = int64(ing.Customers)
	res.Run.RowsDuplicate, res.Run.RowsIdentical = ing.RowsDuplicate, ing.RowsIdentical
	if ing.Quarantine != "" {
		res.Run.Details["quarantine"] = ing.Quarantine
	}
	if ing.RowsLongID > 0 {
		res.Run.Details["rows_rejected_long_id"] = ing.RowsLongID
	}
	if errors.Is(err, ErrNoCustomers) && ing.Feed != nil {
		// Against a published night, an input without customers is a broken feed.
		if _, gerr := feedGates(ctx, st, cfg, asOf, &res, nil, log); gerr != nil {
			return res, errors.Join(gerr, err)
		}
	}
	if err != nil {
		return res, err
	}
	defer feat.Release()
	gates, err := feedGates(ctx, st, cfg, asOf, &res, feat, log)
	if err != nil {
		return res, err
	}

	pauseAt("features")
	var clv *CLVModels
	if !cfg.CLV.Disabled {
		pauseAt("fit")
		clv, err = FitCLVHoldout(feat, cal, cfg.CLV)
		if err != nil {
			return res, err
		}
		res.Run.Details["clv"] = clv.summary()
		for _, w := range clv.Warnings {
			log.Warn(w)
		}
		if clv.Count != nil {
			log.Info("clv models fitted", "model", clv.CountFit.Model, "params", clv.CountFit.Params, "loglik", clv.CountFit.LogLik)
		}
	}
	tm.lap("fit")
	pauseAt("score")
	models := Models{CLV: clv, Risk: cfg.Risk, MoneyDecimals: cfg.MoneyDecimals}
	if models.Champion, err = loadNightChampion(cfg, log); err != nil {
		return res, err
	}
	noCancel := "churn scoring off (no registry)"
	if models.Champion.HasBuyerModel() {
		res.Run.Details["model_version"] = models.Champion.Version
	} else if models.Champion != nil {
		// A cancel-only champion: no buyer churn scores, so no model_version
		// (the churn_columns gate compares the next night with this one).
		res.Run.Details["churn_model"] = "none: champion " + models.Champion.Version + " holds only the subscribers' cancel model"
	} else if cfg.Registry != "" {
		res.Run.Details["churn_model"] = "none in " + cfg.Registry
		noCancel = "no champion in " + cfg.Registry
	} else {
		res.Run.Details["churn_model"] = "off"
	}
	if subTap != nil {
		if models.Subs, err = FitSubscribersWith(subTap, models.Champion, noCancel); err != nil {
			return res, err
		}
		if models.Subs != nil {
			res.Run.Details["subscriptions"] = models.Subs.summary()
			log.Info("subscribers", "count", len(models.Subs.States), "retention", models.Subs.Fit.Params, "cancel_model", models.Subs.Report)
		}
	}
	pred, rules, chv, err := scoreNight(feat, asOf, models, opt)
	if err != nil {
		return res, err
	}
	defer pred.Release()
	res.tally(rules)
	night, alerts, err := nightChanges(ctx, st, pred, asOf, opt, &res)
	if err != nil {
		return res, err
	}
	defer night.Release()
	tm.lap("score")

	if err := gates.final(cfg, &res, models.Champion, chv); err != nil {
		return res, err
	}
	// A night older than the current table's is a backfill: history only,
	// unless the operator asks to replace the current night.
	last, haveLast, err := st.PublishedRun(ctx)
	if err != nil {
		return res, fmt.Errorf("%w: ledger: %w", ErrSink, err)
	}
	backfill := haveLast && asOf.Before(last.AsOf.UTC().Truncate(24*time.Hour)) && !cfg.ReplaceCurrent
	if backfill {
		res.Run.Details["backfill"] = true
		res.Run.Details["current_night"] = last.AsOf.Format(time.DateOnly)
		log.Info("backfill: the night is older than the current table's; publishing it to history only (--replace-current to replace the current night)",
			"current_night", last.AsOf.Format(time.DateOnly))
	}
	if cfg.DryRun {
		res.Run.Details["dry_run"] = true
		log.Info("dry run: not publishing, nothing recorded", "customers", pred.NumRows())
		return res, nil
	}
	if err := putLabels(ctx, st); err != nil {
		return res, fmt.Errorf("%w: labels: %w", ErrSink, err)
	}
	pauseAt("publish")
	// The ledger row turns succeeded inside the publishing transaction.
	ledger := res.Run
	pub := store.Publication{RunID: cfg.RunID, AsOf: asOf, Records: []arrow.RecordBatch{night}, Alerts: alerts, Run: &ledger,
		HistoryOnly: backfill}
	if err := retry.Do(ctx, pol, func(ctx context.Context) error { return st.Publish(ctx, pub) }); err != nil {
		// An interruption (SIGTERM) during COMMIT may come after the commit:
		// the table then holds this run's night and the ledger says
		// succeeded, and so does the process.
		if pr, ok, perr := st.PublishedRun(context.WithoutCancel(ctx)); backfill || perr != nil || !ok || pr.ID != cfg.RunID {
			return res, fmt.Errorf("%w: publish: %w", ErrSink, err)
		}
		log.Warn("published: the commit completed before the error", "err", err)
		pauseAt("published")
		return res, nil
	}
	tm.lap("publish")
	pauseAt("published")
	log.Info("published", "customers", pred.NumRows(), "alerts", len(alerts))
	nightOutcomes(ctx, st, cfg, asOf, models.Champion, opt.withLogger(log), &res)
	tm.lap("outcomes")
	return res, nil
}

// openDryRun opens the store read-only, without migrating it; a database
// without a file or without every migration is read as one that has
// published nothing.
func openDryRun(ctx context.Context, cfg NightlyConfig, pol retry.Policy, log *slog.Logger) (store.Store, error) {
	so := withLogger(cfg.Store, log)
	so.ReadOnly = true
	st, err := retry.Value(ctx, pol, func(ctx context.Context) (store.Store, error) {
		return store.Open(ctx, cfg.DB, so)
	})
	if errors.Is(err, store.ErrNoDatabase) {
		log.Info("dry run: no database yet, nothing published to compare with")
		return emptyStore{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSink, err)
	}
	ok, err := st.Migrated(ctx)
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("%w: %w", ErrSink, err)
	}
	if !ok {
		st.Close()
		log.Warn("dry run: the database is not migrated to this version of churnpipe and stays so; the night is compared with nothing published")
		return emptyStore{}, nil
	}
	return retryingStore{Store: st, pol: pol}, nil
}

// statusDryRun is the status of a dry run's result; no ledger row has it.
const statusDryRun = "dry_run"

// emptyStore is a store that has published nothing: what a dry run reads
// from a database it must not migrate. Only a dry run's reads are
// implemented.
type emptyStore struct{ store.Store }

func (emptyStore) PublishedRun(context.Context) (store.Run, bool, error) {
	return store.Run{}, false, nil
}
func (emptyStore) PreviousNight(context.Context, time.Time) (store.PreviousNight, error) {
	return store.PreviousNight{}, nil
}
func (emptyStore) Close() error { return nil }

// ErrGateBlocked is returned when a quality gate blocks publishing.
var ErrGateBlocked = errors.New("quality gate blocked publishing")

// ErrSink marks failures of the prediction store (connect, migrate, publish).
var ErrSink = errors.New("sink")

func withLogger(o store.Options, l *slog.Logger) store.Options {
	if o.Logger == nil {
		o.Logger = l
	}
	return o
}

// Models are what a night scores with beyond the rules; every field may be
// nil/zero, and the corresponding columns are then null.
type Models struct {
	CLV      *CLVModels
	Champion *Champion
	Risk     churn.Thresholds // zero = churn.DefaultThresholds()
	// MoneyDecimals is the number of decimals the money columns
	// (historic_value, expected_avg_spend, predicted_clv_12m and their
	// interval bounds) are rounded to: nil = DefaultMoneyDecimals (cents);
	// negative = unrounded.
	MoneyDecimals *int
	// Subs, when non-nil, scores the subscribers (contractual setting).
	Subs *Subscribers
}

// Score turns a feature table at asOf into the prediction record (caller
// releases): rules, CLV, churn, value tier (by predicted CLV when there is
// one) and the value × risk segment.
func Score(feat arrow.RecordBatch, asOf time.Time, m Models, opt Options) (arrow.RecordBatch, Rules, error) {
	rec, rules, _, err := scoreNight(feat, asOf, m, opt)
	return rec, rules, err
}

func scoreNight(feat arrow.RecordBatch, asOf time.Time, m Models, opt Options) (arrow.RecordBatch, Rules, churnValues, error) {
	var none churnValues
	opt = opt.withDefaults()
	if m.Risk == (churn.Thresholds{}) {
		m.Risk = churn.DefaultThresholds()
	}
	if err := m.Risk.Validate(); err != nil {
		return nil, Rules{}, none, err
	}
	rules, err := ApplyRulesWith(feat, opt.Rules, opt.Segments)
	if err != nil {
		return nil, Rules{}, none, err
	}
	fc, err := newFeatureCols(feat)
	if err != nil {
		return nil, Rules{}, none, err
	}
	cv, err := m.CLV.score(fc, data.DayOf(asOf.UnixMilli()))
	if err != nil {
		return nil, Rules{}, none, err
	}
	chv, err := m.Champion.score(feat, fc, asOf)
	if err != nil {
		return nil, Rules{}, none, err
	}
	var segs, risks []string
	subRows := m.Subs.rowsOf(fc)
	rules.Tiers, segs, risks = predictiveSegments(fc, cv, chv, rules, m.Risk, subRows)
	subCols := m.Subs.apply(fc, subRows, &rules, &chv, segs, risks, m.Risk)
	cols := ruleColumns(fc, rules)
	cols = append(cols, clvColumns(cv)...)
	cols = append(cols, churnColumns(chv, segs, risks)...)
	cols = append(cols, subCols...)
	dec, err := moneyDecimals(m.MoneyDecimals)
	if err != nil {
		return nil, Rules{}, none, err
	}
	raw := buildRecord(opt.Alloc, int(feat.NumRows()), cols)
	defer raw.Release()
	return roundMoneyColumns(opt.Alloc, raw, dec), rules, chv, nil
}

func putLabels(ctx context.Context, st store.Store) error {
	var stages []store.Label
	for _, l := range lifecycle.Labels() {
		stages = append(stages, store.Label{Code: string(l.Code), English: l.English, Chinese: l.Chinese, Action: l.Action})
	}
	for _, l := range subscription.Labels() {
		stages = append(stages, store.Label{Code: string(l.Code), English: l.English, Chinese: l.Chinese, Action: l.Action})
	}
	if err := st.PutLabels(ctx, "stage_labels", stages); err != nil {
		return err
	}
	var segs []store.Label
	for _, l := range rfm.Labels() {
		segs = append(segs, store.Label{Code: string(l.Code), English: l.English, Chinese: l.Chinese, Action: l.Action})
	}
	for _, l := range churn.SegmentLabels() {
		segs = append(segs, store.Label{Code: l.Code, English: l.English, Chinese: l.Chinese, Action: l.Action})
	}
	return st.PutLabels(ctx, "segment_labels", segs)
}

func (res *NightlyResult) tally(r Rules) {
	res.Stages = map[lifecycle.Stage]int{}
	res.Segments = map[rfm.Segment]int{}
	res.Tiers = map[rfm.Tier]int{}
	res.Crosstab = map[lifecycle.Stage]map[rfm.Segment]int{}
	for i, s := range r.Stages {
		res.Stages[s]++
		res.Segments[r.Segments[i]]++
		res.Tiers[r.Tiers[i]]++
		if res.Crosstab[s] == nil {
			res.Crosstab[s] = map[rfm.Segment]int{}
		}
		res.Crosstab[s][r.Segments[i]]++
	}
}
