package pipeline

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/churnpipe/churnpipe/features/lifecycle"
	"github.com/churnpipe/churnpipe/features/rfm"
	"github.com/churnpipe/churnpipe/internal/testenv"
)

// segmentCounts applies the default rules to the feature table of the
// history at path on asOf.
func segmentCounts(t *testing.T, path string, asOf time.Time) (Rules, map[rfm.Segment]int) {
	t.Helper()
	feat, _, err := BuildFeatures(context.Background(), Input{Path: path, MaxReject: 0.01,
		Quarantine: filepath.Join(t.TempDir(), "q.csv")}, asOf, Options{})
	require.NoError(t, err)
	defer feat.Release()
	r, err := ApplyRulesWith(feat, lifecycle.DefaultRules(), nil)
	require.NoError(t, err)
	out := map[rfm.Segment]int{}
	for _, s := range r.Segments {
		out[s]++
	}
	return r, out
}

// Every named segment of the default table occurs on the CDNOW master
// (as of 1998-06-29) or on the demo night (5,000 synthetic customers,
// `churnpipe demo`'s history and day); and equal R, F, M values get equal
// scores on real data.
func TestDefaultSegmentsOccur(t *testing.T) {
	master := testenv.SharedData(t, "cdnow_master/cdnow_master_interactions.csv")
	r, onMaster := segmentCounts(t, master, time.Date(1998, 6, 29, 0, 0, 0, 0, time.UTC))
	demo := WriteTestSynth(t, 5000, 1) // `churnpipe demo`'s defaults: 5,000 customers, --seed 1, 2024–2025
	_, onDemo := segmentCounts(t, demo, TestSynthEnd)
	t.Logf("CDNOW master: %v", onMaster)
	t.Logf("demo night: %v", onDemo)
	for _, l := range rfm.Labels() {
		if l.Code == rfm.Others {
			continue
		}
		assert.Positive(t, onMaster[l.Code]+onDemo[l.Code], "segment %s occurs on neither night", l.Code)
	}
	// The CDNOW master has no late joiners (one acquisition quarter): the
	// one-time buyers are not recent, so New Customers and Promising come
	// from the demo night. Every buyer gets a named segment.
	n := 0
	for s, c := range onMaster {
		n += c
		assert.NotEqual(t, rfm.Others, s, "buyer in Others on CDNOW master")
	}
	assert.Equal(t, 23570, n)
	// 51 % of the master's buyers bought on one day: they all share F 1.
	f1 := 0
	for _, f := range r.Scores.F {
		if f == 1 {
			f1++
		}
	}
	assert.InDelta(t, 0.51, float64(f1)/float64(n), 0.01)
}
