package sbg

import (
	"fmt"
	"math"
	"strings"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/mathext"
	"gonum.org/v1/gonum/optimize"
)

// FitResult describes a maximum likelihood fit. Params and StdErr are keyed
// by parameter name (alpha, beta; for the BdW also c); a standard error that
// could not be computed (singular Hessian) is absent.
type FitResult struct {
	Model      string             `json:"model"`
	Params     map[string]float64 `json:"params"`
	LogLik     float64            `json:"loglik"`
	Customers  float64            `json:"customers"`
	Periods    int                `json:"periods"`
	Iterations int                `json:"iterations"`
	Converged  bool               `json:"converged"`
	StdErr     map[string]float64 `json:"stderr"`
}

// FitOptions tunes the fit; the zero value is ready to use.
type FitOptions struct {
	// GradTol is the threshold on the infinity norm of the gradient of the
	// mean negative log-likelihood per customer in log-parameters; default
	// 1e-8 (sBG, analytic gradient) and 1e-6 (BdW, central differences).
	GradTol float64
	// MaxIterations bounds each BFGS run; default 500.
	MaxIterations int
	// SkipStdErr skips the Hessian.
	SkipStdErr bool
}

// Fit estimates the model named name ("sbg" or "bdw") on d.
func Fit(name string, d Data, opt FitOptions) (Model, FitResult, error) {
	switch name {
	case "sbg":
		m, r, err := FitSBG(d, opt)
		return m, r, err
	case "bdw":
		m, r, err := FitBdW(d, opt)
		return m, r, err
	}
	return nil, FitResult{}, fmt.Errorf("%w: %q (want sbg or bdw)", ErrUnknownModel, name)
}

// FitSBG estimates α and β by maximum likelihood.
func FitSBG(d Data, opt FitOptions) (SBG, FitResult, error) {
	if err := d.Validate(); err != nil {
		return SBG{}, FitResult{}, err
	}
	d = d.Compress()
	if opt.GradTol <= 0 {
		opt.GradTol = 1e-8
	}
	w := d.Customers()
	f := func(x []float64) float64 {
		return -LogLik(SBG{math.Exp(x[0]), math.Exp(x[1])}, d) / w
	}
	g := func(grad, x []float64) {
		a, b := math.Exp(x[0]), math.Exp(x[1])
		ga, gb := sbgGrad(a, b, d)
		grad[0], grad[1] = -a*ga/w, -b*gb/w
	}
	starts := [][]float64{{0, 0}, {math.Log(0.5), math.Log(2)}, {math.Log(2), math.Log(5)}, {math.Log(0.2), math.Log(0.5)}}
	x, iters, ok, err := minimise([]string{"alpha", "beta"}, f, g, starts, opt)
	m := SBG{math.Exp(x[0]), math.Exp(x[1])}
	return m, result(m, d, f, g, x, iters, ok, opt), err
}

// sbgGrad is the gradient of the log-likelihood with respect to (α, β).
func sbgGrad(a, b float64, d Data) (ga, gb float64) {
	psiAB := mathext.Digamma(a + b)
	psiB := mathext.Digamma(b)
	// d log S(n)/dα, d log S(n)/dβ
	dS := func(n int) (float64, float64) {
		if n == 0 {
			return 0, 0
		}
		p := mathext.Digamma(a + b + float64(n))
		return psiAB - p, mathext.Digamma(b+float64(n)) - psiB + psiAB - p
	}
	for _, o := range d {
		var da, db float64
		if o.Churned {
			t := float64(o.To)
			p := mathext.Digamma(a + b + t)
			da = 1/a + psiAB - p
			db = mathext.Digamma(b+t-1) - psiB + psiAB - p
		} else {
			da, db = dS(o.To)
		}
		if o.From > 0 {
			fa, fb := dS(o.From)
			da, db = da-fa, db-fb
		}
		ga += o.Weight * da
		gb += o.Weight * db
	}
	return ga, gb
}

// FitBdW estimates α, β and c by maximum likelihood, starting from the sBG
// fit (c = 1) and from c = 0.5 and 2.
func FitBdW(d Data, opt FitOptions) (BdW, FitResult, error) {
	if err := d.Validate(); err != nil {
		return BdW{}, FitResult{}, err
	}
	d = d.Compress()
	if opt.GradTol <= 0 {
		opt.GradTol = 1e-6
	}
	w := d.Customers()
	f := func(x []float64) float64 {
		v := -LogLik(BdW{math.Exp(x[0]), math.Exp(x[1]), math.Exp(x[2])}, d) / w
		if math.IsNaN(v) {
			return math.Inf(1)
		}
		return v
	}
	g := centralDiff(f)
	s, _, err := FitSBG(d, FitOptions{SkipStdErr: true})
	a0, b0 := 0.0, 0.0
	if err == nil {
		a0, b0 = math.Log(s.Alpha), math.Log(s.Beta)
	}
	starts := [][]float64{{a0, b0, 0}, {a0, b0, math.Log(0.5)}, {a0, b0, math.Log(2)}, {0, 0, 0}}
	x, iters, ok, err := minimise([]string{"alpha", "beta", "c"}, f, g, starts, opt)
	m := BdW{math.Exp(x[0]), math.Exp(x[1]), math.Exp(x[2])}
	return m, result(m, d, f, g, x, iters, ok, opt), err
}

func centralDiff(f func([]float64) float64) func(grad, x []float64) {
	return func(grad, x []float64) {
		const h = 1e-6
		y := append([]float64(nil), x...)
		for i := range x {
			y[i] = x[i] + h
			fp := f(y)
			y[i] = x[i] - h
			fm := f(y)
			y[i] = x[i]
			grad[i] = (fp - fm) / (2 * h)
		}
	}
}

// minimise runs BFGS from each start and keeps the best converged optimum;
// when none converges it polishes the best point with Nelder-Mead and BFGS
// again, and returns an error wrapping ErrNotConverged if that fails too.
func minimise(names []string, f func([]float64) float64, g func(grad, x []float64), starts [][]float64, opt FitOptions) ([]float64, int, bool, error) {
	if opt.MaxIterations <= 0 {
		opt.MaxIterations = 500
	}
	prob := optimize.Problem{
		Func: func(x []float64) float64 {
			v := f(x)
			if math.IsNaN(v) {
				return math.Inf(1)
			}
			return v
		},
		Grad: func(grad, x []float64) {
			g(grad, x)
			for i := range grad {
				if math.IsNaN(grad[i]) || math.IsInf(grad[i], 0) {
					grad[i] = 0
				}
			}
		},
	}
	gnorm := func(x []float64) float64 {
		gr := make([]float64, len(x))
		g(gr, x)
		n := 0.0
		for _, v := range gr {
			if a := math.Abs(v); a > n || math.IsNaN(a) {
				n = a
			}
		}
		return n
	}
	var best []float64
	bestF, iters, ok := math.Inf(1), 0, false
	var tried []string
	bfgs := func(x0 []float64, label string) {
		res, _ := optimize.Minimize(prob, x0, &optimize.Settings{
			GradientThreshold: opt.GradTol,
			MajorIterations:   opt.MaxIterations,
			Converger:         &optimize.FunctionConverge{Absolute: 1e-15, Relative: 1e-15, Iterations: 50},
		}, &optimize.BFGS{})
		if res == nil || math.IsInf(res.F, 0) || math.IsNaN(res.F) {
			tried = append(tried, fmt.Sprintf("%s from %s: no finite optimum", label, fmtX(names, x0)))
			return
		}
		iters += res.Stats.MajorIterations
		gn := gnorm(res.X)
		conv := gn <= 100*opt.GradTol
		if !conv {
			tried = append(tried, fmt.Sprintf("%s from %s: gradient norm %.3g after %d iterations", label, fmtX(names, x0), gn, res.Stats.MajorIterations))
		}
		if (conv && !ok) || (conv == ok && res.F < bestF) {
			best, bestF, ok = res.X, res.F, ok || conv
		}
	}
	for _, s := range starts {
		bfgs(s, "BFGS")
	}
	if !ok {
		x0 := starts[0]
		if best != nil {
			x0 = best
		}
		res, _ := optimize.Minimize(optimize.Problem{Func: prob.Func}, x0, &optimize.Settings{
			MajorIterations: 20 * opt.MaxIterations,
			Converger:       &optimize.FunctionConverge{Absolute: 1e-14, Relative: 1e-14, Iterations: 200},
		}, &optimize.NelderMead{})
		if res != nil && !math.IsInf(res.F, 0) {
			iters += res.Stats.MajorIterations
			if best == nil || res.F < bestF {
				best, bestF = res.X, res.F
			}
			bfgs(res.X, "NelderMead+BFGS")
		}
	}
	if best == nil {
		best = starts[0]
	}
	if !ok {
		return best, iters, false, fmt.Errorf("%w: %s", ErrNotConverged, strings.Join(tried, "; "))
	}
	return best, iters, true, nil
}

func fmtX(names []string, x []float64) string {
	parts := make([]string, len(x))
	for i := range x {
		parts[i] = fmt.Sprintf("%s=%.4g", names[i], math.Exp(x[i]))
	}
	return strings.Join(parts, " ")
}

func result(m Model, d Data, f func([]float64) float64, g func(grad, x []float64), x []float64, iters int, ok bool, opt FitOptions) FitResult {
	r := FitResult{Model: m.Name(), Params: m.Params(), LogLik: LogLik(m, d), Customers: d.Customers(),
		Iterations: iters, Converged: ok, StdErr: map[string]float64{}}
	for _, o := range d {
		r.Periods = max(r.Periods, o.To)
	}
	if opt.SkipStdErr {
		return r
	}
	names := []string{"alpha", "beta", "c"}[:len(x)]
	// Hessian of the total negative log-likelihood in log-parameters by
	// central differences of the gradient.
	n := len(x)
	h := mat.NewSymDense(n, nil)
	const step = 1e-4
	gp, gm := make([]float64, n), make([]float64, n)
	y := append([]float64(nil), x...)
	rows := make([][]float64, n)
	for i := range n {
		y[i] = x[i] + step
		g(gp, y)
		y[i] = x[i] - step
		g(gm, y)
		y[i] = x[i]
		rows[i] = make([]float64, n)
		for j := range n {
			rows[i][j] = (gp[j] - gm[j]) / (2 * step) * r.Customers
		}
	}
	for i := range n {
		for j := i; j < n; j++ {
			h.SetSym(i, j, (rows[i][j]+rows[j][i])/2)
		}
	}
	var inv mat.Dense
	if err := inv.Inverse(h); err != nil {
		return r
	}
	for i, name := range names {
		v := inv.At(i, i)
		if v > 0 && !math.IsInf(v, 0) {
			r.StdErr[name] = math.Exp(x[i]) * math.Sqrt(v)
		}
	}
	return r
}
