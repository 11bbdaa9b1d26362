package jobs_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/churnpipe/churnpipe/jobs"
	"github.com/churnpipe/churnpipe/jobs/config"
	"github.com/churnpipe/churnpipe/pipeline"
)

// TestSubscriberStagesFromConfig: the subscriber stage thresholds of the
// YAML configuration reach the night like the buyer stages do — with
// renewal_due_days 20 and at_risk 0.3 the night publishes renewal_due
// subscribers 8–20 days before their renewal date and at_risk ones below
// the default level 0.6, which the defaults never do; renewal_due_days 0 is
// kept as 0 (not replaced by the default 7).
func TestSubscriberStagesFromConfig(t *testing.T) {
	dir := t.TempDir()
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	asOf := time.Date(2025, 12, 31, 0, 0, 0, 0, time.UTC)
	hist := filepath.Join(dir, "history.parquet")
	_, err := jobs.SynthContractual(context.Background(), jobs.SynthConfig{Customers: 1500, Start: start, End: asOf, Seed: 3, Out: hist}, nil)
	require.NoError(t, err)

	night := func(name, yaml string) (dbPath string) {
		c, err := config.Parse(name+".yaml", []byte(yaml), func(string) (string, bool) { return "", false })
		require.NoError(t, err)
		nc, err := jobs.FromConfig(c)
		require.NoError(t, err)
		dbPath = filepath.Join(dir, name+".db")
		nc.Input = pipeline.Input{Path: hist, MaxReject: 0.01, Quarantine: filepath.Join(dir, name+"-q.csv")}
		nc.DB, nc.AsOf, nc.Registry = "sqlite:"+dbPath, asOf, ""
		_, err = jobs.Nightly(context.Background(), nc, pipeline.Options{})
		require.NoError(t, err)
		return dbPath
	}
	const farDue = `SELECT count(*) FROM customer_predictions WHERE lifecycle_stage = 'renewal_due' AND julianday(renewal_date) - julianday(as_of) > 7`
	const lowRisk = `SELECT count(*) FROM customer_predictions WHERE lifecycle_stage = 'at_risk' AND churn_probability < 0.6`
	def := openDB(t, night("default", "churn_scoring: false\n"))
	require.Positive(t, count(t, def, `SELECT count(*) FROM customer_predictions WHERE lifecycle_stage = 'renewal_due'`))
	assert.Zero(t, count(t, def, farDue))
	assert.Zero(t, count(t, def, lowRisk))

	cfg := openDB(t, night("custom", "churn_scoring: false\nsubscriptions:\n  renewal_due_days: 20\n  at_risk: 0.3\n"))
	assert.Positive(t, count(t, cfg, farDue), "renewal_due 8–20 days ahead")
	assert.Zero(t, count(t, cfg, `SELECT count(*) FROM customer_predictions WHERE lifecycle_stage = 'renewal_due' AND julianday(renewal_date) - julianday(as_of) > 20`))
	assert.Positive(t, count(t, cfg, lowRisk), "at_risk from 0.3")
	assert.Zero(t, count(t, cfg, `SELECT count(*) FROM customer_predictions WHERE lifecycle_stage = 'at_risk' AND churn_probability < 0.3`))
	assert.Greater(t, count(t, cfg, `SELECT count(*) FROM customer_predictions WHERE lifecycle_stage = 'at_risk'`),
		count(t, def, `SELECT count(*) FROM customer_predictions WHERE lifecycle_stage = 'at_risk'`))

	c, err := config.Parse("zero.yaml", []byte("subscriptions:\n  renewal_due_days: 0\n  grace_days: 0\n"), func(string) (string, bool) { return "", false })
	require.NoError(t, err)
	nc, err := jobs.FromConfig(c)
	require.NoError(t, err)
	r := nc.Subscriptions.Rules.WithDefaults()
	assert.Zero(t, r.RenewalDueDays)
	assert.Zero(t, r.GraceDays)
	assert.EqualValues(t, 14, r.TrialDays)
	c, err = config.Parse("off.yaml", []byte("subscriptions:\n  enabled: false\n"), func(string) (string, bool) { return "", false })
	require.NoError(t, err)
	nc, err = jobs.FromConfig(c)
	require.NoError(t, err)
	assert.True(t, nc.Subscriptions.Disabled)
}
