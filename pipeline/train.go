package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/churnpipe/churnpipe/data"
	"github.com/churnpipe/churnpipe/models/cancel"
	"github.com/churnpipe/churnpipe/models/churn"
	"github.com/churnpipe/churnpipe/models/metrics"
	"github.com/churnpipe/churnpipe/models/registry"
	"github.com/churnpipe/churnpipe/models/season"
)

// TrainConfig describes a training run of the churn and predicted-stage
// models on point-in-time snapshots.
type TrainConfig struct {
	AsOf           time.Time // the latest day of history to use
	HorizonDays    int       // churn horizon; default 90
	StepDays       int       // days between training snapshots; default 30 (monthly)
	TrainSnapshots int       // training snapshots per fold; default 6
	// TestSnapshots is the number of rolling origins (folds), newest first;
	// default 3. Folds without enough history are dropped.
	TestSnapshots int
	// OriginStepDays is the spacing of the test snapshots; 0 = one horizon
	// (non-overlapping test windows) when the history holds TestSnapshots
	// such folds, else StepDays (a short history: the test windows of
	// different folds then overlap one another, never a training or
	// validation window of their own fold).
	OriginStepDays int
	Registry       string // model registry folder; "" = do not register
	Force          bool   // promote to champion even if the rule says no (recorded)
	Rule           registry.Rule
	Seed           uint64
	Train          churn.TrainOptions
	// Attributes is an optional customer-attribute file (CSV or Parquet
	// keyed by customer_id) joined to the design matrix.
	Attributes string
	// Subscriptions configure the subscribers' cancel model trained with
	// the churn model (its horizon, the stage rules, the retention model);
	// the nightly's options. Disabled = no cancel model.
	Subscriptions SubscriptionOptions
}

func (c TrainConfig) withDefaults() TrainConfig {
	if c.HorizonDays == 0 {
		c.HorizonDays = 90
	}
	if c.StepDays == 0 {
		c.StepDays = 30
	}
	if c.TrainSnapshots == 0 {
		c.TrainSnapshots = 6
	}
	if c.TestSnapshots == 0 {
		c.TestSnapshots = 3
	}
	if c.Rule == (registry.Rule{}) {
		c.Rule = registry.Rule{MaxAUCDrop: 0.005, MaxECE: 0.05}
	}
	c.Train.HorizonDays = c.HorizonDays
	if c.Train.Seed == 0 {
		c.Train.Seed = c.Seed
	}
	return c
}

// Baselines are the AUCs of the simple scores on the newest test snapshot,
// and their means over all test snapshots.
type Baselines struct {
	RecencyAUC     float64 `json:"recency_auc"`
	BGNBDAUC       float64 `json:"bgnbd_auc"`
	MeanRecencyAUC float64 `json:"mean_recency_auc"`
	MeanBGNBDAUC   float64 `json:"mean_bgnbd_auc"`
}

// TrainReport is what `churnpipe train --json` prints. The single-snapshot
// figures (auc, brier, ece, …) are the champion's on the newest test
// snapshot; the mean_* figures are over all test snapshots of the rolling
// origins (rolling holds every candidate per snapshot).
type TrainReport struct {
	ModelVersion          string             `json:"model_version"`
	ModelKind             string             `json:"model_kind"`
	TestSnapshot          string             `json:"test_snapshot"`
	ValidationSnapshot    string             `json:"validation_snapshot"`
	TrainSnapshots        []string           `json:"train_snapshots"`
	TestSnapshots         []string           `json:"test_snapshots"`
	TrainCustomers        int                `json:"train_customers"`
	TestCustomers         int                `json:"test_customers"`
	TestChurnRate         float64            `json:"test_churn_rate"`
	AUC                   float64            `json:"auc"`
	PRAUC                 float64            `json:"pr_auc"`
	Brier                 float64            `json:"brier"`
	LogLoss               float64            `json:"log_loss"`
	ECE                   float64            `json:"ece"`
	LiftTop10             float64            `json:"lift_top10"`
	MeanAUC               float64            `json:"mean_auc"`
	MeanAUCCI             [2]float64         `json:"mean_auc_ci95"`
	MeanBrier             float64            `json:"mean_brier"`
	MeanECE               float64            `json:"mean_ece"`
	ProbabilityBounds     [2]float64         `json:"probability_bounds"`
	Baselines             Baselines          `json:"baselines"`
	ChosenKind            string             `json:"chosen_kind"`
	BeatsBaselines        bool               `json:"beats_baselines"`
	Verdict               string             `json:"verdict"`
	StageAccuracy         float64            `json:"stage_accuracy"`
	StageMacroF1          float64            `json:"stage_macro_f1"`
	StageBaselineAccuracy float64            `json:"stage_baseline_accuracy"`
	StageBaselineMacroF1  float64            `json:"stage_baseline_macro_f1"`
	Candidates            []churn.Candidate  `json:"candidates"`
	Rolling               *churn.Selection   `json:"rolling"`
	Attributes            []string           `json:"attributes,omitempty"`
	Promotion             *registry.Decision `json:"promotion,omitempty"`
	Champion              string             `json:"champion,omitempty"`
	// CancelModel compares the subscribers' cancel model with its
	// baselines; nil when subscriptions are disabled. Skipped says why no
	// cancel model was stored.
	CancelModel *cancel.Report `json:"cancel_model,omitempty"`
	// BuyerModel says why the version holds no buyer churn model ("not
	// trained — …", a cancel-only version, model_kind "none"); "" when it
	// holds one.
	BuyerModel  string      `json:"buyer_model,omitempty"`
	HorizonDays int         `json:"horizon_days"`
	Seconds     float64     `json:"seconds"`
	Evaluation  *Evaluation `json:"-"`
}

// Evaluation keeps the test-snapshot scores for reports; it is saved as
// evaluations/<version>.json in the registry folder.
type Evaluation struct {
	Report     *TrainReport         `json:"report"`
	Y          []float64            `json:"y"`
	P          []float64            `json:"p"`
	Baselines  map[string][]float64 `json:"baselines"`
	Stage      []int                `json:"stage,omitempty"`
	StageHat   []int                `json:"stage_hat,omitempty"`
	StageCodes []string             `json:"stage_codes,omitempty"`
	Importance []float64            `json:"importance,omitempty"`
	Features   []string             `json:"features"`
}

// EvaluationPath is where Train saves the evaluation of a registered version.
func EvaluationPath(registryDir, version string) string {
	return filepath.Join(registryDir, "evaluations", version+".json")
}

// LoadEvaluation reads the saved evaluation of a version.
func LoadEvaluation(registryDir, version string) (*Evaluation, error) {
	b, err := os.ReadFile(EvaluationPath(registryDir, version))
	if err != nil {
		return nil, fmt.Errorf("pipeline: no saved evaluation for model %s: %w", version, err)
	}
	var ev Evaluation
	if err := json.Unmarshal(b, &ev); err != nil {
		return nil, fmt.Errorf("pipeline: evaluation of %s: %w", version, err)
	}
	return &ev, nil
}

func saveEvaluation(registryDir, version string, ev *Evaluation) error {
	return saveJSON(EvaluationPath(registryDir, version), ev)
}

// FoldDays are the snapshot days of one rolling origin.
type FoldDays struct {
	Train     []time.Time // oldest first
	Val, Test time.Time
	// Refit are the Train days moved forward to end on Val (label windows
	// ending by Test): the chosen models are refitted on them before they
	// are tested (churn.RefitCandidates).
	Refit []time.Time
}

// Folds computes the rolling origins for an as-of day, newest first. Fold k
// tests on the snapshot test_k = as-of − (k+1)·horizon (its label window
// (test_k, test_k + horizon] has fully passed, and the test windows of the
// folds do not overlap); its validation snapshot is test_k − horizon (labels
// end on test_k), and its training snapshots are validation − horizon −
// j·step, so every training label window ends on or before the validation
// snapshot: no training or validation label window overlaps the test one,
// and no training window overlaps the validation one.
func Folds(asOf time.Time, horizonDays, stepDays, nTrain, nTest int) []FoldDays {
	return foldsEvery(asOf, horizonDays, stepDays, nTrain, nTest, horizonDays)
}

// foldsEvery is Folds with test snapshots originStep days apart.
func foldsEvery(asOf time.Time, horizonDays, stepDays, nTrain, nTest, originStep int) []FoldDays {
	out := make([]FoldDays, nTest)
	for k := range out {
		test := asOf.AddDate(0, 0, -horizonDays-originStep*k)
		val := test.AddDate(0, 0, -horizonDays)
		last := val.AddDate(0, 0, -horizonDays)
		f := FoldDays{Val: val, Test: test}
		for j := nTrain - 1; j >= 0; j-- {
			f.Train = append(f.Train, last.AddDate(0, 0, -j*stepDays))
			f.Refit = append(f.Refit, val.AddDate(0, 0, -j*stepDays))
		}
		out[k] = f
	}
	return out
}

// folds returns the rolling origins of the configuration for a history
// starting on first (see OriginStepDays).
func (c TrainConfig) folds(first time.Time) []FoldDays {
	if c.OriginStepDays > 0 {
		return foldsEvery(c.AsOf, c.HorizonDays, c.StepDays, c.TrainSnapshots, c.TestSnapshots, c.OriginStepDays)
	}
	fs := Folds(c.AsOf, c.HorizonDays, c.StepDays, c.TrainSnapshots, c.TestSnapshots)
	// A training snapshot needs a step of history behind it to be of use.
	if last := fs[len(fs)-1]; last.Train[len(last.Train)-1].Before(first.AddDate(0, 0, c.StepDays)) {
		return foldsEvery(c.AsOf, c.HorizonDays, c.StepDays, c.TrainSnapshots, c.TestSnapshots, c.StepDays)
	}
	return fs
}

// Snapshots returns the days of the newest fold of Folds.
func Snapshots(asOf time.Time, horizonDays, stepDays, nTrain int) (train []time.Time, val, test time.Time) {
	f := Folds(asOf, horizonDays, stepDays, nTrain, 1)[0]
	return f.Train, f.Val, f.Test
}

// Train builds the rolling-origin folds from the history, chooses the churn
// model on the validation snapshots, compares it with the baselines on the
// test snapshots (a candidate that does not beat them is not promoted: the
// best baseline becomes the model), registers the result and applies the
// promotion rule.
func Train(ctx context.Context, h *History, cfg TrainConfig, opt Options) (*TrainReport, *churn.Model, error) {
	t0 := time.Now()
	cfg = cfg.withDefaults()
	opt = opt.withDefaults()
	log := opt.Logger
	var attrs *Attributes
	if cfg.Attributes != "" {
		var err error
		if attrs, err = LoadAttributes(cfg.Attributes); err != nil {
			return nil, nil, err
		}
	}
	cache := map[time.Time]arrow.RecordBatch{}
	defer func() {
		for _, r := range cache {
			r.Release()
		}
	}()
	featAt := func(d time.Time) (arrow.RecordBatch, error) {
		if r, ok := cache[d]; ok {
			return r, nil
		}
		r, err := h.FeaturesAt(d, opt)
		if err == nil {
			cache[d] = r
		}
		return r, err
	}
	snaps := map[time.Time]*Snapshot{}
	snapAt := func(d time.Time) (*Snapshot, error) {
		if s, ok := snaps[d]; ok {
			return s, nil
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		now, err := featAt(d)
		if err != nil {
			return nil, err
		}
		later, err := featAt(d.AddDate(0, 0, cfg.HorizonDays))
		if err != nil {
			return nil, err
		}
		s, err := labelSnapshot(d, now, later, cfg.HorizonDays, opt.Rules)
		if err == nil && attrs != nil {
			err = attrs.join(s)
		}
		if err == nil {
			log.Info("snapshot", "day", d.Format(time.DateOnly), "customers", s.Rows())
			snaps[d] = s
		}
		return s, err
	}
	names := churn.FeatureNames(ExtraNames)
	if attrs != nil {
		names = append(names, attrs.spec.Names()...)
	}
	rep := &TrainReport{HorizonDays: cfg.HorizonDays, ProbabilityBounds: [2]float64{churn.ProbFloor, churn.ProbCeil}}
	var testSnap0 *Snapshot
	var firstTrain time.Time
	// snapsAt labels the snapshots of days, skipping days before the
	// history and (listed in noBuyer) days without a buyer.
	snapsAt := func(days []time.Time) (snaps []*Snapshot, kept, noBuyer []string, err error) {
		for _, d := range days {
			if d.Before(h.First) {
				continue
			}
			s, err := snapAt(d)
			if errors.Is(err, churn.ErrTooFewData) {
				noBuyer = append(noBuyer, d.Format(time.DateOnly))
				continue
			}
			if err != nil {
				return nil, nil, nil, err
			}
			snaps = append(snaps, s)
			kept = append(kept, d.Format(time.DateOnly))
		}
		return snaps, kept, noBuyer, nil
	}
	// trainBuyer trains the buyer churn and stage models.
	trainBuyer := func() (*churn.Model, error) {
		var folds []churn.Fold
		daily := h.Daily(cfg.AsOf)
		var refitDays0 []string
		var refitRows0 int
		for k, fd := range cfg.folds(h.First) {
			tooShort := fmt.Errorf("%w: history %s..%s is too short for a %d-day horizon: need data from %s (first training snapshot) to %s",
				churn.ErrTooFewData, h.First.Format(time.DateOnly), h.Last.Format(time.DateOnly), cfg.HorizonDays,
				fd.Train[len(fd.Train)-1].Format(time.DateOnly), cfg.AsOf.Format(time.DateOnly))
			trainSnaps, days, noBuyer, err := snapsAt(fd.Train)
			if err != nil {
				return nil, err
			}
			if fd.Val.Before(h.First) || len(trainSnaps) == 0 {
				if k == 0 && !fd.Val.Before(h.First) && len(noBuyer) > 0 {
					need := cfg.Train.MinBuyers
					if need == 0 {
						need = 500 // churn.TrainOptions' default
					}
					return nil, fmt.Errorf("%w: 0 buyers in the training snapshots %v, need at least %d", churn.ErrTooFewData, noBuyer, need)
				}
				if k == 0 {
					return nil, tooShort
				}
				log.Info("rolling origin dropped: not enough history", "test_snapshot", fd.Test.Format(time.DateOnly))
				break
			}
			valSnap, err := snapAt(fd.Val)
			if err != nil {
				return nil, err
			}
			testSnap, err := snapAt(fd.Test)
			if err != nil {
				return nil, err
			}
			trainSet := stack(trainSnaps)
			refitSnaps, refitDays, _, err := snapsAt(fd.Refit)
			if err != nil {
				return nil, err
			}
			if k == 0 {
				rep.TrainSnapshots, rep.TrainCustomers = days, len(trainSet.Churn)
				refitDays0 = refitDays
				if len(refitSnaps) > 0 {
					refitRows0 = len(stack(refitSnaps).Churn)
				}
				rep.ValidationSnapshot = fd.Val.Format(time.DateOnly)
				testSnap0, firstTrain = testSnap, fd.Train[0]
			}
			fold := churn.Fold{Test: fd.Test.Format(time.DateOnly), Train: trainSet, Val: valSnap.set(), TestSet: testSnap.set()}
			if len(refitSnaps) > 0 {
				fold.Refit = stack(refitSnaps)
			}
			// The calendar of the label windows, from the purchases known at the test snapshot.
			if ix, err := season.Estimate(daily, data.DayOf(fd.Test.UnixMilli())); err == nil {
				fold.Season = &ix
				fold.Train.LogExposure = logExposures(trainSnaps, ix, cfg.HorizonDays)
				fold.Refit.LogExposure = logExposures(refitSnaps, ix, cfg.HorizonDays)
				fold.Val.LogExposure = logExposures([]*Snapshot{valSnap}, ix, cfg.HorizonDays)
				fold.TestSet.LogExposure = logExposures([]*Snapshot{testSnap}, ix, cfg.HorizonDays)
			} else if k == 0 {
				log.Info("no month index: churn probabilities keep the calendar of their calibration window", "reason", err)
			}
			folds = append(folds, fold)
		}
		sel, model, err := churn.RollingOrigin(folds, names, ExtraNames, StageCodes(), cfg.Train)
		if err != nil {
			return nil, err
		}
		if attrs != nil {
			model.Attributes = attrs.spec
			rep.Attributes = attrs.spec.Names()
		}
		rep.Rolling, rep.ModelKind, rep.ChosenKind = sel, model.Kind, sel.Chosen
		if sel.Kind(model.Kind).Refitted {
			// The champion was refitted: report the window it was fitted on.
			rep.TrainSnapshots, rep.TrainCustomers = refitDays0, refitRows0
		}
		rep.TestSnapshots, rep.BeatsBaselines, rep.Verdict = sel.Folds, sel.Beats, sel.Verdict
		for _, r := range sel.Kinds {
			rep.Candidates = append(rep.Candidates, churn.Candidate{Kind: r.Kind, AUC: r.MeanValAUC, FoldAUC: r.ValAUC,
				Chosen: r.Kind == sel.Chosen, Baseline: r.Baseline, Seconds: r.Seconds})
		}
		champ := sel.Kind(sel.Champion)
		rep.MeanAUC, rep.MeanAUCCI, rep.MeanBrier, rep.MeanECE = champ.MeanAUC, champ.AUCCI, champ.MeanBrier, champ.MeanECE
		if b := sel.Kind(churn.KindRecency); b != nil {
			rep.Baselines.MeanRecencyAUC = b.MeanAUC
		}
		if b := sel.Kind(churn.KindBTYD); b != nil {
			rep.Baselines.MeanBGNBDAUC = b.MeanAUC
		}
		evaluate(rep, model, testSnap0)
		if sel.Beats {
			log.Info("trained", "model", model.Kind, "mean_test_auc", rep.MeanAUC, "ece", rep.ECE, "verdict", sel.Verdict)
		} else {
			log.Warn("candidate loses to a baseline", "chosen", sel.Chosen, "champion_kind", model.Kind, "verdict", sel.Verdict)
		}
		return model, nil
	}
	model, berr := trainBuyer()
	if berr != nil && !errors.Is(berr, churn.ErrTooFewData) {
		return nil, nil, berr
	}
	cm, crep, ctests, err := trainCancel(ctx, h, cfg, log)
	if err != nil {
		return nil, nil, fmt.Errorf("cancel model: %w", err)
	}
	if berr != nil {
		if cm == nil {
			// Neither model: not enough data, as without subscribers.
			return nil, nil, berr
		}
		// A cancel-only version: too few buyers, enough subscribers.
		*rep = TrainReport{HorizonDays: cfg.HorizonDays, ModelKind: string(registry.KindNone),
			BuyerModel: "not trained — " + berr.Error()}
		log.Warn("buyer model not trained: the version holds only the cancel model", "reason", berr)
	}
	rep.CancelModel = crep
	rep.Seconds = time.Since(t0).Seconds()

	if cfg.Registry != "" {
		if err := register(rep, model, cm, ctests, cfg, testSnap0, firstTrain); err != nil {
			return rep, model, err
		}
	}
	return rep, model, nil
}

// evaluate fills the test-snapshot metrics of rep.
func evaluate(rep *TrainReport, m *churn.Model, s *Snapshot) {
	p := m.At(s.Day).PredictAll(s.X)
	rep.TestSnapshot = s.Day.Format(time.DateOnly)
	rep.TestCustomers = s.Rows()
	var pos float64
	for _, y := range s.Churn {
		pos += y
	}
	rep.TestChurnRate = pos / float64(s.Rows())
	rep.AUC = metrics.AUC(s.Churn, p)
	rep.PRAUC = metrics.AveragePrecision(s.Churn, p)
	rep.Brier = metrics.Brier(s.Churn, p)
	rep.LogLoss = metrics.LogLoss(s.Churn, p)
	rep.ECE = metrics.ECE(s.Churn, p)
	rep.LiftTop10 = metrics.Lift(s.Churn, p, 0.1)
	rep.Baselines.RecencyAUC = metrics.AUC(s.Churn, s.Recency)
	rep.Baselines.BGNBDAUC = metrics.AUC(s.Churn, nanTo(s.BGNBDProb, 0.5))
	ev := &Evaluation{Report: rep, Y: s.Churn, P: p, Features: m.Features, StageCodes: m.StageCodes,
		Baselines: map[string][]float64{"recency": s.Recency, "bgnbd": nanTo(s.BGNBDProb, 0.5)}}
	if m.GBT != nil {
		ev.Importance = m.GBT.Importance()
	}
	if m.Stage != nil {
		k := len(m.StageCodes)
		ev.Stage, ev.StageHat = make([]int, s.Rows()), make([]int, s.Rows())
		same := make([]int, s.Rows())
		for i := range ev.Stage {
			ev.Stage[i] = int(s.Stage[i])
			ev.StageHat[i] = m.Stage.PredictClass(s.X.RawRowView(i))
			same[i] = int(s.StageNow[i])
		}
		rep.StageAccuracy = metrics.Accuracy(ev.Stage, ev.StageHat)
		rep.StageMacroF1 = metrics.MacroF1(ev.Stage, ev.StageHat, k)
		rep.StageBaselineAccuracy = metrics.Accuracy(ev.Stage, same)
		rep.StageBaselineMacroF1 = metrics.MacroF1(ev.Stage, same, k)
	}
	rep.Evaluation = ev
}

func (rep *TrainReport) metrics() registry.Metrics {
	return registry.Metrics{TestSnapshot: rep.TestSnapshot, N: rep.TestCustomers, AUC: rep.AUC, PRAUC: rep.PRAUC,
		Brier: rep.Brier, LogLoss: rep.LogLoss, ECE: rep.ECE, Lift10: rep.LiftTop10}
}

// register stores the model as a new version (and the cancel model's test
// rows, ctests), points "challenger" at it, re-evaluates the champion on the
// same test snapshots and promotes by rule (registry.PromoteVersion): the
// champion's buyer model on the candidate's buyer test snapshot, its cancel
// model on the candidate's cancel test snapshots (registry.CompareCancel).
// m == nil stores a cancel-only version (registry.KindNone): no
// evaluation, no drift references.
func register(rep *TrainReport, m *churn.Model, cm *cancel.Model, ctests *registry.CancelTests, cfg TrainConfig, test *Snapshot, firstTrain time.Time) error {
	reg, err := registry.Open(cfg.Registry)
	if err != nil {
		return err
	}
	var art *registry.Artifact
	if m == nil {
		art = &registry.Artifact{Kind: registry.KindNone, FeatureNames: []string{}, FeatureTypes: []string{},
			SchemaHash: registry.SchemaHash(nil, nil), TrainWindow: cancelWindow(cm.Report)}
	} else {
		raw, err := json.Marshal(m)
		if err != nil {
			return err
		}
		types := make([]string, len(m.Features))
		for i := range types {
			types[i] = "float64"
		}
		art = &registry.Artifact{
			Kind: registry.Kind(m.Kind), Model: raw, Calibrator: m.Calibrator,
			FeatureNames: m.Features, FeatureTypes: types, SchemaHash: registry.SchemaHash(m.Features, types),
			TrainWindow: registry.Window{From: firstTrain, To: test.Day},
			Metrics:     rep.metrics(),
		}
	}
	if cm != nil {
		if art.CancelModel, err = json.Marshal(cm); err != nil {
			return err
		}
	}
	version, err := reg.Register(art)
	if err != nil {
		return err
	}
	rep.ModelVersion = version
	if cm != nil && ctests != nil {
		if err := reg.SaveCancelTests(version, ctests); err != nil {
			return err
		}
		ctests.Version = version
	}
	if m != nil {
		if err := saveEvaluation(cfg.Registry, version, rep.Evaluation); err != nil {
			return err
		}
		// Drift references: the test snapshot is the population the model was judged on.
		refs, err := newReferences(test.X, m.Features, rep.Evaluation.P)
		if err != nil {
			return err
		}
		if err := saveJSON(ReferencesPath(cfg.Registry, version), refs); err != nil {
			return err
		}
	}
	what := "trained on " + rep.TestSnapshot
	if m == nil {
		what = "cancel model only, trained on " + cm.Report.TestSnapshot
	}
	if err := reg.SetAlias("challenger", version, what, false); err != nil {
		return err
	}
	var d registry.Decision
	ca, err := reg.Load("champion")
	switch {
	case errors.Is(err, registry.ErrNotFound):
		cand, err := registry.SideOf(art)
		if err != nil {
			return err
		}
		d = registry.PromoteVersion(cand, nil, cfg.Rule, cfg.Force)
	case err != nil:
		return err
	default:
		cand, champ, err := registry.Sides(art, ca, ctests)
		if err != nil {
			return err
		}
		if m != nil && ca.HasBuyerModel() {
			// Buyer model against buyer model, on the candidate's test snapshot.
			var chb registry.Metrics
			if chm, err := ModelFromArtifact(ca); err == nil && chm.CheckSchema(m.Features) == nil {
				p := chm.At(test.Day).PredictAll(test.X)
				chb = registry.Metrics{TestSnapshot: rep.TestSnapshot, N: test.Rows(),
					AUC: metrics.AUC(test.Churn, p), ECE: metrics.ECE(test.Churn, p)}
			}
			// A champion on another schema cannot be compared: the candidate is judged alone.
			champ.Buyer = &chb
		}
		d = registry.PromoteVersion(cand, champ, cfg.Rule, cfg.Force)
	}
	rep.Promotion = &d
	if d.Promote {
		if err := reg.SetAlias("champion", version, d.Reason, d.Forced); err != nil {
			return err
		}
	}
	aliases, _, err := reg.Aliases()
	if err == nil {
		rep.Champion = aliases["champion"]
	}
	return nil
}

// cancelWindow is the training window of a cancel-only version: from the
// cancel model's first training snapshot to its newest test snapshot.
func cancelWindow(r cancel.Report) registry.Window {
	var w registry.Window
	if len(r.TrainSnapshots) > 0 {
		w.From, _ = time.Parse(time.DateOnly, r.TrainSnapshots[0])
	}
	w.To, _ = time.Parse(time.DateOnly, r.TestSnapshot)
	return w
}

// ErrNoBuyerModel marks a registry version without a buyer churn model (a
// cancel-only version, registry.KindNone) where one is needed: the report,
// offline scoring.
var ErrNoBuyerModel = errors.New("the version has no buyer churn model")

// ModelFromArtifact decodes a registered churn model; a cancel-only
// version gives an error wrapping ErrNoBuyerModel.
func ModelFromArtifact(a *registry.Artifact) (*churn.Model, error) {
	if !a.HasBuyerModel() {
		return nil, fmt.Errorf("%w: %s holds only the subscribers' cancel model (trained on a history with too few one-off buyers)", ErrNoBuyerModel, a.Version)
	}
	var m churn.Model
	if err := json.Unmarshal(a.Model, &m); err != nil {
		return nil, fmt.Errorf("pipeline: model %s: %w", a.Version, err)
	}
	if err := m.Init(); err != nil {
		return nil, err
	}
	return &m, nil
}
