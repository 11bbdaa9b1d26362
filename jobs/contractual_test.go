package jobs_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/churnpipe/churnpipe/features/subscription"
	"github.com/churnpipe/churnpipe/jobs"
	"github.com/churnpipe/churnpipe/models/sbg"
	"github.com/churnpipe/churnpipe/pipeline"
)

// TestDemoContractual runs the contractual demo (5,000 customers, seed 1)
// and checks the acceptance: every subscriber stage is published
// with its labels, the subscription columns are filled for subscribers and
// null for buyers, the sBG recovers the generator's α = 1, β = 6 within 3
// standard errors, and the supervised cancel model beats both "days to
// period end" and the sBG alone on the held-out subscribers.
func TestDemoContractual(t *testing.T) {
	dir := t.TempDir()
	res, err := jobs.DemoContractual(context.Background(), jobs.DemoConfig{Dir: dir, Customers: 5000, Seed: 1}, pipeline.Options{})
	require.NoError(t, err)
	assert.Positive(t, res.Synth.Buyers, "a mixed history")
	db := openDB(t, res.DB)
	for _, l := range subscription.Labels() {
		assert.Positive(t, count(t, db, `SELECT count(*) FROM customer_predictions WHERE lifecycle_stage = ?`, string(l.Code)), l.Code)
		assert.Equal(t, 1, count(t, db, `SELECT count(*) FROM stage_labels WHERE code = ? AND label_zh <> ''`, string(l.Code)), l.Code)
	}
	// Subscribers ("S…") all have a status; buyers ("B…") none.
	assert.Equal(t, int(res.Synth.Subscribers), count(t, db, `SELECT count(*) FROM customer_predictions WHERE subscription_status IS NOT NULL`))
	assert.Zero(t, count(t, db, `SELECT count(*) FROM customer_predictions WHERE customer_id LIKE 'B%' AND subscription_status IS NOT NULL`))
	// Active subscribers: renewal date, P(renew), DERL and residual CLV.
	active := count(t, db, `SELECT count(*) FROM customer_predictions WHERE subscription_status = 'active'`)
	require.Positive(t, active)
	assert.Equal(t, active, count(t, db, `SELECT count(*) FROM customer_predictions WHERE subscription_status = 'active'
		AND renewal_date >= as_of AND p_renew_next > 0 AND p_renew_next < 1 AND expected_residual_lifetime > 0 AND residual_clv > 0
		AND churn_probability IS NOT NULL AND segment IS NOT NULL`))
	assert.Zero(t, count(t, db, `SELECT count(*) FROM customer_predictions WHERE lifecycle_stage IN ('trial', 'trial_expired') AND p_renew_next IS NOT NULL`))
	assert.Zero(t, count(t, db, `SELECT count(*) FROM customer_predictions WHERE lifecycle_stage = 'cancelled' AND residual_clv <> 0`))

	subs := res.Nightly.Run.Details["subscriptions"].(map[string]any)
	fit, ok := subs["retention"].(sbg.FitResult)
	require.True(t, ok)
	// synth.DefaultContractual: α = 1.0, β = 6.0.
	for name, want := range map[string]float64{"alpha": 1.0, "beta": 6.0} {
		assert.InDelta(t, want, fit.Params[name], 3*fit.StdErr[name], "%s = %.3f ± %.3f", name, fit.Params[name], fit.StdErr[name])
	}
	rep := subs["cancel_model"].(pipeline.SubscriberChurnReport)
	t.Logf("cancel model: %+v", rep)
	assert.Empty(t, rep.Skipped)
	assert.Greater(t, rep.AUC, rep.AUCDaysToEnd+0.05, "beats days to period end")
	assert.Greater(t, rep.AUC, rep.AUCSBG+0.05, "beats the sBG alone")
	assert.Less(t, rep.ECE, 0.05, "calibrated")
}
