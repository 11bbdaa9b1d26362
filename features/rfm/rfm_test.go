package rfm_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/churnpipe/churnpipe/features/rfm"
)

func TestSegmentOf(t *testing.T) {
	// Rules from the issue, first match wins; each case is a corner of one rule.
	cases := []struct {
		r, f, m int
		want    rfm.Segment
	}{
		{5, 5, 5, rfm.Champions},
		{4, 4, 4, rfm.Champions},
		{2, 3, 3, rfm.LoyalCustomers},
		{5, 3, 5, rfm.LoyalCustomers},
		{3, 1, 1, rfm.PotentialLoyalist},
		{5, 1, 1, rfm.PotentialLoyalist}, // New Customers' box lies inside Potential Loyalist's
		{2, 2, 2, rfm.NeedAttention},
		{2, 3, 2, rfm.NeedAttention},
		{3, 2, 3, rfm.PotentialLoyalist}, // R3 with F,M ≤ 3 is Potential Loyalist before Need Attention
		{2, 1, 2, rfm.AboutToSleep},
		{2, 2, 1, rfm.AboutToSleep},
		{1, 2, 2, rfm.AtRisk},
		{2, 5, 2, rfm.AtRisk},
		{1, 5, 5, rfm.AtRisk}, // Can't Lose Them's box lies inside At Risk's
		{1, 1, 2, rfm.Hibernating},
		{1, 1, 1, rfm.Hibernating},
		{4, 5, 1, rfm.Others},
		{3, 4, 1, rfm.Others},
		{0, 0, 0, rfm.Others},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%d%d%d", tc.r, tc.f, tc.m), func(t *testing.T) {
			assert.Equal(t, tc.want, rfm.SegmentOf(tc.r, tc.f, tc.m))
		})
	}
}

func TestScoreQuintiles(t *testing.T) {
	n := 10
	in := rfm.Input{}
	for i := 0; i < n; i++ {
		in.IDs = append(in.IDs, fmt.Sprintf("c%02d", i))
		in.Buyer = append(in.Buyer, true)
		in.Recency = append(in.Recency, int32(i*10))    // c00 most recent
		in.Frequency = append(in.Frequency, int32(1))   // all tied: broken by id
		in.Monetary = append(in.Monetary, float64(n-i)) // c00 spends most
	}
	in.IDs = append(in.IDs, "prospect")
	in.Buyer = append(in.Buyer, false)
	in.Recency = append(in.Recency, 0)
	in.Frequency = append(in.Frequency, 0)
	in.Monetary = append(in.Monetary, 0)

	s := rfm.Score(in)
	assert.Equal(t, []int{5, 5, 4, 4, 3, 3, 2, 2, 1, 1, 0}, s.R)
	assert.Equal(t, []int{1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 0}, s.F, "ties broken by customer_id")
	assert.Equal(t, []int{5, 5, 4, 4, 3, 3, 2, 2, 1, 1, 0}, s.M)
	assert.Equal(t, "515", rfm.Code(s.R[0], s.F[0], s.M[0]))
	assert.Panics(t, func() { rfm.Code(0, 1, 1) })
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
	// Output: Champions | At Risk | 545
}
