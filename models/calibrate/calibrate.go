package calibrate

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
)

// Errors returned by the fitting functions, wrapped with details.
var (
	ErrShape      = errors.New("calibrate: inconsistent shape")
	ErrNonFinite  = errors.New("calibrate: non-finite value")
	ErrLabel      = errors.New("calibrate: label not 0 or 1")
	ErrMethod     = errors.New("calibrate: unknown method")
	ErrNoConverge = errors.New("calibrate: Newton iteration did not converge")
)

// Method names a calibration method.
type Method string

const (
	MethodIsotonic Method = "isotonic"
	MethodPlatt    Method = "platt"
)

// Calibrator maps a score to a calibrated probability.
type Calibrator interface {
	// Apply returns the calibrated probability of score s; NaN for NaN.
	Apply(s float64) float64
	// Method returns the calibrator's method name.
	Method() Method
}

// Fit fits a calibrator of the given method to probability scores and
// labels, with unit weights. Platt is fitted on logit(score).
func Fit(method Method, scores, y []float64) (Calibrator, error) {
	switch method {
	case MethodIsotonic:
		return FitIsotonic(scores, y, nil)
	case MethodPlatt:
		return FitPlatt(scores, y, nil, true)
	}
	return nil, fmt.Errorf("%w: %q", ErrMethod, method)
}

func validate(scores, y, w []float64) error {
	if len(scores) != len(y) || (w != nil && len(w) != len(y)) {
		return fmt.Errorf("%w: %d scores, %d labels, %d weights", ErrShape, len(scores), len(y), len(w))
	}
	if len(y) == 0 {
		return fmt.Errorf("%w: no data", ErrShape)
	}
	for i := range y {
		if math.IsNaN(scores[i]) || math.IsInf(scores[i], 0) {
			return fmt.Errorf("%w: score %d is %v", ErrNonFinite, i, scores[i])
		}
		if y[i] != 0 && y[i] != 1 {
			return fmt.Errorf("%w: row %d label %v", ErrLabel, i, y[i])
		}
		if w != nil && (!(w[i] >= 0) || math.IsInf(w[i], 0)) {
			return fmt.Errorf("%w: weight %d is %v", ErrNonFinite, i, w[i])
		}
	}
	return nil
}

func wt(w []float64, i int) float64 {
	if w == nil {
		return 1
	}
	return w[i]
}

// Isotonic is a fitted isotonic regression: the points (X[k], Y[k]) with X
// strictly increasing and Y non-decreasing.
type Isotonic struct {
	X []float64 `json:"x"`
	Y []float64 `json:"y"`
}

// FitIsotonic fits a weighted isotonic regression of y on scores by
// pool-adjacent-violators. w may be nil (unit weights). Errors wrap
// ErrShape, ErrNonFinite or ErrLabel.
func FitIsotonic(scores, y, w []float64) (*Isotonic, error) {
	if err := validate(scores, y, w); err != nil {
		return nil, err
	}
	idx := make([]int, len(scores))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return scores[idx[a]] < scores[idx[b]] })
	// Pool ties: one point per distinct score.
	type block struct{ xlo, xhi, sw, swy float64 }
	var pts []block
	for _, i := range idx {
		wi := wt(w, i)
		if wi == 0 {
			continue
		}
		if k := len(pts) - 1; k >= 0 && pts[k].xlo == scores[i] {
			pts[k].sw += wi
			pts[k].swy += wi * y[i]
			continue
		}
		pts = append(pts, block{scores[i], scores[i], wi, wi * y[i]})
	}
	if len(pts) == 0 {
		return nil, fmt.Errorf("%w: all weights are zero", ErrShape)
	}
	// PAV with a stack of blocks.
	stack := pts[:0:0]
	for _, b := range pts {
		stack = append(stack, b)
		for len(stack) > 1 {
			top, prev := stack[len(stack)-1], stack[len(stack)-2]
			if prev.swy/prev.sw < top.swy/top.sw {
				break
			}
			stack = stack[:len(stack)-1]
			stack[len(stack)-1] = block{prev.xlo, top.xhi, prev.sw + top.sw, prev.swy + top.swy}
		}
	}
	iso := &Isotonic{}
	for _, b := range stack {
		v := b.swy / b.sw
		iso.X = append(iso.X, b.xlo)
		iso.Y = append(iso.Y, v)
		if b.xhi > b.xlo {
			iso.X = append(iso.X, b.xhi)
			iso.Y = append(iso.Y, v)
		}
	}
	return iso, nil
}

// Method returns MethodIsotonic.
func (*Isotonic) Method() Method { return MethodIsotonic }

// Apply interpolates linearly between the fitted points and clamps outside
// [X[0], X[len−1]].
func (c *Isotonic) Apply(s float64) float64 {
	if math.IsNaN(s) {
		return s
	}
	n := len(c.X)
	if s <= c.X[0] {
		return c.Y[0]
	}
	if s >= c.X[n-1] {
		return c.Y[n-1]
	}
	k := sort.SearchFloat64s(c.X, s) // X[k-1] < s ≤ X[k]
	if c.X[k] == s {
		return c.Y[k]
	}
	x0, x1, y0, y1 := c.X[k-1], c.X[k], c.Y[k-1], c.Y[k]
	return y0 + (y1-y0)*(s-x0)/(x1-x0)
}

// Platt is a fitted sigmoid p = σ(A·u + B), with u = logit(s) when OnLogit
// (s clipped to [1e-12, 1−1e-12]) and u = s otherwise.
type Platt struct {
	A       float64 `json:"a"`
	B       float64 `json:"b"`
	OnLogit bool    `json:"on_logit"`
}

// Method returns MethodPlatt.
func (*Platt) Method() Method { return MethodPlatt }

func (c *Platt) input(s float64) float64 {
	if !c.OnLogit {
		return s
	}
	const eps = 1e-12
	s = math.Min(math.Max(s, eps), 1-eps)
	return math.Log(s / (1 - s))
}

// Apply returns σ(A·u(s) + B).
func (c *Platt) Apply(s float64) float64 {
	if math.IsNaN(s) {
		return s
	}
	return sigmoid(c.A*c.input(s) + c.B)
}

func sigmoid(z float64) float64 {
	if z >= 0 {
		return 1 / (1 + math.Exp(-z))
	}
	e := math.Exp(z)
	return e / (1 + e)
}

// FitPlatt fits Platt scaling by Newton's method with step halving.
// onLogit selects u = logit(s) (for probability scores); otherwise u = s.
// w may be nil. Errors wrap ErrShape, ErrNonFinite, ErrLabel or
// ErrNoConverge.
func FitPlatt(scores, y, w []float64, onLogit bool) (*Platt, error) {
	if err := validate(scores, y, w); err != nil {
		return nil, err
	}
	c := &Platt{OnLogit: onLogit}
	var nPos, nNeg float64
	for i := range y {
		if y[i] == 1 {
			nPos += wt(w, i)
		} else {
			nNeg += wt(w, i)
		}
	}
	tPos, tNeg := (nPos+1)/(nPos+2), 1/(nNeg+2)
	u := make([]float64, len(scores))
	t := make([]float64, len(scores))
	for i, s := range scores {
		u[i] = c.input(s)
		t[i] = tNeg
		if y[i] == 1 {
			t[i] = tPos
		}
	}
	// Negative log-likelihood with targets t at z = A·u + B.
	nll := func(A, B float64) float64 {
		var f float64
		for i := range u {
			z := A*u[i] + B
			f += wt(w, i) * (softplus(z) - t[i]*z)
		}
		return f
	}
	A, B := 0.0, math.Log((nPos+1)/(nNeg+1))
	if onLogit {
		A, B = 1, 0 // identity map: start from the uncalibrated scores
	}
	f := nll(A, B)
	const sigma = 1e-12 // Lin et al.'s Hessian ridge
	for iter := 0; iter < 100; iter++ {
		var g1, g2, h11, h22, h21 float64
		for i := range u {
			wi := wt(w, i)
			p := sigmoid(A*u[i] + B)
			d := wi * (p - t[i])
			q := wi * p * (1 - p)
			g1 += d * u[i]
			g2 += d
			h11 += q * u[i] * u[i]
			h22 += q
			h21 += q * u[i]
		}
		if math.Abs(g1) < 1e-10 && math.Abs(g2) < 1e-10 {
			return c.set(A, B), nil
		}
		h11 += sigma
		h22 += sigma
		det := h11*h22 - h21*h21
		dA := -(h22*g1 - h21*g2) / det
		dB := -(-h21*g1 + h11*g2) / det
		gd := g1*dA + g2*dB
		step := 1.0
		for step >= 1e-10 {
			nA, nB := A+step*dA, B+step*dB
			nf := nll(nA, nB)
			if nf < f+1e-4*step*gd {
				A, B, f = nA, nB, nf
				break
			}
			step /= 2
		}
		if step < 1e-10 {
			// No decrease possible: at the optimum to rounding.
			return c.set(A, B), nil
		}
	}
	return nil, fmt.Errorf("%w: after 100 iterations", ErrNoConverge)
}

func (c *Platt) set(A, B float64) *Platt { c.A, c.B = A, B; return c }

func softplus(z float64) float64 { return math.Max(z, 0) + math.Log1p(math.Exp(-math.Abs(z))) }

// envelope is the JSON form of any Calibrator.
type envelope struct {
	Method   Method    `json:"method"`
	Isotonic *Isotonic `json:"isotonic,omitempty"`
	Platt    *Platt    `json:"platt,omitempty"`
}

// Marshal returns the JSON encoding of c, tagged with its method.
func Marshal(c Calibrator) ([]byte, error) {
	switch v := c.(type) {
	case *Isotonic:
		return json.Marshal(envelope{Method: MethodIsotonic, Isotonic: v})
	case *Platt:
		return json.Marshal(envelope{Method: MethodPlatt, Platt: v})
	}
	return nil, fmt.Errorf("%w: %T", ErrMethod, c)
}

// Unmarshal decodes a calibrator written by Marshal.
func Unmarshal(b []byte) (Calibrator, error) {
	var e envelope
	if err := json.Unmarshal(b, &e); err != nil {
		return nil, fmt.Errorf("calibrate: %w", err)
	}
	switch {
	case e.Method == MethodIsotonic && e.Isotonic != nil:
		if len(e.Isotonic.X) == 0 || len(e.Isotonic.X) != len(e.Isotonic.Y) {
			return nil, fmt.Errorf("%w: isotonic with %d x and %d y", ErrShape, len(e.Isotonic.X), len(e.Isotonic.Y))
		}
		return e.Isotonic, nil
	case e.Method == MethodPlatt && e.Platt != nil:
		return e.Platt, nil
	}
	return nil, fmt.Errorf("%w: %q", ErrMethod, e.Method)
}
