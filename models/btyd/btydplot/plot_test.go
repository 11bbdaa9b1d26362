package btydplot

import (
	"bytes"
	"encoding/json"
	"errors"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/churnpipe/churnpipe/models/btyd"
	"github.com/churnpipe/churnpipe/models/btyd/internal/cdnow"
)

func loadCDNOW(t *testing.T) (*cdnow.Set, Tracking, Holdout) {
	t.Helper()
	set, err := cdnow.Load()
	if errors.Is(err, cdnow.ErrNoData) {
		t.Skipf("CDNOW data not available (want ../shared/data/cdnow next to the repo root): %v", err)
	}
	require.NoError(t, err)
	tr := Tracking{RepeatTimes: set.RepeatTimes, CalibrationEnd: set.CalibrationEnd, HoldoutEnd: set.HoldoutEnd}
	h := Holdout{HoldoutLength: set.HoldoutEnd - set.CalibrationEnd}
	for _, c := range set.Customers {
		tr.Birth = append(tr.Birth, c.Birth)
		h.X = append(h.X, c.X)
		h.Tx = append(h.Tx, c.Tx)
		h.T = append(h.T, c.T)
		h.HoldoutCount = append(h.HoldoutCount, c.Holdout)
	}
	return set, tr, h
}

// The three plots are valid PNGs of a sane size and report.json holds the
// numbers; the actual totals are the CDNOW README's (2,457 calibration and
// 1,882 holdout repeat transactions, 4,339 in all).
func TestWriteCDNOW(t *testing.T) {
	_, tr, h := loadCDNOW(t)
	m := btyd.BGNBD{R: 0.2425945, Alpha: 4.4136019, A: 0.7929199, B: 2.4258881}
	dir := t.TempDir()
	rep, err := WriteOptions(dir, m, tr, h, Options{Unit: btyd.Week, Title: "CDNOW"})
	require.NoError(t, err)
	assert.Equal(t, []string{TrackingFile, ConditionalFile, HeatMapFile, ReportFile}, rep.Files)
	for _, f := range []string{TrackingFile, ConditionalFile, HeatMapFile} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		require.NoError(t, err)
		img, err := png.Decode(bytes.NewReader(b))
		require.NoError(t, err, f)
		sz := img.Bounds().Size()
		assert.GreaterOrEqual(t, sz.X, 600, f)
		assert.GreaterOrEqual(t, sz.Y, 400, f)
		assert.LessOrEqual(t, sz.X, 2000, f)
		assert.Greater(t, len(b), 20_000, "%s looks empty", f)
	}
	var back Report
	b, err := os.ReadFile(filepath.Join(dir, ReportFile))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, "bgnbd", back.Model)

	// Tracking: cumulative actual at the end of calibration and of holdout.
	tk := rep.Tracking
	require.Len(t, tk.Time, 78)
	assert.InDelta(t, 77.857, tk.Time[len(tk.Time)-1], 1e-3)
	assert.Equal(t, 4339.0, tk.Actual[len(tk.Actual)-1])
	assert.Equal(t, 2457.0, tk.Actual[37]+countBetween(tr.RepeatTimes, 38, tr.CalibrationEnd))
	// FHL 2005 fig. 2: the model tracks the cohort; expected within 5 % at
	// the end of calibration.
	assert.InEpsilon(t, 2457, interp(tk.Time, tk.Expected, tr.CalibrationEnd), 0.05)

	// Conditional expectations: bins 0..7+, all customers counted, and the
	// bin means of actual holdout counts are those of the data.
	c := rep.Conditional
	assert.Equal(t, []string{"0", "1", "2", "3", "4", "5", "6", "7+"}, c.Bins)
	sum := 0
	var tot float64
	for i, n := range c.Customers {
		sum += n
		tot += c.Actual[i] * float64(n)
	}
	assert.Equal(t, 2357, sum)
	assert.InDelta(t, 1882, tot, 1e-6)
	assert.Equal(t, 1411, c.Customers[0], "2,357 customers - 946 repeat buyers (README) = 1,411 with x = 0")

	// Heat map: P(alive) in [0,1], x = 0 column is 1 for BG/NBD, and P
	// increases with recency for a repeat buyer.
	pa := rep.PAlive
	assert.InDelta(t, 38.857, pa.T, 1e-3)
	for i := range pa.P {
		assert.Equal(t, 1.0, pa.P[i][0])
		for _, v := range pa.P[i] {
			assert.True(t, v >= 0 && v <= 1)
		}
	}
	assert.Less(t, pa.P[0][5], pa.P[len(pa.P)-1][5])
}

func countBetween(ts []float64, lo, hi float64) float64 {
	n := 0.0
	for _, t := range ts {
		if t > lo && t <= hi {
			n++
		}
	}
	return n
}

func interp(xs, ys []float64, x float64) float64 {
	for i := 1; i < len(xs); i++ {
		if xs[i] >= x {
			w := (x - xs[i-1]) / (xs[i] - xs[i-1])
			return ys[i-1] + w*(ys[i]-ys[i-1])
		}
	}
	return ys[len(ys)-1]
}

func TestWriteRejectsBadInput(t *testing.T) {
	m := btyd.BGNBD{R: 1, Alpha: 1, A: 1, B: 1}
	tr := Tracking{Birth: []float64{0}, CalibrationEnd: 1, HoldoutEnd: 2}
	h := Holdout{X: []float64{0}, Tx: []float64{0}, T: []float64{1}, HoldoutCount: []float64{0}, HoldoutLength: 1}
	_, err := Write(t.TempDir(), m, tr, Holdout{X: []float64{1}, HoldoutLength: 1})
	assert.ErrorIs(t, err, btyd.ErrInvalidInput)
	bad := h
	bad.HoldoutLength = 0
	_, err = Write(t.TempDir(), m, tr, bad)
	assert.ErrorIs(t, err, btyd.ErrInvalidInput)
	badTr := tr
	badTr.HoldoutEnd = 0.5
	_, err = Write(t.TempDir(), m, badTr, h)
	assert.ErrorIs(t, err, btyd.ErrInvalidInput)
	_, err = Write(filepath.Join(t.TempDir(), "missing"), m, tr, h)
	assert.Error(t, err)
}

// TestRenderDocs renders the CDNOW plots into docs/img/btyd when
// BTYD_WRITE_DOCS=1 (go test ./models/btyd/btydplot -run RenderDocs).
func TestRenderDocs(t *testing.T) {
	if os.Getenv("BTYD_WRITE_DOCS") != "1" {
		t.Skip("set BTYD_WRITE_DOCS=1 to render docs/img")
	}
	set, tr, h := loadCDNOW(t)
	_ = set
	x, tx, T := set.Columns()
	m, _, err := btyd.FitBGNBD(btyd.Data{X: x, Tx: tx, T: T}, btyd.FitOptions{})
	require.NoError(t, err)
	dir := filepath.Join("..", "..", "..", "docs", "img", "btyd")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	_, err = WriteOptions(dir, m, tr, h, Options{Unit: btyd.Week, Title: "CDNOW"})
	require.NoError(t, err)
}
