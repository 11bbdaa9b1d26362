package main

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	_ "modernc.org/sqlite"

	"github.com/churnpipe/churnpipe/internal/testenv"
	"github.com/churnpipe/churnpipe/jobs"
)

func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return code, out.String(), errb.String()
}

// TestCLVFitJSONMatchesPublished runs the exact command on CDNOW and
// compares with the published full-precision estimates (cdnow README: Fader,
// Hardie & Lee 2005; BTYDplus for MBG/NBD; Fader & Hardie note 025 for
// Gamma-Gamma) at CLVTools' tolerance, 0.1 % relative.
func TestCLVFitJSONMatchesPublished(t *testing.T) {
	csvPath := testenv.SharedData(t, "cdnow/cdnow_sample_interactions.csv")
	t.Chdir(t.TempDir())
	cases := []struct {
		model  string
		params map[string]float64
		loglik float64 // 0 = not published at full precision
	}{
		{"bgnbd", map[string]float64{"r": 0.2425945, "alpha": 4.4136019, "a": 0.7929199, "b": 2.4258881}, -9582.429},
		{"paretonbd", map[string]float64{"r": 0.55315, "alpha": 10.57633, "s": 0.60625, "beta": 11.67150}, -9594.976},
		{"mbgnbd", map[string]float64{"r": 0.525, "alpha": 6.183, "a": 0.891, "b": 1.614}, 0},
		{"gammagamma", map[string]float64{"p": 6.25, "q": 3.74, "gamma": 15.44}, -4055.9177},
	}
	for _, tc := range cases {
		t.Run(tc.model, func(t *testing.T) {
			code, out, stderr := runCLI(t, "clv", "fit", "--input", csvPath, "--model", tc.model,
				"--calibration-end", "1997-09-30", "--time-unit", "week", "--json")
			require.Equal(t, 0, code, stderr)
			var got struct {
				Model      string             `json:"model"`
				Params     map[string]float64 `json:"params"`
				LogLik     float64            `json:"loglik"`
				Customers  int                `json:"customers"`
				Iterations int                `json:"iterations"`
				Converged  bool               `json:"converged"`
				StdErr     map[string]float64 `json:"stderr"`
			}
			require.NoError(t, json.Unmarshal([]byte(out), &got), out)
			assert.Equal(t, tc.model, got.Model)
			assert.True(t, got.Converged)
			assert.Positive(t, got.Iterations)
			for k, want := range tc.params {
				// Published values rounded to 2–3 decimals are compared at half a unit of their last digit or 0.1 %.
				tol := math.Max(0.001*math.Abs(want), 0)
				if tc.model == "gammagamma" || tc.model == "mbgnbd" {
					tol = math.Max(tol, 0.0051)
				}
				assert.InDelta(t, want, got.Params[k], tol, "%s %s", tc.model, k)
				assert.Contains(t, got.StdErr, k)
			}
			if tc.loglik != 0 {
				assert.InDelta(t, tc.loglik, got.LogLik, 0.001*math.Abs(tc.loglik))
			}
			if tc.model == "gammagamma" {
				assert.Equal(t, 946, got.Customers, "repeat buyers")
			} else {
				assert.Equal(t, 2357, got.Customers)
			}
		})
	}
}

func TestNightlyCLIExitCodes(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	code, _, _ := runCLI(t, "nightly")
	assert.Equal(t, jobs.ExitUsage, code, "no input")
	code, _, _ = runCLI(t, "nightly", "--input", "x.csv", "--as-of", "yesterday")
	assert.Equal(t, jobs.ExitUsage, code, "bad day")
	code, _, _ = runCLI(t, "no-such-command")
	assert.Equal(t, jobs.ExitUsage, code)

	// Half the rows are bad: input rejected, nothing published.
	bad := filepath.Join(dir, "bad.csv")
	require.NoError(t, os.WriteFile(bad, []byte("customer_id,event_time,event_type,amount\n"+
		"a,2024-01-01,purchase,1\n,2024-01-02,purchase,1\nb,not-a-day,purchase,2\nc,2024-01-03,purchase,NaN\n"), 0o644))
	code, out, stderr := runCLI(t, "nightly", "--input", bad, "--as-of", "2024-06-30", "--db", "sqlite:"+filepath.Join(dir, "p.db"))
	assert.Equal(t, jobs.ExitRejected, code, out+stderr)
	assert.Contains(t, stderr, "rejected")
	db, err := sql.Open("sqlite", filepath.Join(dir, "p.db"))
	require.NoError(t, err)
	defer db.Close()
	var n int
	require.NoError(t, db.QueryRow(`SELECT count(*) FROM customer_predictions`).Scan(&n))
	assert.Zero(t, n)
	var status, msg string
	require.NoError(t, db.QueryRow(`SELECT status, error FROM pipeline_runs`).Scan(&status, &msg))
	assert.Equal(t, "failed", status)
	assert.Contains(t, msg, "3 of 4 rows")
}

func TestHelp(t *testing.T) {
	code, out, _ := runCLI(t, "help")
	assert.Equal(t, 0, code)
	for _, c := range []string{"nightly", "features", "synth", "demo", "clv"} {
		assert.True(t, strings.Contains(out, "  "+c+" "), "help lists %s", c)
	}
	code, _, _ = runCLI(t, "nightly", "-h")
	assert.Equal(t, 0, code)
}

// TestCLVReportCDNOW: the calibration/holdout report on CDNOW reproduces the
// data set's published totals (cdnow README: 2,457 repeat transactions in
// calibration, 1,882 in the holdout) and writes readable PNGs.
func TestCLVReportCDNOW(t *testing.T) {
	csvPath := testenv.SharedData(t, "cdnow/cdnow_sample_interactions.csv")
	out := filepath.Join(t.TempDir(), "clv")
	code, stdout, stderr := runCLI(t, "clv", "report", "--input", csvPath, "--calibration-end", "1997-09-30",
		"--holdout-end", "1998-06-30", "--out", out, "--model", "bgnbd")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, "tracking.png")
	for _, row := range []string{"MAE repeat transactions/customer", "aggregate error", "tracking error (MAPE, cumulative)",
		"normalized Gini (spend)", "top-20 % share of spend", "deciles by predicted holdout spend, bgnbd + gammagamma", "run rate"} {
		assert.Contains(t, stdout, row)
	}
	for _, f := range []string{"tracking.png", "conditional_expectations.png", "p_alive_heatmap.png"} {
		st, err := os.Stat(filepath.Join(out, f))
		require.NoError(t, err)
		assert.Greater(t, st.Size(), int64(10_000), f)
	}
	b, err := os.ReadFile(filepath.Join(out, "report.json"))
	require.NoError(t, err)
	var rep struct {
		Tracking struct {
			Time           []float64 `json:"time"`
			Actual         []float64 `json:"actual"`
			Expected       []float64 `json:"expected"`
			CalibrationEnd float64   `json:"calibration_end"`
		} `json:"tracking"`
		Conditional struct {
			Actual []float64 `json:"actual"`
		} `json:"conditional_expectations"`
	}
	require.NoError(t, json.Unmarshal(b, &rep))
	tr := rep.Tracking
	require.NotEmpty(t, tr.Actual)
	assert.InDelta(t, 2457+1882, tr.Actual[len(tr.Actual)-1], 0.5, "all repeat transactions to 1998-06-30")
	var holdout float64
	for _, a := range rep.Conditional.Actual {
		holdout += a
	}
	assert.Greater(t, holdout, 0.0)
	// BG/NBD tracks the calibration period closely (FHL 2005, figure 2): within 5 % at its end.
	for i, x := range tr.Time {
		if x >= tr.CalibrationEnd {
			assert.InEpsilon(t, tr.Actual[i], tr.Expected[i], 0.05)
			break
		}
	}
}

// TestCLVReportJSON: `clv report --json` prints the holdout evaluation of the
// model chosen by auto and of the run-rate baseline as one JSON object.
func TestCLVReportJSON(t *testing.T) {
	csvPath := testenv.SharedData(t, "cdnow/cdnow_sample_interactions.csv")
	code, stdout, stderr := runCLI(t, "clv", "report", "--input", csvPath, "--calibration-end", "1997-09-30",
		"--holdout-end", "1998-06-30", "--out", t.TempDir(), "--json")
	require.Equal(t, 0, code, stderr)
	var ev struct {
		Model      string  `json:"model"`
		Customers  int     `json:"customers"`
		Actual     float64 `json:"actual_transactions"`
		Predictors []struct {
			Name string  `json:"name"`
			MAE  float64 `json:"transactions_mae"`
			Gini float64 `json:"normalized_gini"`
		} `json:"predictors"`
	}
	require.NoError(t, json.Unmarshal([]byte(stdout), &ev), stdout)
	assert.Equal(t, 2357, ev.Customers)
	assert.Equal(t, 1882.0, ev.Actual, "CDNOW's published holdout repeat transactions")
	require.Len(t, ev.Predictors, 2)
	assert.Equal(t, "run rate", ev.Predictors[1].Name)
	assert.Contains(t, ev.Predictors[0].Name, ev.Model)
}
