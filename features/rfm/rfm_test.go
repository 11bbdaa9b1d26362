package rfm_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/churnpipe/churnpipe/features/rfm"
)

func TestSegmentOf(t *testing.T) {
	// The default table of doc.go, first match wins; each case is a corner of one rule.
	cases := []struct {
		r, f, m int
		want    rfm.Segment
	}{
		{5, 5, 5, rfm.Champions},
		{4, 4, 4, rfm.Champions},
		{1, 5, 5, rfm.CantLoseThem},
		{2, 4, 4, rfm.CantLoseThem},
		{3, 3, 3, rfm.LoyalCustomers},
		{5, 3, 5, rfm.LoyalCustomers},
		{2, 3, 3, rfm.AtRisk}, // Loyal Customers needs R ≥ 3
		{1, 5, 1, rfm.AtRisk},
		{5, 1, 1, rfm.NewCustomers},
		{5, 1, 5, rfm.NewCustomers},
		{4, 1, 3, rfm.Promising},
		{3, 2, 1, rfm.PotentialLoyalist},
		{5, 3, 2, rfm.PotentialLoyalist},
		{3, 1, 3, rfm.NeedAttention},
		{3, 1, 2, rfm.AboutToSleep},
		{1, 1, 1, rfm.Lost},
		{1, 2, 5, rfm.Lost},
		{2, 2, 2, rfm.Hibernating},
		{2, 1, 5, rfm.Hibernating},
		{0, 0, 0, rfm.Others},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%d%d%d", tc.r, tc.f, tc.m), func(t *testing.T) {
			assert.Equal(t, tc.want, rfm.SegmentOf(tc.r, tc.f, tc.m))
		})
	}
}

// Every named segment owns at least one score triple of the default table,
// and the table validates.
func TestDefaultRulesReachEverySegment(t *testing.T) {
	rs := rfm.DefaultRules()
	require.NoError(t, rs.Validate())
	cells := rs.Cells()
	for _, l := range rfm.Labels() {
		if l.Code == rfm.Others {
			continue
		}
		assert.Positive(t, cells[l.Code], "%s can never match", l.Code)
	}
	assert.Zero(t, cells[rfm.Others], "every buyer gets a named segment")
	total := 0
	for _, n := range cells {
		total += n
	}
	assert.Equal(t, 125, total)
}

func TestRulesValidate(t *testing.T) {
	wide, err := rfm.ParseRule("At Risk", "1-2", "2-5", "2-5")
	require.NoError(t, err)
	narrow, err := rfm.ParseRule("Can't Lose Them", "1", "4-5", "4-5")
	require.NoError(t, err)
	// The textbook order: Can't Lose Them after At Risk can never match.
	err = rfm.Rules{wide, narrow}.Validate()
	require.ErrorIs(t, err, rfm.ErrRules)
	assert.Contains(t, err.Error(), "rule 2 (Can't Lose Them R1 F4-5 M4-5) is shadowed")
	assert.NoError(t, rfm.Rules{narrow, wide}.Validate())

	err = rfm.Rules{{Segment: "VIP", R: rfm.Range{1, 5}, F: rfm.Range{1, 5}, M: rfm.Range{1, 5}}}.Validate()
	assert.ErrorContains(t, err, `unknown segment "VIP"`)
	err = rfm.Rules{narrow, narrow}.Validate()
	assert.ErrorContains(t, err, "has a rule already")
	for _, bad := range []string{"0-3", "4-2", "x", "6", ""} {
		_, err := rfm.ParseRange(bad)
		assert.ErrorIs(t, err, rfm.ErrRules, bad)
	}
	r, err := rfm.ParseRange(" 2 - 4 ")
	require.NoError(t, err)
	assert.Equal(t, rfm.Range{2, 4}, r)
	assert.Equal(t, "2-4", r.String())
}

func TestScoreQuintiles(t *testing.T) {
	n := 10
	in := rfm.Input{}
	for i := 0; i < n; i++ {
		in.IDs = append(in.IDs, fmt.Sprintf("c%02d", i))
		in.Buyer = append(in.Buyer, true)
		in.Recency = append(in.Recency, int32(i*10))    // c00 most recent
		in.Frequency = append(in.Frequency, int32(1))   // all tied
		in.Monetary = append(in.Monetary, float64(n-i)) // c00 spends most
	}
	in.IDs = append(in.IDs, "prospect")
	in.Buyer = append(in.Buyer, false)
	in.Recency = append(in.Recency, 0)
	in.Frequency = append(in.Frequency, 0)
	in.Monetary = append(in.Monetary, 0)

	s := rfm.Score(in)
	assert.Equal(t, []int{5, 5, 4, 4, 3, 3, 2, 2, 1, 1, 0}, s.R)
	assert.Equal(t, []int{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0}, s.F, "ties share the score")
	assert.Equal(t, []int{5, 5, 4, 4, 3, 3, 2, 2, 1, 1, 0}, s.M)
	assert.Equal(t, "515", rfm.Code(s.R[0], s.F[0], s.M[0]))
	assert.Panics(t, func() { rfm.Code(0, 1, 1) })
}

// Equal values share the score ⌊5·L/n⌋+1, L = buyers with a strictly worse
// value, whatever the ids: the issue's CDNOW pair (two one-time buyers, 235
// days ago, $38.77 and $39.98) differs only by M. Expected scores worked by
// hand from the formula.
func TestScoreTies(t *testing.T) {
	in := rfm.Input{
		IDs:       []string{"9", "10", "a", "b", "c", "d", "e", "f"},
		Buyer:     []bool{true, true, true, true, true, true, true, true},
		Recency:   []int32{235, 235, 10, 10, 10, 400, 400, 1},
		Frequency: []int32{1, 1, 1, 1, 2, 2, 3, 7},
		Monetary:  []float64{38.77, 39.98, 5, 5, 5, 100, 200, 300},
	}
	s := rfm.Score(in)
	// Recency (fewer days better): 400,400 → L=0 → 1; 235,235 → L=2 → ⌊10/8⌋+1=2;
	// 10,10,10 → L=4 → 3; 1 → L=7 → ⌊35/8⌋+1=5.
	assert.Equal(t, []int{2, 2, 3, 3, 3, 1, 1, 5}, s.R)
	// Frequency: five 1s → L=0 → 1; two 2s → L=4 → 3; 3 → L=6 → 4; 7 → L=7 → 5.
	assert.Equal(t, []int{1, 1, 1, 1, 3, 3, 4, 5}, s.F)
	// Monetary: 5,5,5 → 1; 38.77 → L=3 → 2; 39.98 → L=4 → 3; 100 → 4; 200 → L=6 → 4; 300 → 5.
	assert.Equal(t, []int{2, 3, 1, 1, 1, 4, 4, 5}, s.M)

	// Permuting the rows (and renaming the customers) changes nothing.
	perm := []int{7, 3, 5, 0, 6, 2, 1, 4}
	var p rfm.Input
	for k, i := range perm {
		p.IDs = append(p.IDs, fmt.Sprintf("z%d", 9-k))
		p.Buyer = append(p.Buyer, true)
		p.Recency = append(p.Recency, in.Recency[i])
		p.Frequency = append(p.Frequency, in.Frequency[i])
		p.Monetary = append(p.Monetary, in.Monetary[i])
	}
	ps := rfm.Score(p)
	for k, i := range perm {
		assert.Equal(t, []int{s.R[i], s.F[i], s.M[i]}, []int{ps.R[k], ps.F[k], ps.M[k]})
	}
}

func TestTiers(t *testing.T) {
	ids := []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "z"}
	el := []bool{true, true, true, true, true, true, true, true, true, true, false}
	v := []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 1e9}
	got := rfm.Tiers(ids, el, v)
	require.Len(t, got, 11)
	want := []rfm.Tier{"C", "C", "C", "C", "C", "B", "B", "B", "A", "A", "C"}
	assert.Equal(t, want, got)
}

func ExampleSegmentOf() {
	fmt.Println(rfm.SegmentOf(5, 4, 5), "|", rfm.SegmentOf(1, 4, 4), "|", rfm.Code(5, 4, 5))
	// Output: Champions | Can't Lose Them | 545
}
