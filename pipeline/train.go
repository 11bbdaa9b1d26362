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

	"github.com/churnpipe/churnpipe/models/churn"
	"github.com/churnpipe/churnpipe/models/metrics"
	"github.com/churnpipe/churnpipe/models/registry"
)

// TrainConfig describes a training run of the churn and predicted-stage
// models on point-in-time snapshots.
type TrainConfig struct {
	AsOf           time.Time // the latest day of history to use
	HorizonDays    int       // churn horizon; default 90
	StepDays       int       // days between training snapshots; default 30 (monthly)
	TrainSnapshots int       // training snapshots before the validation one; default 9
	Registry       string    // model registry folder; "" = do not register
	Force          bool      // promote to champion even if the rule says no (recorded)
	Rule           registry.Rule
	Seed           uint64
	Train          churn.TrainOptions
}

func (c TrainConfig) withDefaults() TrainConfig {
	if c.HorizonDays == 0 {
		c.HorizonDays = 90
	}
	if c.StepDays == 0 {
		c.StepDays = 30
	}
	if c.TrainSnapshots == 0 {
		c.TrainSnapshots = 9
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

// Baselines are the AUCs of the simple scores on the test snapshot.
type Baselines struct {
	RecencyAUC float64 `json:"recency_auc"`
	BGNBDAUC   float64 `json:"bgnbd_auc"`
}

// TrainReport is what `churnpipe train --json` prints.
type TrainReport struct {
	ModelVersion          string             `json:"model_version"`
	ModelKind             string             `json:"model_kind"`
	TestSnapshot          string             `json:"test_snapshot"`
	ValidationSnapshot    string             `json:"validation_snapshot"`
	TrainSnapshots        []string           `json:"train_snapshots"`
	TrainCustomers        int                `json:"train_customers"`
	TestCustomers         int                `json:"test_customers"`
	TestChurnRate         float64            `json:"test_churn_rate"`
	AUC                   float64            `json:"auc"`
	PRAUC                 float64            `json:"pr_auc"`
	Brier                 float64            `json:"brier"`
	LogLoss               float64            `json:"log_loss"`
	ECE                   float64            `json:"ece"`
	LiftTop10             float64            `json:"lift_top10"`
	Baselines             Baselines          `json:"baselines"`
	StageAccuracy         float64            `json:"stage_accuracy"`
	StageMacroF1          float64            `json:"stage_macro_f1"`
	StageBaselineAccuracy float64            `json:"stage_baseline_accuracy"`
	StageBaselineMacroF1  float64            `json:"stage_baseline_macro_f1"`
	Candidates            []churn.Candidate  `json:"candidates"`
	Promotion             *registry.Decision `json:"promotion,omitempty"`
	Champion              string             `json:"champion,omitempty"`
	HorizonDays           int                `json:"horizon_days"`
	Evaluation            *Evaluation        `json:"-"`
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

// Snapshots computes the snapshot days for an as-of day: the test snapshot
// is the latest one whose horizon has fully passed (test + horizon ≤ as-of),
// validation is one step earlier, and training snapshots are earlier still,
// so no label window used for fitting ends after the test snapshot.
func Snapshots(asOf time.Time, horizonDays, stepDays, nTrain int) (train []time.Time, val, test time.Time) {
	day := func(d int) time.Time { return asOf.AddDate(0, 0, -d) }
	test = day(horizonDays)
	val = test.AddDate(0, 0, -horizonDays)
	for k := nTrain; k >= 1; k-- {
		train = append(train, val.AddDate(0, 0, -k*stepDays))
	}
	return train, val, test
}

// Train builds snapshots from the history, trains and evaluates the churn
// and stage models, registers the result and applies the promotion rule.
func Train(ctx context.Context, h *History, cfg TrainConfig, opt Options) (*TrainReport, *churn.Model, error) {
	cfg = cfg.withDefaults()
	opt = opt.withDefaults()
	log := opt.Logger
	trainDays, valDay, testDay := Snapshots(cfg.AsOf, cfg.HorizonDays, cfg.StepDays, cfg.TrainSnapshots)
	// Keep the training snapshots that have buyers.
	var kept []time.Time
	for _, d := range trainDays {
		if !d.Before(h.First) {
			kept = append(kept, d)
		}
	}
	if valDay.Before(h.First) || len(kept) == 0 {
		return nil, nil, fmt.Errorf("%w: history %s..%s is too short for a %d-day horizon: need data from %s (first training snapshot) to %s",
			churn.ErrTooFewData, h.First.Format(time.DateOnly), h.Last.Format(time.DateOnly), cfg.HorizonDays,
			trainDays[len(trainDays)-1].Format(time.DateOnly), cfg.AsOf.Format(time.DateOnly))
	}
	cache := map[time.Time]arrow.Record{}
	defer func() {
		for _, r := range cache {
			r.Release()
		}
	}()
	featAt := func(d time.Time) (arrow.Record, error) {
		if r, ok := cache[d]; ok {
			return r, nil
		}
		r, err := h.FeaturesAt(d, opt)
		if err == nil {
			cache[d] = r
		}
		return r, err
	}
	snapAt := func(d time.Time) (*Snapshot, error) {
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
		if err == nil {
			log.Info("snapshot", "day", d.Format(time.DateOnly), "customers", s.Rows())
		}
		return s, err
	}
	var trainSnaps []*Snapshot
	rep := &TrainReport{HorizonDays: cfg.HorizonDays}
	for _, d := range kept {
		s, err := snapAt(d)
		if errors.Is(err, churn.ErrTooFewData) {
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		trainSnaps = append(trainSnaps, s)
		rep.TrainSnapshots = append(rep.TrainSnapshots, d.Format(time.DateOnly))
	}
	if len(trainSnaps) == 0 {
		return nil, nil, fmt.Errorf("%w: no training snapshot has buyers", churn.ErrTooFewData)
	}
	valSnap, err := snapAt(valDay)
	if err != nil {
		return nil, nil, err
	}
	testSnap, err := snapAt(testDay)
	if err != nil {
		return nil, nil, err
	}
	names := churn.FeatureNames(ExtraNames)
	trainSet := stack(trainSnaps)
	rep.TrainCustomers = len(trainSet.Churn)
	model, cands, err := churn.Train(trainSet, valSnap.set(), names, ExtraNames, StageCodes(), cfg.Train)
	if err != nil {
		return nil, nil, err
	}
	rep.Candidates, rep.ModelKind = cands, model.Kind
	rep.ValidationSnapshot = valDay.Format(time.DateOnly)
	evaluate(rep, model, testSnap)
	log.Info("trained", "model", model.Kind, "test_auc", rep.AUC, "ece", rep.ECE, "recency_auc", rep.Baselines.RecencyAUC)

	if cfg.Registry != "" {
		if err := register(rep, model, cfg, testSnap, kept[0]); err != nil {
			return rep, model, err
		}
	}
	return rep, model, nil
}

// evaluate fills the test-snapshot metrics of rep.
func evaluate(rep *TrainReport, m *churn.Model, s *Snapshot) {
	p := m.PredictAll(s.X)
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

// register stores the model as a new version, points "challenger" at it,
// re-evaluates the champion on the same test snapshot and promotes by rule.
func register(rep *TrainReport, m *churn.Model, cfg TrainConfig, test *Snapshot, firstTrain time.Time) error {
	reg, err := registry.Open(cfg.Registry)
	if err != nil {
		return err
	}
	raw, err := json.Marshal(m)
	if err != nil {
		return err
	}
	types := make([]string, len(m.Features))
	for i := range types {
		types[i] = "float64"
	}
	art := &registry.Artifact{
		Kind: registry.Kind(m.Kind), Model: raw, Calibrator: m.Calibrator,
		FeatureNames: m.Features, FeatureTypes: types, SchemaHash: registry.SchemaHash(m.Features, types),
		TrainWindow: registry.Window{From: firstTrain, To: test.Day},
		Metrics:     rep.metrics(),
	}
	version, err := reg.Register(art)
	if err != nil {
		return err
	}
	rep.ModelVersion = version
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
	if err := reg.SetAlias("challenger", version, "trained on "+rep.TestSnapshot, false); err != nil {
		return err
	}
	var champ registry.Metrics
	if ca, err := reg.Load("champion"); err == nil {
		cm, err := ModelFromArtifact(ca)
		if err == nil && cm.CheckSchema(m.Features) == nil {
			p := cm.PredictAll(test.X)
			champ = registry.Metrics{TestSnapshot: rep.TestSnapshot, N: test.Rows(),
				AUC: metrics.AUC(test.Churn, p), ECE: metrics.ECE(test.Churn, p)}
		}
		// A champion on another schema cannot be compared: the candidate is judged alone.
	} else if !errors.Is(err, registry.ErrNotFound) {
		return err
	}
	d := registry.Promote(rep.metrics(), champ, cfg.Rule, cfg.Force)
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

// ModelFromArtifact decodes a registered churn model.
func ModelFromArtifact(a *registry.Artifact) (*churn.Model, error) {
	var m churn.Model
	if err := json.Unmarshal(a.Model, &m); err != nil {
		return nil, fmt.Errorf("pipeline: model %s: %w", a.Version, err)
	}
	if err := m.Init(); err != nil {
		return nil, err
	}
	return &m, nil
}
