package cancel

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestDecideFallsBackOnTheLowestBrier: a losing logistic model leaves the
// baseline of lowest mean test Brier as the cancel model, even when the
// other baseline ranks a little better (the buyers' rule, see
// churn.Selection.BaselineChampion).
func TestDecideFallsBackOnTheLowestBrier(t *testing.T) {
	r := &Report{TestSnapshots: []string{"2025-12-01"}, Candidates: []Candidate{
		{Kind: KindLogit, AUC: 0.70, Brier: 0.120},
		{Kind: KindDaysToEnd, Baseline: true, AUC: 0.72, Brier: 0.115},
		{Kind: KindSBG, Baseline: true, AUC: 0.71, Brier: 0.101},
	}}
	decide(r)
	assert.False(t, r.BeatsBaselines)
	assert.Equal(t, KindSBG, r.Kind, r.Verdict)
	assert.Contains(t, r.Verdict, "calibrated sbg baseline")

	r.Candidates[0] = Candidate{Kind: KindLogit, AUC: 0.80, Brier: 0.090}
	decide(r)
	assert.True(t, r.BeatsBaselines, r.Verdict)
	assert.Equal(t, KindLogit, r.Kind)
}
