package registry

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/churnpipe/churnpipe/models/calibrate"
	"github.com/churnpipe/churnpipe/models/cancel"
	"github.com/churnpipe/churnpipe/models/logit"
	"github.com/churnpipe/churnpipe/models/metrics"
)

// The cancel models of these tests read two columns.
var subCols = []string{cancel.FeatureDaysToEnd, cancel.FeatureSBG}

// subscribers draws n subscriber rows. In the "sbg" world a cancellation
// follows sbg_p_cancel_next and the days to the period end are noise; in the
// "days" world it follows the days to the period end (an easy snapshot for
// the days_to_period_end baseline) and sbg_p_cancel_next is noise.
func subscribers(r *rand.Rand, n int, world string) cancel.Set {
	var s cancel.Set
	for range n {
		days, sbg := float64(r.IntN(365)), 0.05+0.55*r.Float64()
		p := sbg
		if world == "days" {
			p = 1 / (1 + math.Exp((days-60)/25))
		}
		y := 0.0
		if r.Float64() < p {
			y = 1
		}
		s.X, s.Y = append(s.X, []float64{days, sbg}), append(s.Y, y)
	}
	return s
}

// baseline is the kind's baseline calibrated on val, with the figures it
// measured on its own test snapshots (days, newest first) in its report.
func baseline(t *testing.T, kind string, val cancel.Set, days []string, tests []cancel.Set) *cancel.Model {
	t.Helper()
	m := &cancel.Model{Kind: kind, Features: subCols, HorizonDays: 90}
	z := make([]float64, len(val.X))
	for i, x := range val.X {
		if kind == cancel.KindDaysToEnd {
			z[i] = -x[0]
		} else {
			z[i] = math.Log(x[1] / (1 - x[1]))
		}
	}
	var err error
	m.Platt, err = calibrate.FitPlatt(z, val.Y, nil, false)
	require.NoError(t, err)
	record(m, days, tests)
	require.NoError(t, m.Validate())
	return m
}

// record writes m's figures on its own test snapshots into its report.
func record(m *cancel.Model, days []string, tests []cancel.Set) {
	c := cancel.Candidate{Kind: m.Kind, Baseline: m.Kind != cancel.KindLogit}
	for i, s := range tests {
		p := make([]float64, len(s.X))
		for j, x := range s.X {
			p[j] = m.Predict(x)
		}
		f := cancel.FoldFigures{TestSnapshot: days[i], AUC: metrics.AUC(s.Y, p), ECE: metrics.ECE(s.Y, p)}
		c.Folds = append(c.Folds, f)
		c.AUC += f.AUC / float64(len(tests))
		c.ECE += f.ECE / float64(len(tests))
	}
	m.Report.HorizonDays, m.Report.Kind, m.Report.TestSnapshot = m.HorizonDays, m.Kind, days[0]
	m.Report.TestSnapshots, m.Report.Candidates = days, []cancel.Candidate{c}
}

func testsOf(days []string, sets []cancel.Set) *CancelTests {
	t := &CancelTests{Features: subCols, HorizonDays: 90}
	for i, s := range sets {
		t.Snapshots = append(t.Snapshots, CancelSnapshot{Day: days[i], X: s.X, Y: s.Y})
	}
	return t
}

// withCancel is a buyer version (buyer metrics m) holding the cancel model cm,
// or a cancel-only one when m is nil; cm nil = no cancel model.
func withCancel(t *testing.T, m *Metrics, cm *cancel.Model) *Artifact {
	t.Helper()
	var a *Artifact
	if m == nil {
		a = &Artifact{Kind: KindNone, SchemaHash: SchemaHash(nil, nil)}
	} else {
		a, _, _ = fitted(t, *m)
	}
	if cm != nil {
		b, err := json.Marshal(cm)
		require.NoError(t, err)
		a.CancelModel = b
	}
	return a
}

// TestPromoteCancelModelsOnCandidateRows (issue 16): whenever both versions
// hold a cancel model, Registry.Promote scores both on the candidate's saved
// cancel test rows, in every combination of buyer and cancel-only versions;
// a better buyer model does not carry a clearly worse cancel model; a
// champion cancel model that recorded a high AUC on easy snapshots of its own
// does not keep a candidate better on the candidate's snapshots out; a
// candidate without a cancel model does not replace a champion with one;
// --force overrides and is recorded.
func TestPromoteCancelModelsOnCandidateRows(t *testing.T) {
	r := rand.New(rand.NewPCG(16, 2))
	candDays := []string{"2025-09-30", "2025-06-30"}
	candRows := []cancel.Set{subscribers(r, 3000, "sbg"), subscribers(r, 3000, "sbg")}
	sbgVal := subscribers(r, 3000, "sbg")
	// The candidate's models, judged on its own test snapshots.
	good := baseline(t, cancel.KindSBG, sbgVal, candDays, candRows)
	bad := baseline(t, cancel.KindDaysToEnd, sbgVal, candDays, candRows)
	// The champion's: the days baseline recorded on an easy snapshot of its
	// own, and the sBG baseline recorded on the candidate's kind of rows.
	champDays := []string{"2025-03-31"}
	easy := baseline(t, cancel.KindDaysToEnd, subscribers(r, 3000, "days"), champDays, []cancel.Set{subscribers(r, 3000, "days")})
	strong := baseline(t, cancel.KindSBG, sbgVal, champDays, []cancel.Set{subscribers(r, 3000, "sbg")})
	auc := func(m *cancel.Model) float64 { return m.Report.Candidate(m.Kind).AUC }
	require.Greater(t, auc(easy), auc(good)+0.05, "the easy champion recorded a clearly higher AUC than the good candidate")
	require.Greater(t, auc(good), auc(bad)+0.1, "the bad candidate is clearly worse on its own rows")
	require.LessOrEqual(t, good.Report.Candidate(good.Kind).Folds[0].ECE, DefaultRule.MaxECE)

	buyerChamp := &Metrics{TestSnapshot: "s", AUC: 0.80, ECE: 0.02}
	buyerBetter := &Metrics{TestSnapshot: "s", AUC: 0.83, ECE: 0.02}
	cases := []struct {
		name         string
		champ, cand  *Artifact
		saveRows     bool
		promote      bool
		reason       []string
		notInReasons string
	}{
		{"buyer+cancel: better buyer, clearly worse cancel", withCancel(t, buyerChamp, strong), withCancel(t, buyerBetter, bad), true, false,
			[]string{"cancel model: candidate mean test AUC", "below it", "both scored on the candidate's test snapshots 2025-09-30, 2025-06-30"}, ""},
		{"buyer+cancel: better buyer, cancel better on the candidate's rows", withCancel(t, buyerChamp, easy), withCancel(t, buyerBetter, good), true, true,
			[]string{"buyer model: candidate AUC 0.8300 vs champion 0.8000", "candidate cancel model mean test AUC", "both scored on the candidate's test snapshots"}, ""},
		{"buyer+cancel: worse buyer", withCancel(t, buyerBetter, easy), withCancel(t, buyerChamp, good), true, false,
			[]string{"buyer model: candidate AUC 0.8000 < champion 0.8300 − 0.0050 (0.0300 below it)"}, "cancel model"},
		{"cancel-only: a champion high on easy snapshots of its own", withCancel(t, nil, easy), withCancel(t, nil, good), true, true,
			[]string{"candidate cancel model mean test AUC", "both scored on the candidate's test snapshots"}, ""},
		{"cancel-only: clearly worse", withCancel(t, nil, strong), withCancel(t, nil, bad), true, false,
			[]string{"cancel model: candidate mean test AUC", "below it"}, ""},
		{"buyer+cancel vs cancel-only: worse cancel", withCancel(t, nil, strong), withCancel(t, buyerBetter, bad), true, false,
			[]string{"cancel model: candidate mean test AUC", "below it"}, ""},
		{"buyer+cancel vs cancel-only: better on the candidate's rows", withCancel(t, nil, easy), withCancel(t, buyerBetter, good), true, true,
			[]string{"buyer model judged alone", "candidate cancel model mean test AUC"}, ""},
		{"cancel-only vs buyer+cancel", withCancel(t, buyerChamp, easy), withCancel(t, nil, good), true, false,
			[]string{"churn columns would turn NULL"}, ""},
		{"buyer only vs buyer+cancel", withCancel(t, buyerChamp, easy), withCancel(t, buyerBetter, nil), false, false,
			[]string{"cancel model: the candidate has no cancel model and champion", "subscribers would lose"}, ""},
		{"rows not saved", withCancel(t, nil, easy), withCancel(t, nil, good), false, false,
			[]string{"cannot be read"}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, force := range []bool{false, true} {
				reg, err := Open(t.TempDir())
				require.NoError(t, err)
				vChamp, err := reg.Register(c.champ)
				require.NoError(t, err)
				require.NoError(t, reg.SetAlias(Champion, vChamp, "first", false))
				vCand, err := reg.Register(c.cand)
				require.NoError(t, err)
				if c.saveRows {
					require.NoError(t, reg.SaveCancelTests(vCand, testsOf(candDays, candRows)))
				}
				d, err := reg.Promote(vCand, "retrain", DefaultRule, force)
				require.NoError(t, err)
				t.Logf("force %v: %v — %s", force, d.Promote, d.Reason)
				for _, s := range c.reason {
					assert.Contains(t, d.Reason, s)
				}
				if c.notInReasons != "" {
					assert.NotContains(t, d.Reason, c.notInReasons)
				}
				aliases, hist, err := reg.Aliases()
				require.NoError(t, err)
				switch {
				case !force:
					assert.Equal(t, c.promote, d.Promote, d.Reason)
					assert.False(t, d.Forced)
				case c.promote:
					assert.True(t, d.Promote)
					assert.False(t, d.Forced, "force not needed")
				default:
					assert.True(t, d.Promote)
					assert.True(t, d.Forced)
					last := hist[len(hist)-1]
					assert.True(t, last.Forced)
					assert.True(t, strings.HasPrefix(last.Reason, "retrain; forced despite: "), last.Reason)
				}
				want := vChamp
				if d.Promote {
					want = vCand
				}
				assert.Equal(t, want, aliases[Champion])
			}
		})
	}
}

// TestCompareCancelLeavesOutTrainingWindows: a test snapshot of the
// candidate whose label window overlaps a training window of a logistic
// cancel model is left out on both sides; the figures are the two models'
// AUCs on the other snapshots; with none left the models are not compared.
func TestCompareCancelLeavesOutTrainingWindows(t *testing.T) {
	r := rand.New(rand.NewPCG(16, 3))
	days := []string{"2025-09-30", "2025-06-30", "2025-03-31"}
	rows := []cancel.Set{subscribers(r, 2000, "sbg"), subscribers(r, 2000, "sbg"), subscribers(r, 2000, "sbg")}
	tests := testsOf(days, rows)
	tests.Version = "v000002"
	val := subscribers(r, 2000, "sbg")
	cand := baseline(t, cancel.KindSBG, val, days, rows)
	train := subscribers(r, 2000, "sbg")
	lm, err := logit.FitRows(train.X, train.Y, nil, logit.Options{L2: 1e-3, Names: subCols})
	require.NoError(t, err)
	champ := &cancel.Model{Kind: cancel.KindLogit, Features: subCols, HorizonDays: 90, Logit: lm, Platt: &calibrate.Platt{A: 1}}
	record(champ, []string{"2025-12-31"}, []cancel.Set{subscribers(r, 2000, "sbg")})
	champ.Report.TrainSnapshots = []string{"2025-06-30"}
	require.NoError(t, champ.Validate())

	c, ch := CompareCancel(cand, champ, "v000001", tests)
	assert.Empty(t, ch.Incomparable)
	assert.Equal(t, []string{"2025-09-30", "2025-03-31"}, c.TestSnapshots)
	assert.Equal(t, c.TestSnapshots, ch.TestSnapshots)
	assert.Equal(t, []string{"2025-06-30"}, c.Dropped)
	assert.True(t, c.Rescored)
	assert.Equal(t, "v000002", c.Rows)
	meanAUC := func(m *cancel.Model, idx ...int) float64 {
		var s float64
		for _, i := range idx {
			p := make([]float64, len(rows[i].X))
			for j, x := range rows[i].X {
				p[j] = m.Predict(x)
			}
			s += metrics.AUC(rows[i].Y, p) / float64(len(idx))
		}
		return s
	}
	assert.InDelta(t, meanAUC(cand, 0, 2), c.MeanAUC, 1e-12)
	assert.InDelta(t, meanAUC(champ, 0, 2), ch.MeanAUC, 1e-12)
	assert.InDelta(t, cand.Report.Candidate(cand.Kind).Folds[0].ECE, c.ECE, 1e-12, "the ECE is on the candidate's newest test snapshot")

	// Every snapshot in a training window: not compared, refused.
	champ.Report.TrainSnapshots = days
	_, ch = CompareCancel(cand, champ, "v000001", tests)
	assert.Contains(t, ch.Incomparable, "lies in a training window")
	d := PromoteVersion(Side{Version: "v000002", Cancel: c}, &Side{Version: "v000001", Cancel: ch}, DefaultRule, false)
	assert.False(t, d.Promote)
	assert.Contains(t, d.Reason, "not compared with champion v000001's on the same test snapshots")

	// A champion reading other columns: the candidate is judged alone.
	other := *champ
	other.Features = []string{"x", "y"}
	c, ch = CompareCancel(cand, &other, "v000001", tests)
	assert.NotEmpty(t, ch.Alone)
	d = PromoteVersion(Side{Version: "v000002", Cancel: c}, &Side{Version: "v000001", Cancel: ch}, DefaultRule, false)
	assert.True(t, d.Promote, d.Reason)
	assert.Contains(t, d.Reason, "judged alone")
}

// TestCancelTestsRoundTrip: the saved rows load back; a file of another
// version or a damaged one is invalid, a missing one not found.
func TestCancelTestsRoundTrip(t *testing.T) {
	reg, err := Open(t.TempDir())
	require.NoError(t, err)
	r := rand.New(rand.NewPCG(16, 4))
	in := testsOf([]string{"2025-09-30"}, []cancel.Set{subscribers(r, 50, "sbg")})
	require.NoError(t, reg.SaveCancelTests("v000003", in))
	got, err := reg.LoadCancelTests("v000003")
	require.NoError(t, err)
	assert.Equal(t, "v000003", got.Version)
	assert.Equal(t, in.Features, got.Features)
	assert.Equal(t, in.Snapshots, got.Snapshots)

	_, err = reg.LoadCancelTests("v000004")
	assert.ErrorIs(t, err, ErrNotFound)
	b, err := os.ReadFile(reg.CancelTestsPath("v000003"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(reg.CancelTestsPath("v000004"), b, 0o644))
	_, err = reg.LoadCancelTests("v000004")
	assert.ErrorIs(t, err, ErrInvalid, "the rows of another version")
	require.NoError(t, os.WriteFile(reg.CancelTestsPath("v000004"), []byte("garbage"), 0o644))
	_, err = reg.LoadCancelTests("v000004")
	assert.ErrorIs(t, err, ErrInvalid)
	assert.Error(t, reg.SaveCancelTests("champion", in), "a version, not an alias")
}
