package btyd

import (
	"fmt"
	"math"
	"runtime"
	"sync"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/optimize"
)

// CountModel is what the pipeline needs from a fitted purchase-count model.
// All times are in the unit the model was fitted in. Methods never return
// NaN for inputs in the model's domain (x ≥ 0, 0 ≤ t_x ≤ T, t ≥ 0, all
// finite); inputs outside it give NaN.
type CountModel interface {
	// PAlive is the probability that a customer with history (x, t_x, T)
	// is still alive at T.
	PAlive(x, tx, T float64) float64
	// ExpectedPurchases is E[Y(t) | x, t_x, T], the expected number of
	// purchases in (T, T+t].
	ExpectedPurchases(t, x, tx, T float64) float64
	// ProbNoPurchase is P(Y(t) = 0 | x, t_x, T), the probability of no
	// purchase in (T, T+t]: the churn probability the model implies. With
	// x = t_x = T = 0 it is the unconditional P(X(t) = 0) of a new customer.
	ProbNoPurchase(t, x, tx, T float64) float64
	// ExpectedNew is E[X(t)], the expected number of repeat purchases in
	// (0, t] of a customer who made a first purchase at time 0.
	ExpectedNew(t float64) float64
	// Name is the model name as accepted by Fit.
	Name() string
}

// FitResult describes a maximum likelihood fit. Params and StdErr are keyed
// by the model's parameter names (bgnbd and mbgnbd: r, alpha, a, b;
// paretonbd: r, alpha, s, beta; gammagamma: p, q, gamma). StdErr holds the
// asymptotic standard errors from the inverse Hessian of the negative
// log-likelihood (delta method); a parameter whose standard error could not
// be computed (singular Hessian) is absent.
type FitResult struct {
	Model      string             `json:"model"`
	Params     map[string]float64 `json:"params"`
	LogLik     float64            `json:"loglik"`
	Customers  int                `json:"customers"`
	Iterations int                `json:"iterations"`
	// Method is the optimiser that reached the optimum ("Newton" from a
	// subsample's optimum on large data, "BFGS+Newton" when Newton steps
	// polished a BFGS optimum found with numerical gradients, else BFGS,
	// NelderMead+BFGS or NelderMead).
	Method    string             `json:"method,omitempty"`
	Converged bool               `json:"converged"`
	StdErr    map[string]float64 `json:"stderr"`
	// Warnings are what the caller should know about the data the fit
	// used (for example customers left out of a Gamma-Gamma fit).
	Warnings []string `json:"warnings,omitempty"`
	// LogParams names the parameters in the order of LogCov.
	LogParams []string `json:"-"`
	// LogCov is the asymptotic covariance of the log-parameters (inverse
	// Hessian of the negative log-likelihood in log-parameters); nil when
	// standard errors were skipped or the Hessian is singular.
	LogCov [][]float64 `json:"-"`
}

// FitOptions tunes maximum likelihood estimation. The zero value is ready to
// use.
type FitOptions struct {
	// Start, when non-nil, is tried first: natural-scale parameter values
	// keyed by name; missing names take the default start value.
	Start map[string]float64
	// MultiStart runs every default start point and keeps the best optimum,
	// instead of stopping at the first converged one.
	MultiStart bool
	// GradTol is the convergence threshold on the infinity norm of the
	// gradient of the per-customer mean negative log-likelihood with respect
	// to the log-parameters. Default 1e-7.
	GradTol float64
	// MaxIterations bounds the major iterations of each optimiser run.
	// Default 500.
	MaxIterations int
	// Workers is the number of goroutines evaluating the likelihood.
	// Default runtime.GOMAXPROCS(0).
	Workers int
	// SkipStdErr skips the Hessian and standard errors.
	SkipStdErr bool
}

func (o FitOptions) withDefaults() FitOptions {
	if o.GradTol <= 0 {
		o.GradTol = 1e-7
	}
	if o.MaxIterations <= 0 {
		o.MaxIterations = 500
	}
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	return o
}

// Fit estimates the count model named model ("bgnbd", "mbgnbd" or
// "paretonbd") on d. The error wraps ErrUnknownModel, ErrInvalidInput or
// ErrNotConverged.
func Fit(model string, d Data, opt FitOptions) (CountModel, FitResult, error) {
	switch model {
	case "bgnbd":
		return wrapFit(FitBGNBD(d, opt))
	case "mbgnbd":
		return wrapFit(FitMBGNBD(d, opt))
	case "paretonbd":
		return wrapFit(FitParetoNBD(d, opt))
	}
	return nil, FitResult{}, fmt.Errorf("%w: %q (want bgnbd, mbgnbd or paretonbd)", ErrUnknownModel, model)
}

func wrapFit[M CountModel](m M, r FitResult, err error) (CountModel, FitResult, error) {
	if err != nil {
		return nil, r, err
	}
	return m, r, nil
}

// objective is a negative mean log-likelihood over log-parameters.
type objective struct {
	model string
	names []string
	// f returns the mean negative log-likelihood per customer at θ = log
	// params; +Inf outside the domain.
	f func(theta []float64) float64
	// g, when non-nil, writes the analytic gradient of f and returns f.
	g func(grad, theta []float64) float64
	// weight is the number of customers (sum of weights).
	weight    float64
	customers int
	// newton asks fitObjective to try Newton's method from the first start
	// before BFGS (used on large data after a subsample warm start), with
	// the Hessian from hessAt when non-nil.
	newton bool
	hessAt func(theta []float64) *mat.SymDense
}

func (o *objective) grad(grad, theta []float64) float64 {
	if o.g != nil {
		return o.g(grad, theta)
	}
	return numericalGradient(o.f)(grad, theta)
}

// numericalGradient returns a gradient function of f by central
// differences in log-parameter space (step 1e-5): 2·dim + 1 evaluations of
// f per call; it writes ∇f(θ) to grad and returns f(θ).
func numericalGradient(f func(theta []float64) float64) func(grad, theta []float64) float64 {
	const h = 1e-5
	return func(grad, theta []float64) float64 {
		x := append([]float64(nil), theta...)
		for i := range theta {
			x[i] = theta[i] + h
			fp := f(x)
			x[i] = theta[i] - h
			fm := f(x)
			x[i] = theta[i]
			grad[i] = (fp - fm) / (2 * h)
		}
		return f(theta)
	}
}

func infNorm(v []float64) float64 {
	m := 0.0
	for _, x := range v {
		if a := math.Abs(x); a > m || math.IsNaN(a) {
			m = a
		}
	}
	return m
}

type runOutcome struct {
	theta []float64
	f     float64
	gnorm float64
	iters int
	how   string
}

// maximise runs BFGS from each start (log-parameters) and falls back to
// Nelder-Mead. It returns the best log-parameters found.
func maximise(obj *objective, starts [][]float64, opt FitOptions) (runOutcome, bool, error) {
	dim := len(obj.names)
	prob := optimize.Problem{
		Func: func(x []float64) float64 {
			v := obj.f(x)
			if math.IsNaN(v) {
				return math.Inf(1)
			}
			return v
		},
		Grad: func(grad, x []float64) {
			if v := obj.grad(grad, x); math.IsNaN(v) || math.IsInf(v, 0) {
				for i := range grad {
					grad[i] = 0
				}
			}
		},
	}
	gradAt := func(x []float64) float64 {
		g := make([]float64, dim)
		obj.grad(g, x)
		return infNorm(g)
	}
	var best runOutcome
	best.f = math.Inf(1)
	var tried []string
	iters := 0
	accept := func(r runOutcome) {
		if r.f < best.f || best.theta == nil {
			best = r
		}
	}
	runBFGS := func(x0 []float64, label string) (runOutcome, bool) {
		settings := &optimize.Settings{
			GradientThreshold: opt.GradTol,
			MajorIterations:   opt.MaxIterations,
			Converger:         &optimize.FunctionConverge{Absolute: 1e-15, Relative: 1e-15, Iterations: 50},
		}
		res, _ := optimize.Minimize(prob, x0, settings, &optimize.BFGS{})
		if res == nil || !allFinite(res.X) || math.IsInf(res.F, 0) || math.IsNaN(res.F) {
			tried = append(tried, fmt.Sprintf("%s from %s: no finite optimum", label, fmtParams(obj.names, x0)))
			return runOutcome{}, false
		}
		iters += res.Stats.MajorIterations
		r := runOutcome{theta: res.X, f: res.F, gnorm: gradAt(res.X), iters: res.Stats.MajorIterations, how: label}
		ok := r.gnorm <= 100*opt.GradTol
		if !ok {
			tried = append(tried, fmt.Sprintf("%s from %s: %d iterations, status %v, gradient norm %.3g",
				label, fmtParams(obj.names, x0), r.iters, res.Status, r.gnorm))
		}
		return r, ok
	}
	anyOK := false
	for _, s := range starts {
		r, ok := runBFGS(s, "BFGS")
		if r.theta == nil {
			continue
		}
		if ok {
			if !anyOK || r.f < best.f {
				best = r
			}
			anyOK = true
			if !opt.MultiStart {
				break
			}
			continue
		}
		if !anyOK {
			accept(r)
		}
	}
	if !anyOK {
		// Nelder-Mead from the best point (or the first start), then polish.
		x0 := starts[0]
		if best.theta != nil {
			x0 = best.theta
		}
		res, _ := optimize.Minimize(optimize.Problem{Func: prob.Func}, x0,
			&optimize.Settings{MajorIterations: 20 * opt.MaxIterations,
				Converger: &optimize.FunctionConverge{Absolute: 1e-13, Relative: 1e-13, Iterations: 200}},
			&optimize.NelderMead{})
		if res != nil && allFinite(res.X) && !math.IsInf(res.F, 0) {
			iters += res.Stats.MajorIterations
			if r, ok := runBFGS(res.X, "NelderMead+BFGS"); r.theta != nil {
				accept(r)
				anyOK = ok
			} else {
				accept(runOutcome{theta: res.X, f: res.F, gnorm: gradAt(res.X), iters: res.Stats.MajorIterations, how: "NelderMead"})
				tried = append(tried, fmt.Sprintf("NelderMead from %s: %d iterations, gradient norm %.3g",
					fmtParams(obj.names, x0), res.Stats.MajorIterations, best.gnorm))
			}
		} else {
			tried = append(tried, fmt.Sprintf("NelderMead from %s: no finite optimum", fmtParams(obj.names, x0)))
		}
	}
	best.iters = iters
	if !anyOK {
		err := fmt.Errorf("%w: %s on %d customers: tried %v", ErrNotConverged, obj.model, obj.customers, tried)
		return best, false, err
	}
	return best, true, nil
}

func allFinite(v []float64) bool {
	for _, x := range v {
		if !isFinite(x) {
			return false
		}
	}
	return true
}

func fmtParams(names []string, theta []float64) string {
	s := "("
	for i, n := range names {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("%s=%.4g", n, math.Exp(theta[i]))
	}
	return s + ")"
}

// fitObjective runs the optimiser and assembles the FitResult.
func fitObjective(obj *objective, starts [][]float64, opt FitOptions) ([]float64, FitResult, error) {
	opt = opt.withDefaults()
	if opt.Start != nil {
		s, err := startTheta(obj.names, opt.Start, starts[0])
		if err != nil {
			return nil, FitResult{}, err
		}
		starts = append([][]float64{s}, starts...)
	}
	var (
		out  runOutcome
		ok   bool
		err  error
		hess *mat.SymDense
	)
	if obj.newton && obj.g != nil {
		out, ok, hess = newtonPolish(obj, starts[0], opt.GradTol, 20, obj.hessAt)
	}
	if !ok {
		hess = nil
		out, ok, err = maximise(obj, starts, opt)
		if ok && obj.g == nil && out.how == "BFGS" {
			out = polishNumerical(obj, out, opt.GradTol)
		}
	}
	res := FitResult{Model: obj.model, Customers: obj.customers, Iterations: out.iters, Method: out.how, Converged: ok,
		Params: map[string]float64{}, StdErr: map[string]float64{}}
	if err != nil {
		return nil, res, err
	}
	p := make([]float64, len(out.theta))
	for i, n := range obj.names {
		p[i] = math.Exp(out.theta[i])
		res.Params[n] = p[i]
	}
	res.LogLik = -out.f * obj.weight
	if !opt.SkipStdErr {
		ses, cov := stdErrors(obj, out.theta, hess)
		for n, se := range ses {
			res.StdErr[n] = se
		}
		if cov != nil {
			res.LogParams = append([]string(nil), obj.names...)
			res.LogCov = cov
		}
	}
	return p, res, nil
}

// polishNumerical takes up to 5 Newton steps from BFGS's optimum out of an
// objective without an analytic gradient (Pareto/NBD on up to
// paretoNewtonRows distinct rows), to a gradient norm of tol/100: BFGS with
// central-difference gradients stops anywhere below tol, where the
// parameters can be ~1e-6 relative off the optimum; the Newton steps (one
// Hessian of those gradients, ~50 likelihood passes) make the optimum, and
// a comparison with a reference fit, independent of where BFGS happened to
// stop. The polished point is kept when its gradient norm is smaller and
// its likelihood not worse beyond rounding (1e-14 relative: at the optimum
// the two differ in the last bits only); Method is then "BFGS+Newton".
func polishNumerical(obj *objective, out runOutcome, tol float64) runOutcome {
	if out.gnorm <= tol/100 {
		return out
	}
	po := *obj
	po.g = numericalGradient(obj.f)
	p, ok, _ := newtonPolish(&po, out.theta, tol/100, 5, nil)
	if !ok || !(p.gnorm < out.gnorm) || !(p.f <= out.f+1e-14*math.Abs(out.f)) {
		return out
	}
	p.iters += out.iters
	p.how = "BFGS+Newton"
	return p
}

// startTheta returns the log-parameters of a caller's start: base with the
// parameters named in start replaced by their logarithms.
func startTheta(names []string, start map[string]float64, base []float64) ([]float64, error) {
	s := append([]float64(nil), base...)
	for i, n := range names {
		if v, ok := start[n]; ok {
			if !(v > 0) || math.IsInf(v, 0) {
				return nil, fmt.Errorf("%w: start %s=%v must be positive and finite", ErrInvalidInput, n, v)
			}
			s[i] = math.Log(v)
		}
	}
	return s, nil
}

// stdErrors returns delta-method standard errors of the natural parameters
// from the Hessian of the total negative log-likelihood in log-parameters.
func stdErrors(obj *objective, theta []float64, known *mat.SymDense) (map[string]float64, [][]float64) {
	dim := len(theta)
	h := mat.NewSymDense(dim, nil)
	x := append([]float64(nil), theta...)
	if known != nil {
		h.CopySym(known)
	} else if obj.g != nil {
		const eps = 1e-5
		gp, gm := make([]float64, dim), make([]float64, dim)
		rows := make([][]float64, dim)
		for i := 0; i < dim; i++ {
			x[i] = theta[i] + eps
			obj.g(gp, x)
			x[i] = theta[i] - eps
			obj.g(gm, x)
			x[i] = theta[i]
			rows[i] = make([]float64, dim)
			for j := range rows[i] {
				rows[i][j] = (gp[j] - gm[j]) / (2 * eps)
			}
		}
		for i := 0; i < dim; i++ {
			for j := i; j < dim; j++ {
				h.SetSym(i, j, 0.5*(rows[i][j]+rows[j][i]))
			}
		}
	} else {
		const eps = 1e-4
		f := func() float64 { return obj.f(x) }
		f0 := f()
		for i := 0; i < dim; i++ {
			for j := i; j < dim; j++ {
				var v float64
				if i == j {
					x[i] = theta[i] + eps
					fp := f()
					x[i] = theta[i] - eps
					fm := f()
					x[i] = theta[i]
					v = (fp - 2*f0 + fm) / (eps * eps)
				} else {
					get := func(si, sj float64) float64 {
						x[i], x[j] = theta[i]+si*eps, theta[j]+sj*eps
						v := f()
						x[i], x[j] = theta[i], theta[j]
						return v
					}
					v = (get(1, 1) - get(1, -1) - get(-1, 1) + get(-1, -1)) / (4 * eps * eps)
				}
				h.SetSym(i, j, v)
			}
		}
	}
	h.ScaleSym(obj.weight, h)
	var chol mat.Cholesky
	out := map[string]float64{}
	if !chol.Factorize(h) {
		return out, nil
	}
	var cov mat.SymDense
	if err := chol.InverseTo(&cov); err != nil {
		return out, nil
	}
	c := make([][]float64, dim)
	ok := true
	for i, n := range obj.names {
		v := cov.At(i, i)
		se := math.Exp(theta[i]) * math.Sqrt(v)
		if v > 0 && isFinite(se) {
			out[n] = se
		} else {
			ok = false
		}
		c[i] = make([]float64, dim)
		for j := range c[i] {
			c[i][j] = cov.At(i, j)
			ok = ok && isFinite(c[i][j])
		}
	}
	if !ok {
		return out, nil
	}
	return out, c
}

// parallelSum evaluates fn over [0, n) in chunks on up to workers
// goroutines. Each call receives its own accumulator of length k; the
// accumulators are summed into the returned slice in chunk order, so the
// result is deterministic for a given worker count.
func parallelSum(n, workers, k int, fn func(lo, hi int, acc []float64)) []float64 {
	const minChunk = 16384
	chunks := workers
	if n < 2*minChunk || workers <= 1 {
		chunks = 1
	}
	accs := make([][]float64, chunks)
	if chunks == 1 {
		accs[0] = make([]float64, k)
		fn(0, n, accs[0])
		return accs[0]
	}
	var wg sync.WaitGroup
	for c := 0; c < chunks; c++ {
		lo, hi := c*n/chunks, (c+1)*n/chunks
		accs[c] = make([]float64, k)
		wg.Add(1)
		go func(c, lo, hi int) {
			defer wg.Done()
			fn(lo, hi, accs[c])
		}(c, lo, hi)
	}
	wg.Wait()
	for c := 1; c < chunks; c++ {
		for j := range accs[0] {
			accs[0][j] += accs[c][j]
		}
	}
	return accs[0]
}

// prepare validates and compresses d.
func prepare(d Data) (Data, int, error) {
	if err := d.Validate(); err != nil {
		return Data{}, 0, err
	}
	n := int(math.Round(d.TotalWeight()))
	const probe = 20_000
	if d.Len() > 10*probe {
		// Hashing a million distinct rows costs more than it saves: when a
		// probe of the first rows is almost all distinct, keep d as is.
		head := Data{X: d.X[:probe], Tx: d.Tx[:probe], T: d.T[:probe]}
		if Compress(head).Len() > probe*9/10 {
			return d, n, nil
		}
	}
	return Compress(d), n, nil
}

// fdHessian returns the Hessian of obj at theta by forward differences of
// the analytic gradient g0 = ∇f(theta), symmetrised.
func fdHessian(obj *objective, theta, g0 []float64) *mat.SymDense {
	const eps = 1e-5
	dim := len(theta)
	rows := make([][]float64, dim)
	x := append([]float64(nil), theta...)
	for i := 0; i < dim; i++ {
		rows[i] = make([]float64, dim)
		x[i] = theta[i] + eps
		obj.g(rows[i], x)
		x[i] = theta[i]
		for j := range rows[i] {
			rows[i][j] = (rows[i][j] - g0[j]) / eps
		}
	}
	h := mat.NewSymDense(dim, nil)
	for i := 0; i < dim; i++ {
		for j := i; j < dim; j++ {
			h.SetSym(i, j, 0.5*(rows[i][j]+rows[j][i]))
		}
	}
	return h
}

// newtonPolish runs damped Newton (chord) iterations with a
// finite-difference Hessian from theta, which must already be close to the optimum (it is the
// optimum of a subsample). It reports ok=false as soon as the Hessian is not
// positive definite or a step fails, so the caller can fall back to BFGS.
// On success it returns the last Hessian (of the mean NLL) for the
// standard errors.
//
// hessAt, when non-nil, supplies the Hessian (for example from a subsample,
// which costs a fraction of a full pass); it is also used for the returned
// Hessian at the optimum. Without it, or when a step does not shrink the
// gradient tenfold, the Hessian comes from differences of obj's gradient.
func newtonPolish(obj *objective, theta []float64, tol float64, maxIter int,
	hessAt func(theta []float64) *mat.SymDense) (runOutcome, bool, *mat.SymDense) {
	dim := len(theta)
	x := append([]float64(nil), theta...)
	g := make([]float64, dim)
	f := obj.g(g, x)
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return runOutcome{}, false, nil
	}
	var (
		h, hPrev *mat.SymDense
		chol     mat.Cholesky
		prevG    = math.Inf(1)
	)
	xn, gn := make([]float64, dim), make([]float64, dim)
	for it := 0; it < maxIter; it++ {
		gnorm := infNorm(g)
		if h != nil && gnorm <= tol {
			if hessAt != nil {
				h = hessAt(x)
			}
			return runOutcome{theta: x, f: f, gnorm: gnorm, iters: it, how: "Newton"}, true, h
		}
		// Chord method: keep the Hessian while the gradient norm falls at
		// least tenfold per step; each full Hessian costs dim gradient passes.
		switch {
		case h == nil && hessAt != nil:
			h = hessAt(x)
		case h == nil || gnorm > 0.1*prevG:
			h = fdHessian(obj, x, g)
		default:
			h = nil // keep the factorisation
		}
		if h != nil && !chol.Factorize(h) {
			return runOutcome{}, false, nil
		}
		if h == nil {
			h = hPrev
		}
		hPrev = h
		prevG = gnorm
		var step mat.VecDense
		if err := chol.SolveVecTo(&step, mat.NewVecDense(dim, g)); err != nil {
			return runOutcome{}, false, nil
		}
		accepted := false
		for k, t := 0, 1.0; k < 30; k, t = k+1, t/2 {
			for i := range xn {
				xn[i] = x[i] - t*step.AtVec(i)
			}
			fn := obj.g(gn, xn)
			if fn <= f+1e-12*math.Abs(f) {
				x, xn = xn, x
				g, gn = gn, g
				f = fn
				accepted = true
				break
			}
		}
		if !accepted {
			return runOutcome{}, false, nil
		}
	}
	return runOutcome{}, false, nil
}
