package churn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"gonum.org/v1/gonum/mat"

	"github.com/churnpipe/churnpipe/models/calibrate"
	"github.com/churnpipe/churnpipe/models/gbt"
	"github.com/churnpipe/churnpipe/models/logit"
	"github.com/churnpipe/churnpipe/models/metrics"
)

// Set is one labelled design matrix: rows are customers at a snapshot.
type Set struct {
	X     *mat.Dense
	Churn []float64 // 1 = no purchase within the horizon
	Stage []float64 // class index into the stage codes of the stage label; may be nil
	// LogExposure is each row's label-window log exposure
	// (season.Index.LogExposure of the fold's index); nil = no calendar.
	LogExposure []float64
}

func (s Set) rows() int {
	if s.X == nil {
		return 0
	}
	r, _ := s.X.Dims()
	return r
}

// TrainOptions configure Train and FitCandidates.
type TrainOptions struct {
	HorizonDays int
	// Candidates are the model kinds fitted ("gbt", "logit", "btyd",
	// "recency", "blend"); nil = all. The blend needs gbt, logit and btyd.
	Candidates []string
	GBT        gbt.Params
	// L2 are the logit ridge strengths tried, the best validation AUC
	// kept; nil = DefaultL2.
	L2          []float64
	MinBuyers   int // training rows needed; 0 = 500
	MinPerClass int // rows of each churn class needed in training and validation; 0 = 50
	// MaxTrainRows caps the training rows by a seeded uniform sample (the
	// snapshots of a large population repeat the same customers); 0 = 40,000.
	// The logistic regression sees at most half of them.
	MaxTrainRows int
	// NoRefit keeps the candidates fitted on each fold's training window
	// instead of refitting them on the window moved forward to the
	// validation snapshot (Fold.Refit, RefitCandidates).
	NoRefit bool
	// NoSeason ignores the folds' month index (Fold.Season).
	NoSeason bool
	Seed     uint64
}

// DefaultL2 are the logistic ridge strengths tried unless TrainOptions.L2
// says otherwise. The strong ones (0.1, 1) win on the short histories: on
// dunnhumby the logit's mean test Brier score fell from 0.0946 to 0.0919
// and its ECE from 0.053 to 0.039 when they were added (README).
var DefaultL2 = []float64{1e-3, 1e-2, 1e-1, 1}

// AllCandidates are the kinds fitted by default.
var AllCandidates = []string{KindGBT, KindLogit, KindBTYD, KindRecency, KindBlend}

// DefaultGBT are the boosting parameters used unless overridden: shallow
// trees, a small learning rate and early stopping on the validation snapshot.
func DefaultGBT(seed uint64) gbt.Params {
	p := gbt.DefaultParams()
	p.Rounds = 400
	p.LearningRate = 0.05
	p.MaxDepth = 4
	p.MinChildWeight = 5
	p.Lambda = 5
	p.Subsample = 0.8
	p.Seed = seed
	p.EarlyStoppingRounds = 30
	return p
}

func (o TrainOptions) withDefaults() TrainOptions {
	if o.MinBuyers == 0 {
		o.MinBuyers = 500
	}
	if o.MinPerClass == 0 {
		o.MinPerClass = 50
	}
	if o.L2 == nil {
		o.L2 = DefaultL2
	}
	if o.Candidates == nil {
		o.Candidates = AllCandidates
	}
	if o.GBT.Rounds == 0 {
		o.GBT = DefaultGBT(o.Seed)
	}
	if o.MaxTrainRows == 0 {
		o.MaxTrainRows = 40_000
	}
	return o
}

// Candidate is how one candidate did on the validation snapshot(s).
type Candidate struct {
	Kind     string    `json:"kind"`
	AUC      float64   `json:"auc"`                // mean validation AUC over the folds
	FoldAUC  []float64 `json:"fold_auc,omitempty"` // validation AUC per fold, newest first
	Chosen   bool      `json:"chosen"`
	Baseline bool      `json:"baseline,omitempty"`
	Seconds  float64   `json:"seconds"` // fitting time, all folds
	Rounds   int       `json:"rounds,omitempty"`
	L2       float64   `json:"l2,omitempty"`
}

// Fitted is one candidate fitted on a training set and calibrated on a
// validation set.
type Fitted struct {
	Model  *Model
	ValAUC float64 // AUC of the uncalibrated score on the validation set (the blend's cross-fitted)
	// ValLogLoss is the log loss of the calibrated probability on the
	// validation set: the single parts' Platt scaling is fitted there (two
	// parameters), the blend's weights are cross-fitted like its AUC.
	ValLogLoss float64
	Seconds    float64
}

// FitCandidates fits every candidate kind of o on train and calibrates it
// on val (the most recent labelled window before the test snapshot): Platt
// scaling of the part's log-odds score, and for the blend a logistic
// regression on the gbt, logit and btyd scores, whose validation AUC is
// cross-fitted (two halves of val, each scored by weights fitted on the
// other). Results are in the order of o.Candidates.
func FitCandidates(train, val Set, names, extra []string, o TrainOptions) ([]Fitted, error) {
	o = o.withDefaults()
	if err := enough(train, val, o); err != nil {
		return nil, err
	}
	train = sample(train, o.MaxTrainRows, o.Seed)
	base := Model{Features: names, Extra: extra, SchemaHash: SchemaHash(names), HorizonDays: o.HorizonDays,
		Impute: medians(train.X)}
	base.ClipLo, base.ClipHi = quantiles(train.X, 0.005), quantiles(train.X, 0.995)
	for _, n := range []string{recencyCol, ExtraBGNBDProbNoPurchase} {
		if !slices.Contains(names, n) {
			return nil, fmt.Errorf("churn: the design matrix has no column %q", n)
		}
	}
	var g *gbt.Model
	var l *logit.Model
	out := make([]Fitted, 0, len(o.Candidates))
	byKind := map[string]*Model{}
	need := map[string]bool{}
	for _, k := range o.Candidates {
		need[k] = true
		if k == KindBlend {
			need[KindGBT], need[KindLogit], need[KindBTYD] = true, true, true
		}
	}
	links := map[string][]float64{}
	secs := map[string]float64{}
	fit := func(kind string) error {
		t0 := time.Now()
		m := base
		m.Kind = kind
		switch kind {
		case KindGBT:
			p := o.GBT
			p.Names = names
			var err error
			if g, err = gbt.Fit(train.X, train.Churn, val.X, val.Churn, p); err != nil {
				return fmt.Errorf("churn: gradient boosting: %w", err)
			}
			m.GBT = g
		case KindLogit:
			tr := make([]logit.Transform, len(names))
			for j := range tr {
				tr[j] = logit.Log1p
			}
			lt := sample(train, o.MaxTrainRows/2, o.Seed+2)
			Xi := logitDesign(lt.X, &m)
			var bestAUC float64
			for _, l2 := range o.L2 {
				c, err := logit.Fit(Xi, lt.Churn, nil, logit.Options{L2: l2, Transforms: tr, Names: names})
				if err != nil {
					return fmt.Errorf("churn: logistic regression (L2 %g): %w", l2, err)
				}
				mm := m
				mm.Logit = c
				if auc := metrics.AUC(val.Churn, linkAll(&mm, KindLogit, val.X)); l == nil || auc > bestAUC {
					l, bestAUC = c, auc
				}
			}
			m.Logit = l
		case KindBTYD, KindRecency:
		default:
			return fmt.Errorf("churn: unknown candidate %q (want one of %v)", kind, AllCandidates)
		}
		mm := m
		byKind[kind] = &mm
		links[kind] = linkAll(&mm, kind, val.X)
		secs[kind] = time.Since(t0).Seconds()
		return nil
	}
	for _, k := range []string{KindGBT, KindLogit, KindBTYD, KindRecency} {
		if need[k] {
			if err := fit(k); err != nil {
				return nil, err
			}
		}
	}
	for _, kind := range o.Candidates {
		t0 := time.Now()
		if kind == KindBlend {
			parts := []string{KindGBT, KindLogit, KindBTYD}
			Z := mat.NewDense(val.rows(), len(parts), nil)
			for k, p := range parts {
				Z.SetCol(k, links[p])
			}
			st, err := fitStack(parts, Z, val.Churn)
			if err != nil {
				return nil, err
			}
			m := base
			m.Kind, m.GBT, m.Logit, m.Stack = KindBlend, g, l, st
			auc, ll := crossFitted(parts, Z, val.Churn)
			out = append(out, Fitted{Model: &m, ValAUC: auc, ValLogLoss: ll,
				Seconds: secs[KindGBT] + secs[KindLogit] + time.Since(t0).Seconds()})
			continue
		}
		m := byKind[kind]
		Z := mat.NewDense(val.rows(), 1, links[kind])
		st, err := fitStack([]string{kind}, Z, val.Churn)
		if err != nil {
			return nil, err
		}
		m.Stack = st
		pv := make([]float64, len(links[kind]))
		for i, z := range links[kind] {
			pv[i] = bound(sigmoid(st.Intercept + st.Coef[0]*z))
		}
		out = append(out, Fitted{Model: m, ValAUC: metrics.AUC(val.Churn, links[kind]), ValLogLoss: metrics.LogLoss(val.Churn, pv),
			Seconds: secs[kind] + time.Since(t0).Seconds()})
	}
	return out, nil
}

func linkAll(m *Model, part string, X *mat.Dense) []float64 {
	r, _ := X.Dims()
	out := make([]float64, r)
	for i := range out {
		out[i] = m.link(part, X.RawRowView(i))
	}
	return out
}

// fitStack fits p = σ(b + Σ c_k z_k) on the link scores Z (one column per
// part): Platt scaling for one part (calibrate.FitPlatt with its smoothed
// targets), a lightly ridged logistic regression for several.
func fitStack(parts []string, Z *mat.Dense, y []float64) (*Stack, error) {
	if len(parts) == 1 {
		p, err := calibrate.FitPlatt(Z.RawMatrix().Data, y, nil, false)
		if err != nil {
			return nil, fmt.Errorf("churn: calibrating %s: %w", parts[0], err)
		}
		return &Stack{Parts: parts, Coef: []float64{p.A}, Intercept: p.B}, nil
	}
	l, err := logit.Fit(Z, y, nil, logit.Options{L2: 1e-4})
	if err != nil {
		return nil, fmt.Errorf("churn: fitting the blend: %w", err)
	}
	st := &Stack{Parts: parts, Coef: make([]float64, len(parts)), Intercept: l.Intercept}
	for k := range parts {
		// logit standardises its inputs: fold mean and SD into the weights.
		st.Coef[k] = l.Coef[k] / l.SD[k]
		st.Intercept -= l.Coef[k] * l.Mean[k] / l.SD[k]
	}
	return st, nil
}

// crossFitted returns the AUC and the log loss of the blend on Z whose
// halves (even and odd rows) are each scored by weights fitted on the other
// half.
func crossFitted(parts []string, Z *mat.Dense, y []float64) (auc, logLoss float64) {
	r, c := Z.Dims()
	score := make([]float64, r)
	for h := 0; h < 2; h++ {
		var fitRows, evalRows []int
		for i := 0; i < r; i++ {
			if i%2 == h {
				evalRows = append(evalRows, i)
			} else {
				fitRows = append(fitRows, i)
			}
		}
		Zf := mat.NewDense(len(fitRows), c, nil)
		yf := make([]float64, len(fitRows))
		for k, i := range fitRows {
			Zf.SetRow(k, Z.RawRowView(i))
			yf[k] = y[i]
		}
		st, err := fitStack(parts, Zf, yf)
		if err != nil {
			return math.NaN(), math.NaN()
		}
		for _, i := range evalRows {
			z := st.Intercept
			for k, v := range Z.RawRowView(i) {
				z += st.Coef[k] * v
			}
			score[i] = z
		}
	}
	p := make([]float64, r)
	for i, z := range score {
		p[i] = bound(sigmoid(z))
	}
	return metrics.AUC(y, score), metrics.LogLoss(y, p)
}

// FitStage fits the predicted-stage model (multiclass boosted trees) on
// train with early stopping on val.
func FitStage(train, val Set, names, stageCodes []string, o TrainOptions) (*gbt.Model, error) {
	o = o.withDefaults()
	p := o.GBT
	p.Objective = gbt.Multiclass
	p.NumClass = len(stageCodes)
	p.Names = names
	// K trees per round: a faster schedule keeps the stage model's cost near the churn model's.
	p.Rounds, p.LearningRate, p.EarlyStoppingRounds = min(p.Rounds, 120), 0.15, 10
	st := sample(train, 60_000, o.Seed+1)
	s, err := gbt.Fit(st.X, st.Stage, val.X, val.Stage, p)
	if err != nil {
		return nil, fmt.Errorf("churn: predicted-stage model: %w", err)
	}
	return s, nil
}

// Train fits the candidates on train, picks the one with the best AUC on
// val (calibrated on val), and fits the predicted-stage model: one fold of
// the rolling-origin selection in package pipeline.
func Train(train, val Set, names, extra, stageCodes []string, o TrainOptions) (*Model, []Candidate, error) {
	fs, err := FitCandidates(train, val, names, extra, o)
	if err != nil {
		return nil, nil, err
	}
	best := 0
	cands := make([]Candidate, len(fs))
	for i, f := range fs {
		cands[i] = Candidate{Kind: f.Model.Kind, AUC: f.ValAUC, FoldAUC: []float64{f.ValAUC}, Seconds: f.Seconds, Baseline: IsBaseline(f.Model.Kind)}
		if f.ValAUC > fs[best].ValAUC {
			best = i
		}
	}
	cands[best].Chosen = true
	m := fs[best].Model
	if train.Stage != nil && len(stageCodes) >= 2 {
		if m.Stage, err = FitStage(train, val, names, stageCodes, o); err != nil {
			return nil, nil, err
		}
		m.StageCodes = stageCodes
	}
	return m, cands, nil
}

func enough(train, val Set, o TrainOptions) error {
	if train.rows() < o.MinBuyers {
		return fmt.Errorf("%w: %d buyers in the training snapshots, need at least %d", ErrTooFewData, train.rows(), o.MinBuyers)
	}
	for _, s := range []struct {
		name string
		set  Set
	}{{"training", train}, {"validation", val}} {
		var pos int
		for _, y := range s.set.Churn {
			if y == 1 {
				pos++
			}
		}
		neg := len(s.set.Churn) - pos
		if pos < o.MinPerClass || neg < o.MinPerClass {
			return fmt.Errorf("%w: the %s snapshot has %d churners and %d retained customers, need at least %d of each",
				ErrTooFewData, s.name, pos, neg, o.MinPerClass)
		}
	}
	return nil
}

// medians returns each column's median over its finite values (0 if none).
func medians(X *mat.Dense) []float64 { return quantiles(X, 0.5) }

// quantiles returns each column's q-quantile (nearest rank) over its finite
// values (0 if none).
func quantiles(X *mat.Dense, q float64) []float64 {
	r, c := X.Dims()
	out := make([]float64, c)
	col := make([]float64, 0, r)
	for j := 0; j < c; j++ {
		col = col[:0]
		for i := 0; i < r; i++ {
			if v := X.At(i, j); !math.IsNaN(v) && !math.IsInf(v, 0) {
				col = append(col, v)
			}
		}
		if len(col) > 0 {
			slices.Sort(col)
			out[j] = col[min(len(col)-1, int(q*float64(len(col))))]
		}
	}
	return out
}

func imputeAll(X *mat.Dense, med []float64) *mat.Dense {
	r, c := X.Dims()
	out := mat.NewDense(r, c, nil)
	out.Copy(X)
	for i := 0; i < r; i++ {
		row := out.RawRowView(i)
		for j, v := range row {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				row[j] = med[j]
			}
		}
	}
	return out
}

// sample returns at most n rows of s, chosen uniformly with a seeded
// generator and kept in their original order.
func sample(s Set, n int, seed uint64) Set {
	r := s.rows()
	if r <= n {
		return s
	}
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	idx := rng.Perm(r)[:n]
	slices.Sort(idx)
	_, c := s.X.Dims()
	out := Set{X: mat.NewDense(n, c, nil), Churn: make([]float64, n)}
	if s.Stage != nil {
		out.Stage = make([]float64, n)
	}
	if s.LogExposure != nil {
		out.LogExposure = make([]float64, n)
	}
	for k, i := range idx {
		copy(out.X.RawRowView(k), s.X.RawRowView(i))
		out.Churn[k] = s.Churn[i]
		if s.Stage != nil {
			out.Stage[k] = s.Stage[i]
		}
		if s.LogExposure != nil {
			out.LogExposure[k] = s.LogExposure[i]
		}
	}
	return out
}

// fitSeasonBeta returns the exponent β ∈ [0, MaxSeasonBeta] of Season that
// maximises the log-likelihood of fit's labels under m's probabilities
// moved from the calendar of ref (the log exposure m is calibrated on) to
// each row's, p^exp(β·(e − ref)), by golden-section search to 1e-4 (on at
// most 20,000 rows, a seeded sample). It returns 0 when fit has no
// LogExposure, when its rows all share one calendar, or when no β > 0 is
// more likely than none.
func fitSeasonBeta(m *Model, fit Set, ref float64, seed uint64) float64 {
	if fit.LogExposure == nil {
		return 0
	}
	fit = sample(fit, 20000, seed)
	spread := false
	for _, e := range fit.LogExposure {
		spread = spread || math.Abs(e-fit.LogExposure[0]) > 1e-9
	}
	if !spread {
		return 0
	}
	base := *m
	base.Season, base.expo = nil, 0
	p := base.PredictAll(fit.X)
	ll := func(beta float64) float64 {
		var s float64
		for i, pi := range p {
			q := bound(math.Exp(math.Exp(beta*(fit.LogExposure[i]-ref)) * math.Log(pi)))
			if fit.Churn[i] == 1 {
				s += math.Log(q)
			} else {
				s += math.Log1p(-q)
			}
		}
		return s
	}
	lo, hi := 0.0, float64(MaxSeasonBeta)
	g := (math.Sqrt(5) - 1) / 2
	a, b := hi-g*(hi-lo), lo+g*(hi-lo)
	fa, fb := ll(a), ll(b)
	for hi-lo > 1e-4 {
		if fa > fb {
			hi, b, fb = b, a, fa
			a = hi - g*(hi-lo)
			fa = ll(a)
		} else {
			lo, a, fa = a, b, fb
			b = lo + g*(hi-lo)
			fb = ll(b)
		}
	}
	beta := (lo + hi) / 2
	if !(ll(beta) > ll(0)) {
		return 0
	}
	return beta
}

// RefitCandidates refits the learnt candidates of fs (fitted by
// FitCandidates on an older training window) on refit, the training
// snapshots moved forward so that the newest is the validation snapshot
// itself: the hyper-parameters stay those chosen on validation (the logit's
// ridge, the trees' early-stopped number of rounds), the calibration keeps
// its slopes (fitted out of time) and its intercept is re-centred so that the
// mean probability on the validation snapshot equals its churn rate. The
// baselines and the blend are returned as they are: the blend's weights are
// fitted on its parts' validation scores, out of time, and refitted parts
// would no longer be the parts they weigh (on TestRefitCandidates' data, a
// blend of refitted parts under the old weights tested 0.01–0.18 AUC below
// the old blend). ValAUC stays the out-of-time figure of the older fit.
func RefitCandidates(fs []Fitted, refit, val Set, names []string, o TrainOptions) ([]Fitted, error) {
	o = o.withDefaults()
	if refit.rows() < o.MinBuyers {
		return fs, nil
	}
	refit = sample(refit, o.MaxTrainRows, o.Seed+11)
	var old *Model
	refitted := func(kind string) bool { return kind == KindGBT || kind == KindLogit }
	for _, f := range fs {
		if refitted(f.Model.Kind) {
			old = f.Model
			break
		}
	}
	if old == nil {
		return fs, nil
	}
	base := Model{Features: old.Features, Extra: old.Extra, SchemaHash: old.SchemaHash, HorizonDays: old.HorizonDays,
		Impute: medians(refit.X)}
	base.ClipLo, base.ClipHi = quantiles(refit.X, 0.005), quantiles(refit.X, 0.995)
	var g *gbt.Model
	var l *logit.Model
	for _, f := range fs {
		m := f.Model
		if !refitted(m.Kind) {
			continue
		}
		if m.GBT != nil && g == nil {
			p := o.GBT
			p.Names = names
			p.Rounds, p.EarlyStoppingRounds = max(1, m.GBT.Rounds), 0
			var err error
			if g, err = gbt.Fit(refit.X, refit.Churn, nil, nil, p); err != nil {
				return nil, fmt.Errorf("churn: refitting the gradient boosting: %w", err)
			}
		}
		if m.Logit != nil && l == nil {
			lt := sample(refit, o.MaxTrainRows/2, o.Seed+12)
			var err error
			if l, err = logit.Fit(logitDesign(lt.X, &base), lt.Churn, nil, logit.Options{L2: m.Logit.L2, Transforms: m.Logit.Transforms, Names: names}); err != nil {
				return nil, fmt.Errorf("churn: refitting the logistic regression: %w", err)
			}
		}
	}
	out := make([]Fitted, len(fs))
	for i, f := range fs {
		out[i] = f
		if !refitted(f.Model.Kind) {
			continue
		}
		m := base
		m.Kind = f.Model.Kind
		if f.Model.GBT != nil {
			m.GBT = g
		}
		if f.Model.Logit != nil {
			m.Logit = l
		}
		st := *f.Model.Stack
		st.Coef = slices.Clone(st.Coef)
		st.Intercept += recentre(&m, &st, val)
		m.Stack = &st
		out[i].Model = &m
	}
	return out, nil
}

// logitDesign imputes and winsorises X as the logistic part of m sees it.
func logitDesign(X *mat.Dense, m *Model) *mat.Dense {
	Xi := imputeAll(X, m.Impute)
	r, c := Xi.Dims()
	for i := 0; i < r; i++ {
		row := Xi.RawRowView(i)
		for j := 0; j < c; j++ {
			row[j] = math.Min(m.ClipHi[j], math.Max(m.ClipLo[j], row[j]))
		}
	}
	return Xi
}

// recentre returns δ such that the mean of σ(z + δ) over val, with z the
// stack's score of m, equals val's churn rate: the mean is increasing in δ,
// so bisection on [−30, 30] finds it (to 1e-9) whatever the scale of z.
func recentre(m *Model, st *Stack, val Set) float64 {
	n := val.rows()
	z := make([]float64, n)
	for k, part := range st.Parts {
		lk := linkAll(m, part, val.X)
		for i := range z {
			z[i] += st.Coef[k] * lk[i]
		}
	}
	var rate float64
	for i := range z {
		z[i] += st.Intercept
		rate += val.Churn[i]
	}
	rate /= float64(n)
	meanAt := func(d float64) float64 {
		var s float64
		for _, zi := range z {
			s += sigmoid(zi + d)
		}
		return s / float64(n)
	}
	lo, hi := -30.0, 30.0
	for hi-lo > 1e-9 {
		mid := (lo + hi) / 2
		if meanAt(mid) < rate {
			lo = mid
		} else {
			hi = mid
		}
	}
	if d := (lo + hi) / 2; !math.IsNaN(d) {
		return d
	}
	return 0
}
