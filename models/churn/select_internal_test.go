package churn

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestDecideFallsBackOnTheBestCalibratedBaseline: when the chosen candidate
// loses, the champion is the baseline of lowest mean test Brier, not the one
// of highest AUC. The figures are those measured on CDNOW at 1998-06-29
// (churnpipe train --as-of 1998-06-29 --json), where recency led BTYD by
// 0.0001 AUC with a Brier score 0.008 worse.
func TestDecideFallsBackOnTheBestCalibratedBaseline(t *testing.T) {
	s := &Selection{Folds: []string{"a", "b", "c"}, Chosen: KindLogit, BestBaseline: KindRecency, BaselineChampion: KindBTYD,
		Kinds: []KindResult{
			{Kind: KindLogit, MeanAUC: 0.8124, MeanBrier: 0.1002},
			{Kind: KindBTYD, Baseline: true, MeanAUC: 0.8045, MeanBrier: 0.0999},
			{Kind: KindRecency, Baseline: true, MeanAUC: 0.8046, MeanBrier: 0.1082},
		}}
	s.decide()
	assert.False(t, s.Beats)
	assert.Equal(t, KindBTYD, s.Champion)
	assert.Contains(t, s.Verdict, "Brier 0.1002 ≥ btyd 0.0999")
	assert.Contains(t, s.Verdict, "the champion is the btyd baseline")

	// The chosen kind a baseline itself: the same fallback.
	s.Chosen = KindRecency
	s.decide()
	assert.Equal(t, KindBTYD, s.Champion)

	// A winner on both scores is promoted.
	s.Chosen, s.Kinds[0].MeanBrier = KindLogit, 0.0990
	s.decide()
	assert.True(t, s.Beats, s.Verdict)
	assert.Equal(t, KindLogit, s.Champion)
}
