package rfm

import (
	"fmt"
	"slices"
	"strings"
	"sync"
)

// Segment is an RFM segment name, stored as-is in the prediction table.
type Segment string

// The segment names, in rule order.
const (
	Champions         Segment = "Champions"
	LoyalCustomers    Segment = "Loyal Customers"
	PotentialLoyalist Segment = "Potential Loyalist"
	NewCustomers      Segment = "New Customers"
	Promising         Segment = "Promising"
	NeedAttention     Segment = "Need Attention"
	AboutToSleep      Segment = "About To Sleep"
	AtRisk            Segment = "At Risk"
	CantLoseThem      Segment = "Can't Lose Them"
	Hibernating       Segment = "Hibernating"
	Lost              Segment = "Lost"
	Others            Segment = "Others"
)

// Label describes a segment in English and Chinese with the usual action.
type Label struct {
	Code    Segment
	English string
	Chinese string
	Action  string
}

// Labels returns every segment in rule order (the rows of segment_labels for
// RFM segments).
func Labels() []Label {
	return []Label{
		{Champions, "Champions", "重要价值客户", "reward; ask for reviews and referrals"},
		{LoyalCustomers, "Loyal Customers", "忠诚客户", "up-sell, loyalty programme"},
		{PotentialLoyalist, "Potential Loyalist", "潜力客户", "membership offer, recommendations"},
		{NewCustomers, "New Customers", "新客户", "onboarding support"},
		{Promising, "Promising", "有潜力新客", "build brand awareness, free trials"},
		{NeedAttention, "Need Attention", "需要关注客户", "limited-time offers based on history"},
		{AboutToSleep, "About To Sleep", "即将沉睡客户", "share popular products, renew interest"},
		{AtRisk, "At Risk", "重要挽留客户", "personal e-mails, renewals, helpful resources"},
		{CantLoseThem, "Can't Lose Them", "重要保持客户", "win back with new products; talk to them"},
		{Hibernating, "Hibernating", "休眠客户", "offer relevant products and special discounts"},
		{Lost, "Lost", "流失客户", "revive interest with outreach, or ignore"},
		{Others, "Others", "其他", "no specific action"},
	}
}

// Valid reports whether s is a documented segment.
func Valid(s Segment) bool {
	for _, l := range Labels() {
		if l.Code == s {
			return true
		}
	}
	return false
}

// Code formats scores as the three-digit rfm_score, e.g. "545".
// It panics if a score is outside 1–5.
func Code(r, f, m int) string {
	for _, v := range [...]int{r, f, m} {
		if v < 1 || v > 5 {
			panic(fmt.Sprintf("rfm: score %d outside 1..5", v))
		}
	}
	return string([]byte{byte('0' + r), byte('0' + f), byte('0' + m)})
}

// Input holds the per-customer values to score. All slices have one entry
// per customer; Buyer false excludes a customer (its scores are 0).
type Input struct {
	IDs       []string
	Buyer     []bool
	Recency   []int32   // days since last purchase
	Frequency []int32   // purchase days
	Monetary  []float64 // net spend
}

// Scores are the quintile scores, 1–5, or 0 for non-buyers.
type Scores struct{ R, F, M []int }

// Score computes the quintile scores over the buyers: equal values share a
// score (see quintiles), so the result does not depend on customer_id or on
// the order of the rows. It panics if the slices of in differ in length.
func Score(in Input) Scores {
	n := len(in.IDs)
	if len(in.Buyer) != n || len(in.Recency) != n || len(in.Frequency) != n || len(in.Monetary) != n {
		panic("rfm: input slices differ in length")
	}
	buyers := make([]int, 0, n)
	for i, b := range in.Buyer {
		if b {
			buyers = append(buyers, i)
		}
	}
	s := Scores{R: make([]int, n), F: make([]int, n), M: make([]int, n)}
	// The three sorts are independent (they only read in): R and F on
	// goroutines of their own beside M.
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		// Recency reversed: more days since the last purchase ranks lower.
		quintiles(buyers, func(i, j int) int { return cmpNum(in.Recency[j], in.Recency[i]) }, s.R)
	}()
	go func() {
		defer wg.Done()
		quintiles(buyers, func(i, j int) int { return cmpNum(in.Frequency[i], in.Frequency[j]) }, s.F)
	}()
	quintiles(buyers, func(i, j int) int { return cmpNum(in.Monetary[i], in.Monetary[j]) }, s.M)
	wg.Wait()
	return s
}

func cmpNum[T int32 | float64](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// quintiles scores idx by cmp (ascending = worse to better): a customer
// whose value is better than L of the n customers (strictly; equal values
// count for neither) scores ⌊5·L/n⌋+1. Equal values therefore share a score,
// and score k+1 needs a value better than at least k·20 % of the buyers.
func quintiles(idx []int, cmp func(i, j int) int, out []int) {
	order := slices.Clone(idx)
	slices.SortStableFunc(order, cmp)
	n := len(order)
	for start := 0; start < n; {
		end := start + 1
		for end < n && cmp(order[start], order[end]) == 0 {
			end++
		}
		score := start*5/n + 1
		for _, i := range order[start:end] {
			out[i] = score
		}
		start = end
	}
}

// Tier is an ABC value tier.
type Tier string

// The value tiers.
const (
	TierA Tier = "A"
	TierB Tier = "B"
	TierC Tier = "C"
)

// Tiers places customers in ABC tiers by value, highest first: the top 20 %
// of eligible customers are A, the next 30 % B, the rest and the ineligible C.
// Ties are broken by id. It panics if the slices differ in length.
func Tiers(ids []string, eligible []bool, value []float64) []Tier {
	n := len(ids)
	if len(eligible) != n || len(value) != n {
		panic("rfm: tier input slices differ in length")
	}
	idx := make([]int, 0, n)
	for i, e := range eligible {
		if e {
			idx = append(idx, i)
		}
	}
	slices.SortFunc(idx, func(i, j int) int {
		if c := cmpNum(value[j], value[i]); c != 0 {
			return c
		}
		return strings.Compare(ids[i], ids[j])
	})
	out := make([]Tier, n)
	for i := range out {
		out[i] = TierC
	}
	m := len(idx)
	for rank, i := range idx {
		switch {
		case rank*10 < 2*m:
			out[i] = TierA
		case rank*10 < 5*m:
			out[i] = TierB
		}
	}
	return out
}
