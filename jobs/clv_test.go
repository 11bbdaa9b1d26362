package jobs_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/churnpipe/churnpipe/internal/testenv"
	"github.com/churnpipe/churnpipe/jobs"
	"github.com/churnpipe/churnpipe/models/btyd"
	"github.com/churnpipe/churnpipe/pipeline"
)

// TestGammaGammaCDNOWMasterWarns: customer 10244's only repeat purchase is
// $0.00 (shared/data/cdnow_master/README.md). `clv fit --model gammagamma`
// leaves it out with a counted warning naming it in the log, and the nightly
// run records it in the ledger (pipeline_runs.details) and gives it the
// population mean spend p·γ/(q−1).
func TestGammaGammaCDNOWMasterWarns(t *testing.T) {
	csvPath := testenv.SharedData(t, "cdnow_master/cdnow_master_interactions.csv")
	dir := t.TempDir()
	var logBuf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logBuf, nil))
	fit, err := jobs.FitCLV(context.Background(), jobs.CLVFitConfig{
		Input: pipeline.Input{Path: csvPath, Quarantine: filepath.Join(dir, "q.csv")}, Model: "gammagamma",
		CalibrationEnd: cdnowEnd, Unit: btyd.Week,
	}, pipeline.Options{Logger: log})
	require.NoError(t, err)
	assert.Equal(t, 9450, fit.Customers)
	assert.Contains(t, logBuf.String(), `"msg":"customers left out of the spend model","count":1,"customers":["10244"]`)

	dbPath := filepath.Join(dir, "m.db")
	cfg := jobs.NightlyConfig{NightlyConfig: pipeline.NightlyConfig{
		Input: pipeline.Input{Path: csvPath, MaxReject: 0.01, Quarantine: filepath.Join(dir, "q.csv")},
		AsOf:  cdnowEnd, DB: "sqlite:" + dbPath,
		CLV: pipeline.CLVOptions{Model: "bgnbd"},
	}}
	logBuf.Reset()
	_, err = jobs.Nightly(context.Background(), cfg, pipeline.Options{Logger: log})
	require.NoError(t, err)
	assert.Contains(t, logBuf.String(), "10244")
	db := openDB(t, dbPath)
	var details string
	require.NoError(t, db.QueryRow(`SELECT details FROM pipeline_runs`).Scan(&details))
	var d struct {
		CLV struct {
			SpendExcluded struct {
				Count     int      `json:"count"`
				Customers []string `json:"customers"`
			} `json:"spend_excluded"`
			SpendModel struct {
				Params map[string]float64 `json:"params"`
			} `json:"spend_model"`
		} `json:"clv"`
	}
	require.NoError(t, json.Unmarshal([]byte(details), &d), details)
	assert.Equal(t, 1, d.CLV.SpendExcluded.Count)
	assert.Equal(t, []string{"10244"}, d.CLV.SpendExcluded.Customers)
	p := d.CLV.SpendModel.Params
	require.NotEmpty(t, p)
	var spend float64
	require.NoError(t, db.QueryRow(`SELECT expected_avg_spend FROM customer_predictions WHERE customer_id = '10244'`).Scan(&spend))
	assert.InDelta(t, p["p"]*p["gamma"]/(p["q"]-1), spend, 1e-9, "population mean spend")
}
