package pipeline

import (
	"fmt"
	"math"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"gonum.org/v1/gonum/mat"

	"github.com/churnpipe/churnpipe/features/lifecycle"
	"github.com/churnpipe/churnpipe/models/btyd"
	"github.com/churnpipe/churnpipe/models/churn"
	"github.com/churnpipe/churnpipe/models/season"
)

// StageCodes are the classes of the predicted-stage model, in a fixed order.
func StageCodes() []string {
	var out []string
	for _, l := range lifecycle.Labels() {
		out = append(out, string(l.Code))
	}
	return out
}

func stageIndex(s lifecycle.Stage) int {
	for i, c := range StageCodes() {
		if c == string(s) {
			return i
		}
	}
	return -1
}

// ExtraNames are the BTYD columns appended to the churn design matrix.
var ExtraNames = []string{churn.ExtraBGNBDPAlive, churn.ExtraBGNBDProbNoPurchase, churn.ExtraBGNBDExpected,
	churn.ExtraSeasonSin, churn.ExtraSeasonCos}

// btydExtras fits BG/NBD (weeks) on the buyers of feat and returns, for
// every row, P(alive), P(no purchase in the horizon) and the expected
// purchases in the horizon (NaN for non-buyers, or all NaN when the model
// cannot be fitted: the trees route missing values).
func btydExtras(feat arrow.RecordBatch, day time.Time, horizonDays int) (map[string][]float64, error) {
	n := int(feat.NumRows())
	out := map[string][]float64{}
	for _, name := range ExtraNames {
		out[name] = nans(n)
	}
	// The season of the snapshot: churn within the horizon depends on the
	// time of year (a horizon over the year-end holidays sees more purchases).
	angle := 2 * math.Pi * float64(day.YearDay()-1) / 365.25
	for i := 0; i < n; i++ {
		out[churn.ExtraSeasonSin][i], out[churn.ExtraSeasonCos][i] = math.Sin(angle), math.Cos(angle)
	}
	fc, err := newFeatureCols(feat)
	if err != nil {
		return nil, err
	}
	d, rows, _ := fc.summary(btyd.Week)
	if d.Len() < 50 {
		return out, nil
	}
	m, _, err := btyd.Fit("bgnbd", btyd.Compress(d), btyd.FitOptions{SkipStdErr: true})
	if err != nil {
		return out, nil
	}
	sc := btyd.Score(m, d, float64(horizonDays)/7, 0)
	for k, i := range rows {
		out[churn.ExtraBGNBDPAlive][i] = sc.PAlive[k]
		out[churn.ExtraBGNBDProbNoPurchase][i] = sc.ProbNoPurchase[k]
		out[churn.ExtraBGNBDExpected][i] = sc.ExpectedPurchases[k]
	}
	return out, nil
}

// Snapshot is one labelled point in time: the buyers at Day with their
// features, their churn label over (Day, Day+horizon] and their rule stage
// at Day and at Day+horizon.
type Snapshot struct {
	Day       time.Time
	IDs       []string
	X         *mat.Dense
	Churn     []float64
	Stage     []float64 // stage index at Day+horizon
	StageNow  []float64 // stage index at Day
	Recency   []float64 // days since last purchase (baseline score)
	BGNBDProb []float64 // BG/NBD P(no purchase in horizon) (baseline score)
}

// Rows returns the number of customers of the snapshot.
func (s *Snapshot) Rows() int { return len(s.IDs) }

// labelSnapshot builds the snapshot at day from the features at day (now)
// and at day+horizon (later).
func labelSnapshot(day time.Time, now, later arrow.RecordBatch, horizonDays int, rules lifecycle.Rules) (*Snapshot, error) {
	fcNow, err := newFeatureCols(now)
	if err != nil {
		return nil, err
	}
	fcLater, err := newFeatureCols(later)
	if err != nil {
		return nil, err
	}
	stNow, err := rules.Assign(now)
	if err != nil {
		return nil, err
	}
	stLater, err := rules.Assign(later)
	if err != nil {
		return nil, err
	}
	laterRow := make(map[string]int, fcLater.id.Len())
	for i := 0; i < fcLater.id.Len(); i++ {
		laterRow[fcLater.id.Value(i)] = i
	}
	extra, err := btydExtras(now, day, horizonDays)
	if err != nil {
		return nil, err
	}
	s := &Snapshot{Day: day}
	var rows []int
	for i := 0; i < fcNow.id.Len(); i++ {
		if !fcNow.since.IsValid(i) { // population: at least one purchase by the snapshot
			continue
		}
		j, ok := laterRow[fcNow.id.Value(i)]
		if !ok {
			return nil, fmt.Errorf("pipeline: customer %q at %s missing %d days later", fcNow.id.Value(i), day.Format(time.DateOnly), horizonDays)
		}
		rows = append(rows, i)
		s.IDs = append(s.IDs, fcNow.id.Value(i))
		churned := 0.0
		if fcLater.pdays.Value(j) == fcNow.pdays.Value(i) {
			churned = 1
		}
		s.Churn = append(s.Churn, churned)
		s.Stage = append(s.Stage, float64(stageIndex(stLater[j])))
		s.StageNow = append(s.StageNow, float64(stageIndex(stNow[i])))
		s.Recency = append(s.Recency, float64(fcNow.since.Value(i)))
		s.BGNBDProb = append(s.BGNBDProb, extra[churn.ExtraBGNBDProbNoPurchase][i])
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("%w: no buyer by the snapshot %s", churn.ErrTooFewData, day.Format(time.DateOnly))
	}
	s.X, _, err = churn.Matrix(now, rows, extra, ExtraNames)
	return s, err
}

// stack concatenates snapshots into one training set.
func stack(snaps []*Snapshot) churn.Set {
	n := 0
	for _, s := range snaps {
		n += s.Rows()
	}
	_, c := snaps[0].X.Dims()
	X := mat.NewDense(n, c, nil)
	set := churn.Set{X: X}
	r := 0
	for _, s := range snaps {
		for i := 0; i < s.Rows(); i++ {
			copy(X.RawRowView(r), s.X.RawRowView(i))
			r++
		}
		set.Churn = append(set.Churn, s.Churn...)
		set.Stage = append(set.Stage, s.Stage...)
	}
	return set
}

// logExposures returns, row by row of stack(snaps), the log exposure of
// each snapshot's label window (the horizonDays days after its day) under ix.
func logExposures(snaps []*Snapshot, ix season.Index, horizonDays int) []float64 {
	var out []float64
	for _, s := range snaps {
		e := ix.LogExposure(s.Day.AddDate(0, 0, 1), horizonDays)
		for range s.Rows() {
			out = append(out, e)
		}
	}
	return out
}

func (s *Snapshot) set() churn.Set { return churn.Set{X: s.X, Churn: s.Churn, Stage: s.Stage} }

// nanToZero is used where a baseline score is missing (BG/NBD not fitted).
func nanTo(v []float64, def float64) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		if math.IsNaN(x) {
			x = def
		}
		out[i] = x
	}
	return out
}
