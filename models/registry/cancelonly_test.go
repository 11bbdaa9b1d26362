package registry

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/churnpipe/churnpipe/models/calibrate"
	"github.com/churnpipe/churnpipe/models/cancel"
)

// cancelJSON is a stored cancel model whose kind has the given mean test AUC.
func cancelJSON(t *testing.T, auc float64) []byte {
	t.Helper()
	m := cancel.Model{Kind: cancel.KindDaysToEnd, Features: []string{cancel.FeatureDaysToEnd}, HorizonDays: 30,
		Platt: &calibrate.Platt{A: 0.1, B: -2},
		Report: cancel.Report{Kind: cancel.KindDaysToEnd, TestSnapshots: []string{"2025-12-01"},
			Candidates: []cancel.Candidate{{Kind: cancel.KindDaysToEnd, Baseline: true, AUC: auc}}}}
	b, err := json.Marshal(m)
	require.NoError(t, err)
	return b
}

func cancelOnly(t *testing.T, auc float64) *Artifact {
	return &Artifact{Kind: KindNone, SchemaHash: SchemaHash(nil, nil), CancelModel: cancelJSON(t, auc)}
}

func TestRegisterCancelOnly(t *testing.T) {
	r, err := Open(t.TempDir())
	require.NoError(t, err)
	v, err := r.Register(cancelOnly(t, 0.8))
	require.NoError(t, err)
	a, err := r.Load(v)
	require.NoError(t, err)
	assert.Equal(t, KindNone, a.Kind)
	assert.False(t, a.HasBuyerModel())
	s, err := SideOf(a)
	require.NoError(t, err)
	assert.Nil(t, s.Buyer)
	require.NotNil(t, s.Cancel)
	assert.InDelta(t, 0.8, s.Cancel.MeanAUC, 1e-12)
	// A loaded cancel-only artifact registers again (its model is JSON null).
	_, err = r.Register(a)
	require.NoError(t, err)

	noCancel := cancelOnly(t, 0.8)
	noCancel.CancelModel = nil
	_, err = r.Register(noCancel)
	assert.ErrorIs(t, err, ErrInvalid, "kind none needs a cancel model")
	withModel := cancelOnly(t, 0.8)
	withModel.Model = json.RawMessage(`{"kind":"logit"}`)
	_, err = r.Register(withModel)
	assert.ErrorIs(t, err, ErrInvalid, "kind none holds no buyer model")
}

func TestPromoteVersion(t *testing.T) {
	rule := DefaultRule
	buyer := &Metrics{TestSnapshot: "s", AUC: 0.80, ECE: 0.02}
	badECE := &Metrics{TestSnapshot: "s", AUC: 0.80, ECE: 0.20}
	better := &Metrics{TestSnapshot: "s", AUC: 0.83, ECE: 0.02}
	cf := func(auc float64) *CancelFigures { return &CancelFigures{Kind: "logit", MeanAUC: auc} }
	cases := []struct {
		name        string
		cand, champ Side
		noChamp     bool
		promote     bool
		reason      string
	}{
		{"cancel-only, no champion", Side{Cancel: cf(0.7)}, Side{}, true, true, "no champion"},
		{"cancel-only vs cancel-only, within 0.005", Side{Cancel: cf(0.796)}, Side{Version: "v1", Cancel: cf(0.80)}, false, true, "allowed drop 0.0050"},
		{"cancel-only vs cancel-only, worse", Side{Cancel: cf(0.794)}, Side{Version: "v1", Cancel: cf(0.80)}, false, false, "< champion v1's 0.8000 − 0.0050"},
		{"cancel-only vs buyer champion", Side{Cancel: cf(0.9)}, Side{Version: "v1", Buyer: buyer, Cancel: cf(0.8)}, false, false, "churn columns would turn NULL"},
		{"buyer+cancel vs cancel-only", Side{Buyer: buyer, Cancel: cf(0.80)}, Side{Version: "v1", Cancel: cf(0.80)}, false, true, "buyer model judged alone"},
		{"buyer+cancel vs cancel-only, worse cancel", Side{Buyer: buyer, Cancel: cf(0.70)}, Side{Version: "v1", Cancel: cf(0.80)}, false, false, "< champion v1's"},
		{"buyer+cancel vs cancel-only, bad ECE", Side{Buyer: badECE, Cancel: cf(0.90)}, Side{Version: "v1", Cancel: cf(0.80)}, false, false, "ECE 0.2000 > 0.0500"},
		{"buyer only vs cancel-only", Side{Buyer: buyer}, Side{Version: "v1", Cancel: cf(0.80)}, false, false, "no cancel model and champion v1 has one"},
		{"buyer vs buyer: the buyer rule", Side{Buyer: buyer}, Side{Version: "v1", Buyer: &Metrics{TestSnapshot: "s", AUC: 0.9, ECE: 0.01}}, false, false, "candidate AUC 0.8000 < champion 0.9000"},
		{"buyer+cancel vs buyer+cancel, better buyer, worse cancel", Side{Buyer: better, Cancel: cf(0.70)}, Side{Version: "v1", Buyer: buyer, Cancel: cf(0.80)}, false, false,
			"cancel model: candidate mean test AUC 0.7000 < champion v1's 0.8000 − 0.0050 (0.1000 below it)"},
		{"buyer+cancel vs buyer+cancel, both better", Side{Buyer: better, Cancel: cf(0.81)}, Side{Version: "v1", Buyer: buyer, Cancel: cf(0.80)}, false, true,
			"buyer model: candidate AUC 0.8300 vs champion 0.8000"},
		{"buyer vs buyer+cancel: the stored cancel model would be lost", Side{Buyer: better}, Side{Version: "v1", Buyer: buyer, Cancel: cf(0.80)}, false, false,
			"subscribers would lose their stored cancel model"},
		{"cancel models on different test snapshots", Side{Cancel: &CancelFigures{Kind: "logit", MeanAUC: 0.9, TestSnapshots: []string{"a"}}},
			Side{Version: "v1", Cancel: &CancelFigures{Kind: "logit", MeanAUC: 0.8, TestSnapshots: []string{"b"}}}, false, false, "different test snapshots"},
		{"cancel model ECE too high", Side{Buyer: better, Cancel: &CancelFigures{Kind: "logit", MeanAUC: 0.9, ECE: 0.08}}, Side{Version: "v1", Buyer: buyer, Cancel: cf(0.80)}, false, false,
			"cancel model: candidate ECE 0.0800 > 0.0500"},
		{"cancel-only, no champion, ECE too high", Side{Cancel: &CancelFigures{Kind: "logit", MeanAUC: 0.9, ECE: 0.06}}, Side{}, true, false,
			"cancel model: candidate ECE 0.0600 > 0.0500"},
		{"buyer+cancel vs buyer only, cancel ECE too high", Side{Buyer: better, Cancel: &CancelFigures{Kind: "logit", MeanAUC: 0.9, ECE: 0.06}}, Side{Version: "v1", Buyer: buyer}, false, false,
			"cancel model: candidate ECE 0.0600 > 0.0500"},
		{"buyer+cancel, no champion, cancel ECE too high", Side{Buyer: better, Cancel: &CancelFigures{Kind: "logit", MeanAUC: 0.9, ECE: 0.06}}, Side{}, true, false,
			"cancel model: candidate ECE 0.0600 > 0.0500"},
		{"buyer+cancel, no champion", Side{Buyer: better, Cancel: cf(0.9)}, Side{}, true, true, "no champion; candidate AUC 0.8300"},
		{"nothing", Side{}, Side{}, true, false, "neither"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var ch *Side
			if !c.noChamp {
				ch = &c.champ
			}
			d := PromoteVersion(c.cand, ch, rule, false)
			assert.Equal(t, c.promote, d.Promote, d.Reason)
			assert.Contains(t, d.Reason, c.reason)
			if !c.promote {
				f := PromoteVersion(c.cand, ch, rule, true)
				assert.True(t, f.Promote)
				assert.True(t, f.Forced)
			}
		})
	}
}

// TestRegistryPromoteCancelOnly: Registry.Promote (models promote) applies
// PromoteVersion when a cancel-only version is on either side.
func TestRegistryPromoteCancelOnly(t *testing.T) {
	r, err := Open(t.TempDir())
	require.NoError(t, err)
	buyer, _, _ := fitted(t, Metrics{TestSnapshot: "s", AUC: 0.8, ECE: 0.01})
	vBuyer, err := r.Register(buyer)
	require.NoError(t, err)
	vGood, err := r.Register(cancelOnly(t, 0.80))
	require.NoError(t, err)
	vWorse, err := r.Register(cancelOnly(t, 0.70))
	require.NoError(t, err)

	d, err := r.Promote(vGood, "", DefaultRule, false)
	require.NoError(t, err)
	assert.True(t, d.Promote, d.Reason)
	d, err = r.Promote(vWorse, "", DefaultRule, false)
	require.NoError(t, err)
	assert.False(t, d.Promote, d.Reason)
	// The buyer version (no cancel model) does not replace a champion with one.
	d, err = r.Promote(vBuyer, "", DefaultRule, false)
	require.NoError(t, err)
	assert.False(t, d.Promote, d.Reason)
	aliases, _, err := r.Aliases()
	require.NoError(t, err)
	assert.Equal(t, vGood, aliases[Champion])

	// With a buyer champion, a cancel-only candidate is refused.
	d, err = r.Promote(vBuyer, "", DefaultRule, true)
	require.NoError(t, err)
	require.True(t, d.Promote)
	d, err = r.Promote(vGood, "", DefaultRule, false)
	require.NoError(t, err)
	assert.False(t, d.Promote)
	assert.Contains(t, d.Reason, "churn columns would turn NULL")
}
