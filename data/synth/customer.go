package synth

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/churnpipe/churnpipe/data"
)

// kind is an event type; the order is the tie-break within a millisecond.
type kind uint8

const (
	kindPurchase kind = iota
	kindReturn
	kindVisit
	kindSupport
	numKinds
)

var kindName = [numKinds]string{data.EventPurchase, data.EventReturn, data.EventVisit, data.EventSupport}

// event is one generated event; t is in days since Start; key is the
// event_time in milliseconds times 4 plus the kind, the sort key.
type event struct {
	t      float64
	amount float64
	key    int64
}

func (e *event) kind() kind { return kind(e.key & 3) }
func (e *event) ms() int64  { return e.key >> 2 }

// Model constants documented in doc.go.
const (
	clusterShare     = 0.7  // share of visits clustered around purchases
	deadVisitShare   = 0.03 // visit rate after death, relative to alive
	rampFloor        = 0.25 // initial rate factor of growing customers
	rampDays         = 180  // days to reach full rate
	warnReturnLift   = 5    // return probability multiplier while warning
	warnSupportExtra = 1.0  // extra tickets per purchase while warning
	silenceMin       = 150  // days before a reactivation, minimum
	silenceMean      = 150  // plus Exp with this mean
	returnDelayMean  = 7    // days after 1 day
	supportDelayMean = 4    // days
	fullReturnShare  = 0.7
)

// slowFactor[e] is the rate factor of the purchase e places before death.
var slowFactor = [3]float64{0.25, 0.4, 0.6}

// plan is the resolved, read-only description shared by all workers.
type plan struct {
	cfg     Config
	first   int32   // UTC day number of Start
	n       int     // window length in days
	nf      float64 // float64(n)
	startMs int64
	season  []float64
	acquire []float64
	smax    float64
	amax    float64
	g       float64 // ln(Growth)
	idWidth int
}

func newPlan(cfg Config) (*plan, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	p := &plan{cfg: cfg}
	p.first, p.n = cfg.days()
	p.nf = float64(p.n)
	p.startMs = int64(p.first) * data.MillisPerDay
	p.season, p.acquire, p.smax, p.amax = seasonTables(p.first, p.n, cfg.Seasonality)
	if cfg.Growth > 0 {
		p.g = math.Log(cfg.Growth)
	}
	p.idWidth = max(7, len(fmt.Sprint(cfg.Customers)))
	return p, nil
}

// ms converts a time in days since Start into event_time milliseconds,
// applying the intraday profile to the fraction of the day.
func (p *plan) ms(t float64) int64 {
	d := math.Floor(t)
	f := intraday(t - d)
	off := int64(f * data.MillisPerDay)
	off = min(max(off, 0), data.MillisPerDay-1)
	return p.startMs + int64(d)*data.MillisPerDay + off
}

// Profile is the generating truth of one customer, for tests and for
// evaluating models against the real state. Times are in days since Start
// (fractional); +Inf means "not within the window".
type Profile struct {
	Index int
	ID    string
	// Prospect customers never buy; the fields below are zero for them.
	Prospect bool
	Acquired float64
	// Lambda is the purchase rate per day (after EventsPerCustomer
	// scaling), P the dropout probability, Nu the spend rate (mean purchase
	// amount Config.P/Nu).
	Lambda, P, Nu float64
	// Repeats is K, the number of repeat purchases drawn before the first
	// death (it can exceed what fits in the window).
	Repeats int
	// Growing and Warning tell which realism layers apply.
	Growing, Warning bool
	// FirstDeath is the time of the last purchase of the first life.
	FirstDeath float64
	// Reactivated is the time of the purchase that starts the second life.
	Reactivated float64
	// Death is the time of the most recent death; +Inf when the customer is
	// alive at the end of the window.
	Death float64
}

// Alive reports whether the customer is a buyer alive at the end of the
// window.
func (p *Profile) Alive() bool { return !p.Prospect && math.IsInf(p.Death, 1) }

// CustomerProfile returns the generating truth of customer i (0-based) of
// cfg, exactly as Generate draws it. EventsPerCustomer is resolved with
// Calibrate first, so call Calibrate once yourself when asking for many
// customers. Errors wrap ErrConfig; i outside [0, Customers) is an error.
func CustomerProfile(cfg Config, i int) (Profile, error) {
	if cfg.EventsPerCustomer > 0 {
		var err error
		if cfg, err = Calibrate(cfg); err != nil {
			return Profile{}, err
		}
	}
	pl, err := newPlan(cfg)
	if err != nil {
		return Profile{}, err
	}
	if i < 0 || i >= cfg.Customers {
		return Profile{}, fmt.Errorf("%w: customer index %d outside [0, %d)", ErrConfig, i, cfg.Customers)
	}
	s := newSim(pl)
	var prof Profile
	s.customer(i, &prof)
	prof.ID = string(appendID(nil, i, pl.idWidth))
	return prof, nil
}

// appendID appends the id of customer i ("C" and i+1 on width digits).
func appendID(b []byte, i, width int) []byte {
	b = append(b, 'C')
	var digits [20]byte
	n := len(digits)
	for v := i + 1; v > 0; v /= 10 {
		n--
		digits[n] = byte('0' + v%10)
	}
	for k := len(digits) - n; k < width; k++ {
		b = append(b, '0')
	}
	return append(b, digits[n:]...)
}

// sortEvents sorts a customer's events by key. They are generated nearly in
// order (only clustered visits, returns and tickets stray by a few days), so
// insertion sort costs O(n + inversions) and beats pdqsort here; it falls
// back to slices.SortFunc if the inversions grow beyond 64 per event.
func sortEvents(ev []event) {
	budget := 64 * len(ev)
	for i := 1; i < len(ev); i++ {
		e := ev[i]
		j := i
		for j > 0 && ev[j-1].key > e.key {
			ev[j] = ev[j-1]
			j--
		}
		ev[j] = e
		if budget -= i - j; budget < 0 {
			slices.SortFunc(ev, func(a, b event) int { return cmp.Compare(a.key, b.key) })
			return
		}
	}
}

// sim simulates customers one at a time into ev; one per worker.
type sim struct {
	pl      *plan
	pcg     rand.PCG
	r       *rand.Rand
	ev      []event
	acq     float64
	nu      float64
	growing bool
}

func newSim(pl *plan) *sim {
	s := &sim{pl: pl}
	s.r = rand.New(&s.pcg)
	return s
}

func (s *sim) emit(t, amount float64, k kind) {
	if t >= 0 && t < s.pl.nf {
		s.ev = append(s.ev, event{t: t, amount: amount, key: s.pl.ms(t)<<2 | int64(k)})
	}
}

func round2(x float64) float64 { return math.Round(x*100) / 100 }

// acquisition draws t0 ∝ exp(g t/N)·acquire(t) by inversion and thinning.
func (s *sim) acquisition() float64 {
	pl, r := s.pl, s.r
	for {
		x := r.Float64()
		if pl.g != 0 {
			x = math.Log1p(x*math.Expm1(pl.g)) / pl.g
		}
		t := min(x*pl.nf, math.Nextafter(pl.nf, 0))
		if pl.amax <= 1 || r.Float64()*pl.amax < pl.acquire[int(t)] {
			return t
		}
	}
}

// nextArrival returns the next event time after t of a Poisson process of
// rate·season(t)·ramp(t), by thinning a process of rate·smax. A result ≥ N
// means none in the window.
func (s *sim) nextArrival(t, rate float64) float64 {
	if !(rate > 0) {
		return math.Inf(1)
	}
	pl, r := s.pl, s.r
	lim := rate * pl.smax
	for {
		t += r.ExpFloat64() / lim
		if t >= pl.nf {
			return t
		}
		acc := pl.season[int(t)]
		if s.growing {
			acc *= rampFloor + (1-rampFloor)*min(1, (t-s.acq)/rampDays)
		}
		if acc >= pl.smax || r.Float64()*pl.smax < acc {
			return t
		}
	}
}

// visits emits a homogeneous Poisson process of visits of the given rate on
// (a, b).
func (s *sim) visits(a, b, rate float64) {
	if !(rate > 0) {
		return
	}
	for t := a; ; {
		t += s.r.ExpFloat64() / rate
		if t >= b {
			return
		}
		s.emit(t, math.NaN(), kindVisit)
	}
}

// basket emits one purchase at t with its return and support tickets.
func (s *sim) basket(t float64, slow bool) {
	cfg, r := &s.pl.cfg, s.r
	amt := max(round2(gammaRate(r, cfg.P, s.nu)), 0.01)
	s.emit(t, amt, kindPurchase)
	retP, sup := cfg.ReturnRate, cfg.SupportRate
	if slow {
		retP = min(1, warnReturnLift*retP)
		sup += warnSupportExtra
	}
	if r.Float64() < retP {
		a := amt
		if r.Float64() >= fullReturnShare {
			a = max(round2(amt*(0.2+0.7*r.Float64())), 0.01)
		}
		s.emit(t+1+r.ExpFloat64()*returnDelayMean, -a, kindReturn)
	}
	for k := poisson(r, sup); k > 0; k-- {
		s.emit(t+r.ExpFloat64()*supportDelayMean, math.NaN(), kindSupport)
	}
}

// purchase emits a BG/NBD transaction at t: a basket, the visits clustered
// around it (their mean scaled by f, the warning slow-down factor, 1 when
// none) and, sometimes, a second basket the same day.
func (s *sim) purchase(t, f float64) {
	cfg, r := &s.pl.cfg, s.r
	slow := f < 1
	s.basket(t, slow)
	for k := range poisson(r, f*clusterShare*cfg.VisitsPerPurchase) {
		var vt float64
		switch {
		case k == 0 && r.Float64() < 0.6:
			vt = t - (2+43*r.Float64())/1440 // minutes before
		case r.Float64() < 0.75:
			vt = t - r.ExpFloat64()*2
		default:
			vt = t + r.ExpFloat64()
		}
		s.emit(vt, math.NaN(), kindVisit)
	}
	if r.Float64() < cfg.SameDayRate {
		day := math.Floor(t)
		off := (5 + 175*r.Float64()) / 1440 // 5 minutes to 3 hours
		t2 := t + off
		if t2 >= day+1 {
			t2 = t - off
			if t2 < day {
				t2 = day + (t-day)*r.Float64()
			}
		}
		s.basket(t2, slow)
	}
}

// customer appends customer i's events to s.ev (sorted by time) and fills
// prof with its generating truth.
func (s *sim) customer(i int, prof *Profile) {
	pl := s.pl
	cfg, r := &pl.cfg, s.r
	s.pcg.Seed(streamSeeds(cfg.Seed, uint64(i)))
	start := len(s.ev)
	defer func() {
		sortEvents(s.ev[start:])
	}()

	inf := math.Inf(1)
	acq := s.acquisition()
	*prof = Profile{Index: i, Acquired: acq, FirstDeath: inf, Reactivated: inf, Death: inf}
	if r.Float64() < cfg.ProspectShare {
		prof.Prospect = true
		s.emit(acq, math.NaN(), kindVisit)
		for range poisson(r, 1.5) {
			s.emit(acq+r.ExpFloat64()*15, math.NaN(), kindVisit)
		}
		return
	}
	lambda := gammaRate(r, cfg.R, cfg.Alpha)
	p := beta(r, cfg.A, cfg.B)
	s.nu = gammaRate(r, cfg.Q, cfg.Gamma)
	s.acq = acq
	s.growing = r.Float64() < cfg.GrowingShare
	warning := r.Float64() < cfg.WarningShare
	prof.Lambda, prof.P, prof.Nu, prof.Growing, prof.Warning = lambda, p, s.nu, s.growing, warning
	alive := lambda * cfg.VisitsPerPurchase * (1 - clusterShare)

	t := acq
	for life := 0; ; life++ {
		s.purchase(t, 1)
		k := geometric(r, p)
		m := 0
		if life == 0 {
			prof.Repeats = k
			if warning {
				m = min(k, len(slowFactor))
			}
		}
		died := false
		for j := 1; ; j++ {
			f := 1.0
			if e := k - j; e < m {
				f = slowFactor[e]
			}
			next := s.nextArrival(t, lambda*f)
			s.visits(t, min(next, pl.nf), alive*f)
			if next >= pl.nf {
				break
			}
			t = next
			s.purchase(t, f)
			if j == k {
				died = true
				break
			}
		}
		if !died {
			prof.Death = inf
			return
		}
		prof.Death = t
		if life == 0 {
			prof.FirstDeath = t
			if r.Float64() < cfg.ReactivationShare {
				back := t + silenceMin + r.ExpFloat64()*silenceMean
				s.visits(t, min(back, pl.nf), alive*deadVisitShare)
				if back < pl.nf {
					prof.Reactivated = back
					s.growing = false
					t = back
					continue
				}
				return
			}
		}
		s.visits(t, pl.nf, alive*deadVisitShare)
		return
	}
}
