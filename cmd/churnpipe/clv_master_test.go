package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/churnpipe/churnpipe/internal/testenv"
	"github.com/churnpipe/churnpipe/jobs"
)

// TestCLVFitCDNOWMaster runs `clv fit` on all 23,570 CDNOW customers
// (calibration end 1997-09-30, weeks) and compares with the reference fits in
// shared/data/cdnow_master/README.md, an independent scipy maximum-likelihood
// fit of the same likelihoods: 1e-6 relative for the count models, 1e-5 for
// Gamma-Gamma, which must leave customer 10244 (a single $0.00 repeat
// purchase) out with a counted warning naming it and still exit 0.
func TestCLVFitCDNOWMaster(t *testing.T) {
	csvPath := testenv.SharedData(t, "cdnow_master/cdnow_master_interactions.csv")
	t.Chdir(t.TempDir())
	cases := []struct {
		model     string
		params    map[string]float64
		loglik    float64
		tol       float64
		customers int
	}{
		{"bgnbd", map[string]float64{"r": 0.251624, "alpha": 4.788944, "a": 0.723433, "b": 2.161088}, -95368.4439, 1e-6, 23570},
		{"paretonbd", map[string]float64{"r": 0.597420, "alpha": 11.585657, "s": 0.522186, "beta": 8.827762}, -95415.1186, 1e-6, 23570},
		{"mbgnbd", map[string]float64{"r": 0.637140, "alpha": 7.310294, "a": 0.807474, "b": 1.228392}, -95336.9583, 1e-6, 23570},
		{"gammagamma", map[string]float64{"p": 6.275359, "q": 3.624450, "gamma": 14.983687}, -40763.4763, 1e-5, 9450},
	}
	for _, tc := range cases {
		t.Run(tc.model, func(t *testing.T) {
			code, out, stderr := runCLI(t, "clv", "fit", "--input", csvPath, "--model", tc.model,
				"--calibration-end", "1997-09-30", "--time-unit", "week", "--json")
			require.Equal(t, 0, code, stderr)
			var got struct {
				Params    map[string]float64 `json:"params"`
				LogLik    float64            `json:"loglik"`
				Customers int                `json:"customers"`
				Converged bool               `json:"converged"`
				Warnings  []string           `json:"warnings"`
			}
			require.NoError(t, json.Unmarshal([]byte(out), &got), out)
			assert.True(t, got.Converged)
			assert.Equal(t, tc.customers, got.Customers)
			for k, want := range tc.params {
				// The reference is printed to 6 decimals: allow half a unit of the last digit too.
				tol := math.Max(tc.tol*math.Abs(want), 5e-7)
				assert.InDelta(t, want, got.Params[k], tol, "%s %s", tc.model, k)
			}
			assert.InDelta(t, tc.loglik, got.LogLik, math.Max(tc.tol*math.Abs(tc.loglik), 5e-5), "loglik")
			if tc.model == "gammagamma" {
				require.Len(t, got.Warnings, 1)
				assert.Contains(t, got.Warnings[0], "1 repeat buyer(s)")
				assert.Contains(t, got.Warnings[0], "10244")
			} else {
				assert.Empty(t, got.Warnings)
			}
		})
	}
}

// TestCLVFitGammaGammaImpossible: when no repeat buyer has a positive mean
// repeat spend the fit is impossible: exit 3 (input rejected), naming a
// customer and its input lines.
func TestCLVFitGammaGammaImpossible(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	var b strings.Builder
	b.WriteString("customer_id,event_time,event_type,amount\n")
	for _, id := range []string{"a", "b", "c"} {
		b.WriteString(id + ",2024-01-01,purchase,10\n")
		b.WriteString(id + ",2024-02-01,purchase,0\n")
	}
	b.WriteString("d,2024-01-05,purchase,7\n")
	in := filepath.Join(dir, "zero.csv")
	require.NoError(t, os.WriteFile(in, []byte(b.String()), 0o644))
	code, out, stderr := runCLI(t, "clv", "fit", "--input", in, "--model", "gammagamma", "--calibration-end", "2024-06-30")
	assert.Equal(t, jobs.ExitRejected, code, out+stderr)
	assert.Contains(t, stderr, "no repeat buyer with a positive mean repeat spend (3 excluded)")
	assert.Contains(t, stderr, `customer "a"`)
	assert.Contains(t, stderr, in+":2, "+in+":3", "the input lines of customer a")
}
