package pipeline

import (
	"fmt"
	"hash/fnv"
	"math"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/churnpipe/churnpipe/data"
	"github.com/churnpipe/churnpipe/features"
	"github.com/churnpipe/churnpipe/features/lifecycle"
	"github.com/churnpipe/churnpipe/features/rfm"
	"github.com/churnpipe/churnpipe/features/subscription"
	"github.com/churnpipe/churnpipe/models/cancel"
	"github.com/churnpipe/churnpipe/models/churn"
	"github.com/churnpipe/churnpipe/models/logit"
	"github.com/churnpipe/churnpipe/models/metrics"
	"github.com/churnpipe/churnpipe/models/sbg"
)

// Columns of the prediction table for subscribers (migration 8); null for
// buyers. docs/crm-contract.md documents them.
const (
	PredSubscriptionStatus   = "subscription_status"
	PredRenewalDate          = "renewal_date"
	PredPRenewNext           = "p_renew_next"
	PredExpectedResidualLife = "expected_residual_lifetime"
	PredResidualCLV          = "residual_clv"
)

// SubscriptionOptions configure the contractual setting of a night: the
// customers with subscription events (see package features/subscription).
type SubscriptionOptions struct {
	Disabled bool
	Rules    subscription.Rules // see subscription.Rules.WithDefaults (zero = the defaults)
	// Model is the retention model: "sbg" (default) or "bdw".
	Model string
	// AnnualRate is the yearly discount rate of DERL and residual CLV,
	// applied per period as (1+r)^(period_days/365.25) − 1; default 0.10.
	AnnualRate float64
	// HorizonDays is the horizon of the supervised cancel model: P(cancel
	// within HorizonDays); default 30.
	HorizonDays int
	// MinSubscribers: fewer subscribers with a paid spell than this, or
	// fewer than 10 cancellations in the training window, and the
	// supervised model is skipped (the sBG's 1 − p_renew_next is the cancel
	// probability, recorded); default 50.
	MinSubscribers int
}

func (o SubscriptionOptions) withDefaults() SubscriptionOptions {
	o.Rules = o.Rules.WithDefaults()
	if o.Model == "" {
		o.Model = "sbg"
	}
	if o.AnnualRate == 0 {
		o.AnnualRate = 0.10
	}
	if o.HorizonDays == 0 {
		o.HorizonDays = 30
	}
	if o.MinSubscribers == 0 {
		o.MinSubscribers = 50
	}
	return o
}

// SubscriberTap receives the night's events (after deduplication) and keeps
// the subscriber state at the as-of day and HorizonDays before it (the
// training snapshot of the supervised model).
type SubscriberTap struct {
	now, past *subscription.Builder
	asOf      time.Time
	o         SubscriptionOptions
	// loaded: the states are computed (seal) or come from a sharded
	// night's workers (readShardSubscribers); the builders are gone.
	loaded                bool
	nowStates, pastStates []subscription.State
}

// usageDays are the days the feature builder counts the customers' usage
// at for the tap (features.WithUsage): tonight and the cancel model's
// training day. The tap's builders follow the subscription events only
// (subscription.Builder.ExternalUsage): following every visitor in case
// they subscribe cost ~4 CPU s and ~190 MB on tier M's 1 M customers.
func (t *SubscriberTap) usageDays() []time.Time {
	if t == nil || t.loaded {
		return nil
	}
	return []time.Time{t.asOf, t.asOf.AddDate(0, 0, -t.o.HorizonDays)}
}

// seal computes both builders' states once the read is over, with the
// feature builder's usage table ut (nil: nobody had usage), and drops the
// builders: only the subscribers' states are kept.
func (t *SubscriberTap) seal(ut *features.UsageTable) {
	if t == nil || t.loaded {
		return
	}
	none := func(string) (subscription.Usage, bool) { return subscription.Usage{}, false }
	now, past := none, none
	if ut != nil {
		now, past = ut.At(0), ut.At(1)
	}
	t.nowStates, t.pastStates = t.now.FinishUsing(now), t.past.FinishUsing(past)
	t.now, t.past, t.loaded = nil, nil, true
}

func (t *SubscriberTap) finishNow() []subscription.State {
	if !t.loaded {
		panic("pipeline: subscriber tap read before seal")
	}
	return t.nowStates
}

func (t *SubscriberTap) finishPast() []subscription.State {
	if !t.loaded {
		panic("pipeline: subscriber tap read before seal")
	}
	return t.pastStates
}

// newSubscriberTap returns a tap for the as-of day. Its records are the
// feature builder's, and it must be sealed with that builder's usage table
// (buildFeatures with usageDays) before its states are read.
func newSubscriberTap(asOf time.Time, o SubscriptionOptions) (*SubscriberTap, error) {
	o = o.withDefaults()
	now, err := subscription.NewBuilder(asOf, o.Rules)
	if err != nil {
		return nil, err
	}
	past, err := subscription.NewBuilder(asOf.AddDate(0, 0, -o.HorizonDays), o.Rules)
	if err != nil {
		return nil, err
	}
	now.ExternalUsage, past.ExternalUsage = true, true // see usageDays
	return &SubscriberTap{now: now, past: past, asOf: asOf, o: o}, nil
}

// Add folds one canonical event record.
func (t *SubscriberTap) Add(rec arrow.RecordBatch) error {
	if err := t.now.Add(rec); err != nil {
		return err
	}
	return t.past.Add(rec)
}

// SubscriberChurnReport says which cancel model scored the night and how
// it compares with its two baselines: for the champion's (Source "champion
// vN") the figures of its training test snapshot (TestSnapshot), for one
// fitted tonight (Source "fitted tonight", Reason why) those on the
// held-out 30 % of tonight's training subscribers (by id hash).
type SubscriberChurnReport struct {
	Source string `json:"source"`
	// Reason says why the night fitted its own model.
	Reason string `json:"reason,omitempty"`
	// Kind is the scoring model's: logit, days_to_period_end or sbg (the
	// sBG's 1 − P(renew next) when no supervised model could be fitted).
	Kind string `json:"kind,omitempty"`
	// TestSnapshot is the newest of the champion's TestSnapshots, whose
	// mean figures AUC, Brier, ECE, AUCDaysToEnd and AUCSBG are.
	TestSnapshot   string   `json:"test_snapshot,omitempty"`
	TestSnapshots  []string `json:"test_snapshots,omitempty"`
	BeatsBaselines bool     `json:"beats_baselines"`
	Verdict        string   `json:"verdict,omitempty"`
	HorizonDays    int      `json:"horizon_days"`
	TrainRows      int      `json:"train_rows"`
	Holdout        int      `json:"holdout_rows"`
	Positives      int      `json:"positives"`
	AUC            float64  `json:"auc"`
	// AUCDaysToEnd ranks by days to period end (fewest first);
	// AUCSBG by the sBG's 1 − P(renew next | renewals).
	AUCDaysToEnd float64 `json:"auc_days_to_period_end"`
	AUCSBG       float64 `json:"auc_sbg"`
	Brier        float64 `json:"brier"`
	ECE          float64 `json:"ece"`
	Skipped      string  `json:"skipped,omitempty"`
}

// Subscribers is the contractual part of a night: states, the retention
// model and the supervised cancel model.
type Subscribers struct {
	States    []subscription.State
	Retention sbg.Model
	Fit       sbg.FitResult
	Churn     *logit.Model  // fitted tonight; nil when Cancel scores
	Cancel    *cancel.Model // the champion's cancel model; nil when fitted tonight
	Version   string        // the champion's version when Cancel scores
	Report    SubscriberChurnReport
	// PCancel is the probability of cancelling within HorizonDays for each
	// state with status active; NaN otherwise.
	PCancel []float64
	asOf    int32
	o       SubscriptionOptions
}

// subscriberFeatureNames name the columns of the supervised model.
var subscriberFeatureNames = []string{"days_to_period_end", "renewals", "visits_30d", "visits_prev_60d",
	"visit_trend", "support_30d", "support_90d", "downgrades", "won_back", "amount", "days_since_usage", "sbg_p_cancel_next"}

var subscriberTransforms = []logit.Transform{logit.Identity, logit.Log1p, logit.Log1p, logit.Log1p,
	logit.Identity, logit.Log1p, logit.Log1p, logit.Log1p, logit.Identity, logit.Log1p, logit.Identity, logit.Identity}

func subscriberFeatures(s subscription.State, m sbg.Model) []float64 {
	cur, _ := s.Current()
	wb := 0.0
	if s.WonBack {
		wb = 1
	}
	since := float64(s.DaysSinceUsage)
	if since < 0 || since > 120 {
		since = 120
	}
	return []float64{
		float64(s.DaysToPeriodEnd), float64(cur.Renewals), float64(s.Visits30), float64(s.VisitsPrev60),
		math.Log((float64(s.Visits30) + 1) / (float64(s.VisitsPrev60)/2 + 1)),
		float64(s.Support30), float64(s.Support90), float64(s.Downgrades), wb, math.Max(s.Amount, 0), since,
		1 - sbg.PRenewNext(m, cur.Renewals),
	}
}

// retentionData turns subscriber states into sBG observations: every paid
// spell that is not left-truncated, ended (or with notice given) or
// censored at the as-of day.
func retentionData(states []subscription.State) (sbg.Data, int, error) {
	var subs []sbg.Subscription
	truncated := 0
	for _, s := range states {
		for _, sp := range s.Spells {
			if sp.LeftTruncated {
				truncated++
				continue
			}
			ended := sp.Ended || sp.Notice
			subs = append(subs, sbg.Subscription{Renewals: sp.Renewals, Cancelled: ended})
		}
	}
	d, err := sbg.FromSubscriptions(subs)
	return d, truncated, err
}

func fitRetention(states []subscription.State, model string) (sbg.Model, sbg.FitResult, error) {
	d, _, err := retentionData(states)
	if err != nil {
		return nil, sbg.FitResult{}, err
	}
	return sbg.Fit(model, d, sbg.FitOptions{})
}

// Sources of the night's cancel model (SubscriberChurnReport.Source).
const (
	CancelFittedTonight = "fitted tonight"
	cancelChampion      = "champion "
)

// FitSubscribers is FitSubscribersWith without a champion: the night fits
// its cancel model.
func FitSubscribers(t *SubscriberTap) (*Subscribers, error) {
	return FitSubscribersWith(t, nil, "no champion")
}

// FitSubscribersWith fits the retention model on the subscribers at the
// as-of day and scores P(cancel within the horizon) with the champion's
// cancel model; when ch has none, it fits the supervised cancel model on
// the snapshot HorizonDays earlier (labels: a cancel or end within the
// horizon) and records why (reason when ch is nil). A champion's cancel
// model of other feature columns or another horizon is an error wrapping
// ErrRegistry. It returns nil when the history has no subscriber.
func FitSubscribersWith(t *SubscriberTap, ch *Champion, reason string) (*Subscribers, error) {
	o := t.o
	states := t.finishNow()
	if len(states) == 0 {
		return nil, nil
	}
	s := &Subscribers{States: states, asOf: data.DayOf(t.asOf.UnixMilli()), o: o,
		Report: SubscriberChurnReport{HorizonDays: o.HorizonDays, Source: CancelFittedTonight}}
	switch {
	case ch == nil:
		s.Report.Reason = reason
	case ch.Cancel == nil:
		s.Report.Reason = fmt.Sprintf("champion %s has no cancel model (trained before churnpipe stored one, or on a history with too few subscribers)", ch.Version)
	default:
		cm := ch.Cancel
		if err := cm.CheckFeatures(subscriberFeatureNames); err != nil {
			return nil, fmt.Errorf("%w: champion %s: %w; retrain with this version of churnpipe", ErrRegistry, ch.Version, err)
		}
		if cm.HorizonDays != o.HorizonDays {
			return nil, fmt.Errorf("%w: champion %s: its cancel model predicts P(cancel within %d days), the night is configured for %d (subscriptions.horizon_days): train with the same configuration (churnpipe retrain --config FILE) or change the setting",
				ErrRegistry, ch.Version, cm.HorizonDays, o.HorizonDays)
		}
		s.Cancel, s.Version = cm, ch.Version
		r := cm.Report
		s.Report = SubscriberChurnReport{Source: cancelChampion + ch.Version, Kind: cm.Kind, TestSnapshot: r.TestSnapshot, TestSnapshots: r.TestSnapshots,
			BeatsBaselines: r.BeatsBaselines, Verdict: r.Verdict, HorizonDays: cm.HorizonDays, TrainRows: r.TrainRows,
			Holdout: r.TestRows, Positives: r.TestPositives}
		if c := r.Candidate(cm.Kind); c != nil {
			s.Report.AUC, s.Report.Brier, s.Report.ECE = c.AUC, c.Brier, c.ECE
		}
		if c := r.Candidate(cancel.KindDaysToEnd); c != nil {
			s.Report.AUCDaysToEnd = c.AUC
		}
		if c := r.Candidate(cancel.KindSBG); c != nil {
			s.Report.AUCSBG = c.AUC
		}
	}
	paid := 0
	for _, st := range states {
		if st.Paid {
			paid++
		}
	}
	if paid == 0 {
		s.Report.Skipped = "no paid subscription"
		s.PCancel = nans(len(states))
		return s, nil
	}
	var err error
	if s.Retention, s.Fit, err = fitRetention(states, o.Model); err != nil {
		return nil, fmt.Errorf("subscribers: %s fit on %d paid subscribers: %w", o.Model, paid, err)
	}
	if s.Cancel == nil {
		s.trainChurn(t.finishPast(), states)
		s.Report.Kind = cancel.KindLogit
		if s.Churn == nil {
			s.Report.Kind = cancel.KindSBG
		}
		r := &s.Report
		r.BeatsBaselines = s.Churn != nil && r.AUC > r.AUCDaysToEnd && r.AUC > r.AUCSBG
	}
	s.PCancel = nans(len(states))
	for i, st := range states {
		if st.Status != subscription.StatusActive {
			continue
		}
		x := subscriberFeatures(st, s.Retention)
		switch {
		case s.Cancel != nil:
			s.PCancel[i] = s.Cancel.Predict(x)
		case s.Churn != nil:
			s.PCancel[i] = s.Churn.Predict(x)
		default:
			s.PCancel[i] = x[len(x)-1]
		}
	}
	return s, nil
}

func holdoutID(id string) bool {
	h := fnv.New64a()
	h.Write([]byte(id))
	return h.Sum64()%10 < 3
}

// trainChurn fits the supervised model on the active subscribers of the
// earlier snapshot; a subscriber is positive when a cancel or end falls in
// (snapshot, as-of].
func (s *Subscribers) trainChurn(past, now []subscription.State) {
	r := &s.Report
	t0 := s.asOf - int32(s.o.HorizonDays)
	exit := make(map[string]int32, len(now))
	for _, st := range now {
		exit[st.ID] = st.LastExit
	}
	m0, _, err := fitRetention(past, s.o.Model)
	if err != nil {
		r.Skipped = "no retention fit at the training snapshot: " + err.Error()
		return
	}
	var X, Xh [][]float64
	var y, yh []float64
	for _, st := range past {
		if st.Status != subscription.StatusActive {
			continue
		}
		x := subscriberFeatures(st, m0)
		lab := 0.0
		if exit[st.ID] > t0 {
			lab = 1
			r.Positives++
		}
		if holdoutID(st.ID) {
			Xh, yh = append(Xh, x), append(yh, lab)
		} else {
			X, y = append(X, x), append(y, lab)
		}
	}
	r.TrainRows, r.Holdout = len(X), len(Xh)
	if len(X)+len(Xh) < s.o.MinSubscribers || r.Positives < 10 {
		r.Skipped = fmt.Sprintf("%d active subscribers and %d cancellations at the training snapshot (need %d and 10)", len(X)+len(Xh), r.Positives, s.o.MinSubscribers)
		return
	}
	opt := logit.Options{L2: 1e-3, Transforms: subscriberTransforms, Names: subscriberFeatureNames}
	m, err := logit.FitRows(X, y, nil, opt)
	if err != nil {
		r.Skipped = "logistic fit: " + err.Error()
		return
	}
	if len(Xh) > 0 {
		p, dte, sb := make([]float64, len(Xh)), make([]float64, len(Xh)), make([]float64, len(Xh))
		for i, x := range Xh {
			p[i], dte[i], sb[i] = m.Predict(x), -x[0], x[len(x)-1]
		}
		r.AUC, r.AUCDaysToEnd, r.AUCSBG = metrics.AUC(yh, p), metrics.AUC(yh, dte), metrics.AUC(yh, sb)
		r.Brier, r.ECE = metrics.Brier(yh, p), metrics.ECE(yh, p)
	}
	// Refit on every training subscriber for scoring.
	if all, err := logit.FitRows(append(X, Xh...), append(y, yh...), nil, opt); err == nil {
		m = all
	}
	s.Churn = m
}

// summary is the run ledger's record of the contractual setting.
func (s *Subscribers) summary() map[string]any {
	out := map[string]any{"subscribers": len(s.States), "cancel_model": s.Report}
	if s.Retention != nil {
		out["retention"] = s.Fit
	}
	return out
}

// rowsOf returns, per feature row, 1 + the index in States of the
// customer's subscriber state, 0 for buyers; nil when s is nil.
func (s *Subscribers) rowsOf(fc *featureCols) []int {
	if s == nil {
		return nil
	}
	n := fc.id.Len()
	row := make([]int, n)
	idx := make(map[string]int, len(s.States))
	for k, st := range s.States {
		idx[st.ID] = k
	}
	for i := 0; i < n; i++ {
		if k, ok := idx[fc.id.Value(i)]; ok {
			row[i] = k + 1
		}
	}
	return row
}

// apply overrides the stage of every subscriber (row from rowsOf), clears
// the buyer churn model's values for them (probability, predicted stage,
// reasons), sets their churn probability (P(cancel within the horizon)),
// value tier (by residual CLV among subscribers), risk band and segment,
// and returns the subscription columns.
func (s *Subscribers) apply(fc *featureCols, row []int, rules *Rules, ch *churnValues, segs, risks []string, th churn.Thresholds) []column {
	if s == nil {
		return nil
	}
	n := fc.id.Len()
	prob := ch.prob
	ch.sub = make([]bool, n)
	ch.subVersion = s.Version
	status := make([]string, n)
	renew, pRenew, derl, rclv := make([]int32, n), nans(n), nans(n), nans(n)
	var ids []string
	var val []float64
	var rows []int
	for i := 0; i < n; i++ {
		if row[i] == 0 {
			continue
		}
		k := row[i] - 1
		st := s.States[k]
		ch.sub[i] = true
		prob[i], ch.stage[i], ch.reasons[i] = math.NaN(), "", ""
		status[i] = st.Status
		rules.Stages[i] = lifecycleStage(s.o.Rules.Stage(st, s.asOf, s.PCancel[k]))
		if !st.Paid || st.Status == subscription.StatusTrial || st.Status == subscription.StatusTrialExpired {
			continue
		}
		cur, _ := st.Current()
		switch {
		case st.Status == subscription.StatusActive && s.Retention != nil:
			renew[i] = st.PeriodEnd
			pRenew[i] = sbg.PRenewNext(s.Retention, cur.Renewals)
			derl[i] = s.derl(st.PeriodDays, cur.Renewals)
			rclv[i] = st.Amount * derl[i]
			if len(st.Subscriptions) > 0 { // each active subscription's amount × its DERL
				rclv[i] = 0
				for _, sub := range st.Subscriptions {
					if c, ok := sub.Current(); ok && sub.Status == subscription.StatusActive {
						rclv[i] += sub.Amount * s.derl(sub.PeriodDays, c.Renewals)
					}
				}
			}
		case st.Status == subscription.StatusCancelled || st.Status == subscription.StatusExpired:
			pRenew[i], derl[i], rclv[i] = 0, 0, 0
		}
		prob[i] = s.PCancel[k]
		if st.Status == subscription.StatusCancelled || st.Status == subscription.StatusExpired {
			prob[i] = 1
		}
		ids, val, rows = append(ids, st.ID), append(val, math.Max(rclv[i], 0)), append(rows, i)
	}
	elig := make([]bool, len(ids))
	for k := range elig {
		elig[k] = true
	}
	tiers := rfm.Tiers(ids, elig, val)
	for k, i := range rows {
		rules.Tiers[i] = tiers[k]
		if !math.IsNaN(prob[i]) {
			risk := th.Band(prob[i])
			risks[i] = string(risk)
			segs[i] = churn.Segment(string(tiers[k]), risk)
		}
	}
	sub := func(i int) bool { return row[i] > 0 && renew[i] != 0 }
	return []column{
		strCol(PredSubscriptionStatus, func(i int) string { return status[i] }),
		date32Col(PredRenewalDate, sub, func(i int) int32 { return renew[i] }),
		f64Col(PredPRenewNext, func(i int) float64 { return pRenew[i] }),
		f64Col(PredExpectedResidualLife, func(i int) float64 { return derl[i] }),
		f64Col(PredResidualCLV, func(i int) float64 { return rclv[i] }),
	}
}

// derl is the retention model's discounted expected residual lifetime of a
// subscription with periods of periodDays after renewals renewals, at the
// annual rate applied per period.
func (s *Subscribers) derl(periodDays int32, renewals int) float64 {
	d := math.Pow(1+s.o.AnnualRate, float64(periodDays)/365.25) - 1
	return sbg.DERL(s.Retention, d, renewals)
}

func lifecycleStage(s subscription.Stage) lifecycle.Stage { return lifecycle.Stage(s) }

func date32Col(name string, valid func(i int) bool, v func(i int) int32) column {
	return column{arrow.Field{Name: name, Type: arrow.FixedWidthTypes.Date32, Nullable: true},
		func(b array.Builder, i int) {
			if valid(i) {
				b.(*array.Date32Builder).Append(arrow.Date32(v(i)))
			} else {
				b.AppendNull()
			}
		}}
}
