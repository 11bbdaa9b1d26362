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
}

func (s Set) rows() int {
	if s.X == nil {
		return 0
	}
	r, _ := s.X.Dims()
	return r
}

// TrainOptions configure Train.
type TrainOptions struct {
	HorizonDays int
	Candidates  []string // "gbt", "logit"; nil = both
	GBT         gbt.Params
	L2          float64 // logit ridge strength; 0 = 1e-3
	MinBuyers   int     // training rows needed; 0 = 500
	MinPerClass int     // rows of each churn class needed in training and validation; 0 = 50
	// MaxTrainRows caps the training rows by a seeded uniform sample (the
	// snapshots of a large population repeat the same customers); 0 = 150,000.
	MaxTrainRows int
	Seed         uint64
}

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

// Candidate is how one candidate did on the validation snapshot.
type Candidate struct {
	Kind    string  `json:"kind"`
	AUC     float64 `json:"auc"`
	Chosen  bool    `json:"chosen"`
	Seconds float64 `json:"seconds"` // fitting time
	Rounds  int     `json:"rounds,omitempty"`
}

// Train fits the candidates on train, picks the one with the best AUC on
// val, calibrates it on val, and fits the predicted-stage model. names are
// the matrix columns (FeatureNames), extra the BTYD columns among them,
// stageCodes the class names of Set.Stage.
func Train(train, val Set, names, extra, stageCodes []string, o TrainOptions) (*Model, []Candidate, error) {
	if o.MinBuyers == 0 {
		o.MinBuyers = 500
	}
	if o.MinPerClass == 0 {
		o.MinPerClass = 50
	}
	if o.L2 == 0 {
		o.L2 = 1e-3
	}
	if o.Candidates == nil {
		o.Candidates = []string{"gbt", "logit"}
	}
	if o.GBT.Rounds == 0 {
		o.GBT = DefaultGBT(o.Seed)
	}
	if err := enough(train, val, o); err != nil {
		return nil, nil, err
	}
	if o.MaxTrainRows == 0 {
		o.MaxTrainRows = 150_000
	}
	train = sample(train, o.MaxTrainRows, o.Seed)
	base := Model{Features: names, Extra: extra, SchemaHash: SchemaHash(names), HorizonDays: o.HorizonDays}
	var best *Model
	var bestAUC float64
	var cands []Candidate
	var bestVal []float64
	for _, kind := range o.Candidates {
		t0 := time.Now()
		m := base
		m.Kind = kind
		switch kind {
		case "gbt":
			p := o.GBT
			p.Names = names
			g, err := gbt.Fit(train.X, train.Churn, val.X, val.Churn, p)
			if err != nil {
				return nil, nil, fmt.Errorf("churn: gradient boosting: %w", err)
			}
			m.GBT = g
		case "logit":
			m.Impute = medians(train.X)
			tr := make([]logit.Transform, len(names))
			for j := range tr {
				tr[j] = logit.Log1p
			}
			l, err := logit.Fit(imputeAll(train.X, m.Impute), train.Churn, nil, logit.Options{L2: o.L2, Transforms: tr, Names: names})
			if err != nil {
				return nil, nil, fmt.Errorf("churn: logistic regression: %w", err)
			}
			m.Logit = l
		default:
			return nil, nil, fmt.Errorf("churn: unknown candidate %q (want gbt or logit)", kind)
		}
		raw := make([]float64, val.rows())
		for i := range raw {
			raw[i] = m.raw(val.X.RawRowView(i))
		}
		auc := metrics.AUC(val.Churn, raw)
		c := Candidate{Kind: kind, AUC: auc, Seconds: time.Since(t0).Seconds()}
		if m.GBT != nil {
			c.Rounds = len(m.GBT.Trees)
		}
		cands = append(cands, c)
		if best == nil || auc > bestAUC {
			mm := m
			best, bestAUC, bestVal = &mm, auc, raw
		}
	}
	for i := range cands {
		cands[i].Chosen = cands[i].Kind == best.Kind
	}
	cal, err := calibrate.Fit(calibrate.MethodIsotonic, bestVal, val.Churn)
	if err != nil {
		return nil, nil, fmt.Errorf("churn: calibration: %w", err)
	}
	if best.Calibrator, err = calibrate.Marshal(cal); err != nil {
		return nil, nil, err
	}
	best.cal = cal

	if train.Stage != nil && len(stageCodes) >= 2 {
		p := o.GBT
		p.Objective = gbt.Multiclass
		p.NumClass = len(stageCodes)
		p.Names = names
		// K trees per round: a faster schedule keeps the stage model's cost near the churn model's.
		p.Rounds, p.LearningRate, p.EarlyStoppingRounds = min(p.Rounds, 120), 0.15, 10
		st := sample(train, 60_000, o.Seed+1)
		s, err := gbt.Fit(st.X, st.Stage, val.X, val.Stage, p)
		if err != nil {
			return nil, nil, fmt.Errorf("churn: predicted-stage model: %w", err)
		}
		best.Stage, best.StageCodes = s, stageCodes
	}
	return best, cands, nil
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
func medians(X *mat.Dense) []float64 {
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
			out[j] = col[len(col)/2]
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
	for k, i := range idx {
		copy(out.X.RawRowView(k), s.X.RawRowView(i))
		out.Churn[k] = s.Churn[i]
		if s.Stage != nil {
			out.Stage[k] = s.Stage[i]
		}
	}
	return out
}
