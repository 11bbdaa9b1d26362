package lifecycle_test

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/churnpipe/churnpipe/features/lifecycle"
)

func TestStageRules(t *testing.T) {
	r := lifecycle.DefaultRules()
	require.NoError(t, r.Validate())
	steady := func(c lifecycle.Customer) lifecycle.Customer {
		c.Buyer = true
		c.EarlierMean = 4
		for k := range c.Activity {
			c.Activity[k] = 4
		}
		if c.GapBeforeRecent == 0 {
			c.GapBeforeRecent = -1
		}
		return c
	}
	declining := func(c lifecycle.Customer) lifecycle.Customer {
		c = steady(c)
		c.Activity[0], c.Activity[1], c.Activity[2] = 3, 3, 0 // all < 0.8 × 4 = 3.2
		return c
	}
	// Each case names the rule of the issue it exercises, at its boundary.
	cases := []struct {
		name string
		c    lifecycle.Customer
		want lifecycle.Stage
	}{
		{"never purchased", lifecycle.Customer{Buyer: false, EarlierMean: math.NaN()}, lifecycle.Prospect},
		{"181 days without purchase", steady(lifecycle.Customer{DaysSinceLastPurchase: 181, DaysSinceFirst: 900, TenureMonths: 30}), lifecycle.Churned},
		{"exactly 180 days is not churned", steady(lifecycle.Customer{DaysSinceLastPurchase: 180, DaysSinceFirst: 900, TenureMonths: 30}), lifecycle.Dormant},
		{"91 days without purchase", steady(lifecycle.Customer{DaysSinceLastPurchase: 91, DaysSinceFirst: 900, TenureMonths: 30}), lifecycle.Dormant},
		{"churn wins over new rules", steady(lifecycle.Customer{DaysSinceLastPurchase: 200, DaysSinceFirst: 200}), lifecycle.Churned},
		{"bought 10 days ago after a 181-day gap", steady(lifecycle.Customer{DaysSinceLastPurchase: 10, DaysSinceFirst: 700, GapBeforeRecent: 181, TenureMonths: 23}), lifecycle.Reactivated},
		{"gap of exactly 180 is not a reactivation", steady(lifecycle.Customer{DaysSinceLastPurchase: 10, DaysSinceFirst: 700, GapBeforeRecent: 180, PurchaseDays365: 5, TenureMonths: 23}), lifecycle.Mature},
		{"first purchase 89 days ago", steady(lifecycle.Customer{DaysSinceLastPurchase: 5, DaysSinceFirst: 89, TenureMonths: 2}), lifecycle.New},
		{"first purchase 90 days ago is no longer new", steady(lifecycle.Customer{DaysSinceLastPurchase: 5, DaysSinceFirst: 90, TenureMonths: 3}), lifecycle.Growing},
		{"three months below 80 % of own mean", declining(lifecycle.Customer{DaysSinceLastPurchase: 40, DaysSinceFirst: 400, PurchaseDays365: 6, TenureMonths: 13}), lifecycle.Declining},
		{"decline needs 6 months of tenure", declining(lifecycle.Customer{DaysSinceLastPurchase: 40, DaysSinceFirst: 160, TenureMonths: 5}), lifecycle.Growing},
		{"one recent month at 80 % is not a decline", func() lifecycle.Customer {
			c := declining(lifecycle.Customer{DaysSinceLastPurchase: 40, DaysSinceFirst: 400, PurchaseDays365: 6, TenureMonths: 13})
			c.EarlierMean = 3.75 // 0.8 × 3.75 = 3 = Activity[0]: not below
			return c
		}(), lifecycle.Mature},
		{"tenure 365 and 4 purchase days", steady(lifecycle.Customer{DaysSinceLastPurchase: 20, DaysSinceFirst: 365, PurchaseDays365: 4, TenureMonths: 12}), lifecycle.Mature},
		{"tenure 364 is growing", steady(lifecycle.Customer{DaysSinceLastPurchase: 20, DaysSinceFirst: 364, PurchaseDays365: 9, TenureMonths: 11}), lifecycle.Growing},
		{"3 purchase days in a year is growing", steady(lifecycle.Customer{DaysSinceLastPurchase: 20, DaysSinceFirst: 800, PurchaseDays365: 3, TenureMonths: 26}), lifecycle.Growing},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, r.Stage(tc.c))
		})
	}
}

func TestRulesConfigurable(t *testing.T) {
	r := lifecycle.DefaultRules()
	r.ChurnDays, r.DormantDays = 60, 30
	c := lifecycle.Customer{Buyer: true, DaysSinceLastPurchase: 61, DaysSinceFirst: 500, GapBeforeRecent: -1, EarlierMean: math.NaN()}
	assert.Equal(t, lifecycle.Churned, r.Stage(c))
	r.DormantDays = 70
	assert.ErrorIs(t, r.Validate(), lifecycle.ErrRules)
}

func TestLabels(t *testing.T) {
	seen := map[lifecycle.Stage]bool{}
	for _, l := range lifecycle.Labels() {
		assert.False(t, seen[l.Code], "duplicate %s", l.Code)
		seen[l.Code] = true
		assert.NotEmpty(t, l.English)
		assert.NotEmpty(t, l.Chinese)
		assert.True(t, lifecycle.Valid(l.Code))
	}
	assert.Len(t, seen, 8)
	assert.False(t, lifecycle.Valid("vip"))
}
