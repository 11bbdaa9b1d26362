package logit

import (
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/optimize"
)

// Errors returned by Fit. They are wrapped with details; test with errors.Is.
var (
	ErrNonFinite  = errors.New("logit: non-finite value")
	ErrShape      = errors.New("logit: inconsistent shape")
	ErrLabel      = errors.New("logit: label not 0 or 1")
	ErrOption     = errors.New("logit: invalid option")
	ErrNoConverge = errors.New("logit: optimiser failed")
)

// Transform is a per-column transformation applied before standardisation.
type Transform string

const (
	// Identity leaves the value unchanged. The empty Transform means Identity.
	Identity Transform = "identity"
	// Log1p maps x to sign(x)·log(1+|x|): log1p for non-negative counts and
	// amounts, odd-symmetric for negatives (refunds).
	Log1p Transform = "log1p"
)

// Apply returns the transformed value of x. It panics on an unknown
// Transform.
func (t Transform) Apply(x float64) float64 {
	switch t {
	case "", Identity:
		return x
	case Log1p:
		if x < 0 {
			return -math.Log1p(-x)
		}
		return math.Log1p(x)
	}
	panic(fmt.Sprintf("logit: unknown transform %q", string(t)))
}

func (t Transform) valid() bool { return t == "" || t == Identity || t == Log1p }

// Options configures Fit.
type Options struct {
	// L2 is the ridge strength λ ≥ 0 on standardised slopes; 0 means no
	// penalty (coefficients may then diverge on separable data until MaxIter).
	L2 float64
	// MaxIter bounds the L-BFGS major iterations; 0 means 200.
	MaxIter int
	// Transforms gives one Transform per column; nil means Identity for all.
	Transforms []Transform
	// Names optionally names the columns; stored in the Model.
	Names []string
}

// Model is a fitted logistic regression. All fields are exported for JSON.
type Model struct {
	Names      []string    `json:"names,omitempty"`
	Transforms []Transform `json:"transforms"`
	Mean       []float64   `json:"mean"`
	SD         []float64   `json:"sd"`
	Coef       []float64   `json:"coef"` // slopes on standardised features
	Intercept  float64     `json:"intercept"`
	L2         float64     `json:"l2"`
	Iterations int         `json:"iterations"`
	Loss       float64     `json:"loss"` // final objective J(β)
}

// Fit fits the model to the rows of X (n×p) with labels y (0 or 1) and
// optional non-negative weights w (nil means all 1). It returns an error
// wrapping ErrShape, ErrNonFinite, ErrLabel, ErrOption or ErrNoConverge.
func Fit(X mat.Matrix, y, w []float64, opt Options) (*Model, error) {
	n, p := X.Dims()
	return fit(n, p, func(i, j int) float64 { return X.At(i, j) }, y, w, opt)
}

// FitRows is Fit for a slice of equally long rows.
func FitRows(X [][]float64, y, w []float64, opt Options) (*Model, error) {
	n := len(X)
	p := 0
	if n > 0 {
		p = len(X[0])
	}
	for i, r := range X {
		if len(r) != p {
			return nil, fmt.Errorf("%w: row %d has %d columns, want %d", ErrShape, i, len(r), p)
		}
	}
	return fit(n, p, func(i, j int) float64 { return X[i][j] }, y, w, opt)
}

func fit(n, p int, at func(i, j int) float64, y, w []float64, opt Options) (*Model, error) {
	if n == 0 {
		return nil, fmt.Errorf("%w: no rows", ErrShape)
	}
	if len(y) != n {
		return nil, fmt.Errorf("%w: %d labels for %d rows", ErrShape, len(y), n)
	}
	if w != nil && len(w) != n {
		return nil, fmt.Errorf("%w: %d weights for %d rows", ErrShape, len(w), n)
	}
	if opt.Transforms != nil && len(opt.Transforms) != p {
		return nil, fmt.Errorf("%w: %d transforms for %d columns", ErrShape, len(opt.Transforms), p)
	}
	if opt.Names != nil && len(opt.Names) != p {
		return nil, fmt.Errorf("%w: %d names for %d columns", ErrShape, len(opt.Names), p)
	}
	if !(opt.L2 >= 0) || math.IsInf(opt.L2, 0) {
		return nil, fmt.Errorf("%w: L2 = %v", ErrOption, opt.L2)
	}
	if opt.MaxIter < 0 {
		return nil, fmt.Errorf("%w: MaxIter = %d", ErrOption, opt.MaxIter)
	}
	maxIter := opt.MaxIter
	if maxIter == 0 {
		maxIter = 200
	}
	tr := make([]Transform, p)
	for j := range tr {
		tr[j] = Identity
		if opt.Transforms != nil && opt.Transforms[j] != "" {
			if !opt.Transforms[j].valid() {
				return nil, fmt.Errorf("%w: column %d transform %q", ErrOption, j, opt.Transforms[j])
			}
			tr[j] = opt.Transforms[j]
		}
	}
	var W float64
	for i := range n {
		if y[i] != 0 && y[i] != 1 {
			return nil, fmt.Errorf("%w: row %d label %v", ErrLabel, i, y[i])
		}
		wi := 1.0
		if w != nil {
			wi = w[i]
			if !(wi >= 0) || math.IsInf(wi, 0) {
				return nil, fmt.Errorf("%w: row %d weight %v", ErrNonFinite, i, wi)
			}
		}
		W += wi
	}
	if !(W > 0) {
		return nil, fmt.Errorf("%w: weights sum to %v", ErrOption, W)
	}

	// Transformed design, row-major, then standardised in place.
	Z := make([]float64, n*p)
	mean := make([]float64, p)
	sd := make([]float64, p)
	for i := range n {
		wi := weight(w, i)
		for j := range p {
			v := at(i, j)
			if math.IsNaN(v) || math.IsInf(v, 0) {
				name := fmt.Sprint(j)
				if opt.Names != nil {
					name = opt.Names[j]
				}
				return nil, fmt.Errorf("%w: column %q row %d is %v (impute before Fit)", ErrNonFinite, name, i, v)
			}
			t := tr[j].Apply(v)
			Z[i*p+j] = t
			mean[j] += wi * t
		}
	}
	for j := range p {
		mean[j] /= W
	}
	for i := range n {
		wi := weight(w, i)
		for j := range p {
			d := Z[i*p+j] - mean[j]
			sd[j] += wi * d * d
		}
	}
	for j := range p {
		sd[j] = math.Sqrt(sd[j] / W)
		if !(sd[j] > 1e-12*math.Max(1, math.Abs(mean[j]))) {
			sd[j] = 1 // constant column: its slope is driven to 0 by the penalty
		}
	}
	for i := range n {
		for j := range p {
			Z[i*p+j] = (Z[i*p+j] - mean[j]) / sd[j]
		}
	}

	lambda := opt.L2
	pb := &problem{Z: Z, y: y, w: w, n: n, p: p, W: W, lambda: lambda}
	objGrad := pb.objGrad
	prob := optimize.Problem{
		Func: func(b []float64) float64 { return objGrad(nil, b) },
		Grad: func(g, b []float64) { objGrad(g, b) },
	}
	x0 := make([]float64, p+1)
	// Start at the weighted log-odds of the base rate.
	var pos float64
	for i := range n {
		pos += weight(w, i) * y[i]
	}
	if pr := pos / W; pr > 0 && pr < 1 {
		x0[0] = math.Log(pr / (1 - pr))
	}
	settings := &optimize.Settings{
		GradientThreshold: 1e-7,
		MajorIterations:   maxIter,
		Converger:         &optimize.FunctionConverge{Absolute: 1e-12, Relative: 1e-12, Iterations: 20},
	}
	res, err := optimize.Minimize(prob, x0, settings, &optimize.LBFGS{})
	if res == nil {
		return nil, fmt.Errorf("%w: %v", ErrNoConverge, err)
	}
	if err != nil {
		// A line search can fail at a point that is already optimal to
		// machine precision; accept it only if the gradient is small.
		g := make([]float64, p+1)
		objGrad(g, res.X)
		var gmax float64
		for _, v := range g {
			gmax = math.Max(gmax, math.Abs(v))
		}
		if !(gmax < 1e-5) {
			return nil, fmt.Errorf("%w: %v (gradient max-norm %.3g)", ErrNoConverge, err, gmax)
		}
	}
	for _, v := range res.X {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("%w: non-finite coefficient", ErrNoConverge)
		}
	}
	m := &Model{
		Transforms: tr,
		Mean:       mean,
		SD:         sd,
		Coef:       append([]float64(nil), res.X[1:]...),
		Intercept:  res.X[0],
		L2:         lambda,
		Iterations: res.MajorIterations,
		Loss:       res.F,
	}
	if opt.Names != nil {
		m.Names = append([]string(nil), opt.Names...)
	}
	return m, nil
}

func weight(w []float64, i int) float64 {
	if w == nil {
		return 1
	}
	return w[i]
}

// sigmoid returns 1/(1+e^{−z}) without overflow.
func sigmoid(z float64) float64 {
	if z >= 0 {
		return 1 / (1 + math.Exp(-z))
	}
	e := math.Exp(z)
	return e / (1 + e)
}

// softplus returns log(1+e^z) without overflow.
func softplus(z float64) float64 {
	return math.Max(z, 0) + math.Log1p(math.Exp(-math.Abs(z)))
}

// NumFeatures returns the number of input columns.
func (m *Model) NumFeatures() int { return len(m.Coef) }

func (m *Model) check(x []float64) {
	if len(x) != len(m.Coef) {
		panic(fmt.Sprintf("logit: input has %d features, model has %d", len(x), len(m.Coef)))
	}
}

// standardised returns (t(x_j) − μ_j)/σ_j.
func (m *Model) standardised(j int, v float64) float64 {
	return (m.Transforms[j].Apply(v) - m.Mean[j]) / m.SD[j]
}

// Margin returns the log-odds β₀ + Σ βⱼ x̃ⱼ of x. It panics if len(x) is not
// the number of features; NaN in x gives NaN.
func (m *Model) Margin(x []float64) float64 {
	m.check(x)
	z := m.Intercept
	for j, v := range x {
		z += m.Coef[j] * m.standardised(j, v)
	}
	return z
}

// Predict returns P(y=1 | x), computed as a stable sigmoid of Margin. It
// panics if len(x) is not the number of features; NaN in x gives NaN.
func (m *Model) Predict(x []float64) float64 {
	z := m.Margin(x)
	if math.IsNaN(z) {
		return z
	}
	return sigmoid(z)
}

// PredictBatch returns Predict for every row of X.
func (m *Model) PredictBatch(X mat.Matrix) []float64 {
	n, p := X.Dims()
	out := make([]float64, n)
	row := make([]float64, p)
	for i := range n {
		for j := range p {
			row[j] = X.At(i, j)
		}
		out[i] = m.Predict(row)
	}
	return out
}

// Contributions returns βⱼ x̃ⱼ for each feature: the additive contribution
// of feature j to the log-odds, relative to a customer at the training mean.
// Their sum plus Intercept is Margin(x). It panics if len(x) is not the
// number of features.
func (m *Model) Contributions(x []float64) []float64 {
	m.check(x)
	c := make([]float64, len(x))
	for j, v := range x {
		c[j] = m.Coef[j] * m.standardised(j, v)
	}
	return c
}

// problem holds the standardised design and evaluates J and ∇J.
type problem struct {
	Z      []float64 // n×p row-major standardised design
	y, w   []float64
	n, p   int
	W      float64
	lambda float64
}

// objGrad returns J(beta) and, if grad is not nil, stores ∇J in grad.
// beta[0] is the intercept, beta[1:] the slopes.
func (pb *problem) objGrad(grad, beta []float64) float64 {
	p := pb.p
	for k := range grad {
		grad[k] = 0
	}
	var loss float64
	for i := range pb.n {
		wi := weight(pb.w, i)
		if wi == 0 {
			continue
		}
		row := pb.Z[i*p : (i+1)*p]
		z := beta[0]
		for j, v := range row {
			z += beta[j+1] * v
		}
		loss += wi * (softplus(z) - pb.y[i]*z)
		if grad != nil {
			r := wi * (sigmoid(z) - pb.y[i])
			grad[0] += r
			for j, v := range row {
				grad[j+1] += r * v
			}
		}
	}
	loss /= pb.W
	var pen float64
	for j := 1; j <= p; j++ {
		pen += beta[j] * beta[j]
	}
	if grad != nil {
		for k := range grad {
			grad[k] /= pb.W
		}
		for j := 1; j <= p; j++ {
			grad[j] += pb.lambda * beta[j]
		}
	}
	return loss + 0.5*pb.lambda*pen
}
