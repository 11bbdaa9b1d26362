package main

import (
	"database/sql"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/churnpipe/churnpipe/internal/testenv"
	"github.com/churnpipe/churnpipe/jobs"
)

// TestCLVFitSBGMatchesPublished runs the exact command on both
// cohorts of Fader & Hardie (2007) and compares with
// ../shared/data/sbg/README.md: α, β and log-likelihood within 0.1 %,
// projected survivors of years 8..12 within 1.
func TestCLVFitSBGMatchesPublished(t *testing.T) {
	path := testenv.SharedData(t, "sbg/sbg_survival.csv")
	cases := []struct {
		column      string
		alpha, beta float64
		loglik      float64
		proj        []float64
	}{
		{"regular", 0.704, 1.182, -1680.27, []float64{220, 204, 191, 180, 170}},
		{"high_end", 0.668, 3.806, -1611.16, []float64{460, 436, 414, 395, 378}},
	}
	for _, tc := range cases {
		t.Run(tc.column, func(t *testing.T) {
			code, out, stderr := runCLI(t, "clv", "fit", "--model", "sbg", "--survival", path,
				"--column", tc.column, "--periods", "7", "--json")
			require.Equal(t, 0, code, stderr)
			var got struct {
				Model     string             `json:"model"`
				Params    map[string]float64 `json:"params"`
				LogLik    float64            `json:"loglik"`
				Converged bool               `json:"converged"`
				Projected []float64          `json:"projected"`
			}
			require.NoError(t, json.Unmarshal([]byte(out), &got), out)
			assert.Equal(t, "sbg", got.Model)
			assert.True(t, got.Converged)
			assert.Len(t, got.Params, 2)
			assert.InEpsilon(t, tc.alpha, got.Params["alpha"], 1e-3)
			assert.InEpsilon(t, tc.beta, got.Params["beta"], 1e-3)
			assert.InEpsilon(t, tc.loglik, got.LogLik, 1e-3)
			require.Len(t, got.Projected, 13)
			for k, want := range tc.proj {
				assert.InDelta(t, want, got.Projected[8+k], 1, "year %d", 8+k)
			}
		})
	}
}

func TestCLVFitSBGBadInput(t *testing.T) {
	path := testenv.SharedData(t, "sbg/sbg_survival.csv")
	code, _, stderr := runCLI(t, "clv", "fit", "--model", "sbg", "--survival", path, "--column", "nope", "--periods", "7")
	assert.Equal(t, jobs.ExitUsage, code)
	assert.Contains(t, stderr, `"nope"`)
	code, _, _ = runCLI(t, "clv", "fit", "--model", "sbg", "--survival", path, "--column", "regular", "--periods", "13")
	assert.Equal(t, jobs.ExitUsage, code)
	bad := t.TempDir() + "/s.csv"
	require.NoError(t, os.WriteFile(bad, []byte("year,c\n0,100\n1,80\n2,x\n"), 0o644))
	code, _, stderr = runCLI(t, "clv", "fit", "--model", "sbg", "--survival", bad, "--column", "c", "--periods", "2")
	assert.Equal(t, jobs.ExitRejected, code)
	assert.Contains(t, stderr, "line 4 column c")
}

// TestSynthDemoContractual runs the commands: synth --setting
// contractual writes a subscription history; demo --setting contractual
// prints every subscriber stage.
func TestSynthDemoContractual(t *testing.T) {
	dir := t.TempDir()
	code, out, stderr := runCLI(t, "synth", "--setting", "contractual", "--customers", "300", "--out", dir+"/subs.csv")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "subscribers")
	b, err := os.ReadFile(dir + "/subs.csv")
	require.NoError(t, err)
	for _, typ := range []string{"trial_start", "subscribe", "renew", "cancel", "expire", "visit"} {
		assert.Contains(t, string(b), ","+typ+",", typ)
	}
	code, _, _ = runCLI(t, "synth", "--setting", "weekly", "--out", dir+"/x.csv")
	assert.Equal(t, jobs.ExitUsage, code)
	code, out, stderr = runCLI(t, "demo", "--setting", "contractual", "--dir", dir+"/demo", "--customers", "2000")
	require.Equal(t, 0, code, stderr)
	for _, st := range []string{"trial ", "trial_expired", "new_subscriber", "active", "renewal_due", "cancelled", "won_back", "at_risk"} {
		assert.Contains(t, out, "  "+st, st)
	}
	// train --json on the demo history shows the cancel model against its baselines.
	code, out, stderr = runCLI(t, "train", "--input", dir+"/demo/history.parquet", "--registry", dir+"/reg", "--json")
	require.Equal(t, 0, code, stderr)
	var rep struct {
		CancelModel struct {
			Kind           string `json:"kind"`
			BeatsBaselines bool   `json:"beats_baselines"`
			Verdict        string `json:"verdict"`
			Candidates     []struct {
				Kind     string  `json:"kind"`
				Baseline bool    `json:"baseline"`
				AUC      float64 `json:"auc"`
				Brier    float64 `json:"brier"`
				ECE      float64 `json:"ece"`
			} `json:"candidates"`
		} `json:"cancel_model"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &rep), out)
	cm := rep.CancelModel
	require.Len(t, cm.Candidates, 3, out)
	assert.True(t, cm.BeatsBaselines, cm.Verdict)
	assert.Equal(t, "logit", cm.Kind)
	for _, c := range cm.Candidates[1:] {
		assert.True(t, c.Baseline, c.Kind)
		assert.Greater(t, cm.Candidates[0].AUC, c.AUC, c.Kind)
		assert.Less(t, cm.Candidates[0].Brier, c.Brier, c.Kind)
	}
	assert.ElementsMatch(t, []string{"logit", "days_to_period_end", "sbg"},
		[]string{cm.Candidates[0].Kind, cm.Candidates[1].Kind, cm.Candidates[2].Kind})
}

// TestRetrainContractualConfig: the weekly retrain trains the cancel model
// with the configuration's subscriptions section (its horizon), and the
// nightly of the same configuration scores the subscribers with it.
func TestRetrainContractualConfig(t *testing.T) {
	dir := t.TempDir()
	hist := filepath.Join(dir, "subs.parquet")
	code, _, stderr := runCLI(t, "synth", "--setting", "contractual", "--customers", "3000", "--out", hist)
	require.Equal(t, 0, code, stderr)
	db := filepath.Join(dir, "p.db")
	cfg := filepath.Join(dir, "churnpipe.yaml")
	require.NoError(t, os.WriteFile(cfg, []byte("input:\n  path: "+hist+"\ndb: sqlite:"+db+"\nregistry: "+filepath.Join(dir, "models")+
		"\nsubscriptions:\n  horizon_days: 45\n"), 0o644))
	code, out, stderr := runCLI(t, "retrain", "--config", cfg, "--as-of", "2025-12-31", "--force")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "challenger v000001")
	code, _, stderr = runCLI(t, "nightly", "--config", cfg, "--as-of", "2025-12-31")
	require.Equal(t, 0, code, stderr)
	conn, err := sql.Open("sqlite", db)
	require.NoError(t, err)
	defer conn.Close()
	var details string
	require.NoError(t, conn.QueryRow(`SELECT details FROM pipeline_runs ORDER BY started_at DESC LIMIT 1`).Scan(&details))
	var d struct {
		Subscriptions struct {
			CancelModel struct {
				Source       string `json:"source"`
				HorizonDays  int    `json:"horizon_days"`
				TestSnapshot string `json:"test_snapshot"`
			} `json:"cancel_model"`
		} `json:"subscriptions"`
	}
	require.NoError(t, json.Unmarshal([]byte(details), &d), details)
	cm := d.Subscriptions.CancelModel
	assert.Equal(t, "champion v000001", cm.Source)
	assert.Equal(t, 45, cm.HorizonDays)
	assert.Equal(t, "2025-11-16", cm.TestSnapshot, "as-of − 45 days")

	// models show prints the version's cancel model and its comparison.
	code, out, stderr = runCLI(t, "models", "show", "champion", "--registry", filepath.Join(dir, "models"))
	require.Equal(t, 0, code, stderr)
	var show struct {
		CancelModel struct {
			Kind        string `json:"kind"`
			HorizonDays int    `json:"horizon_days"`
			Report      struct {
				Verdict string `json:"verdict"`
			} `json:"report"`
		} `json:"cancel_model"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &show), out)
	assert.Equal(t, 45, show.CancelModel.HorizonDays)
	assert.NotEmpty(t, show.CancelModel.Kind)
	assert.NotEmpty(t, show.CancelModel.Report.Verdict)
}
