package churnreport_test

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/churnpipe/churnpipe/models/churn/churnreport"
)

var docsDir = flag.String("docs", "", "render the realistic synthetic report into this folder (TestDocsReport)")

// decodePNG decodes a written figure.
func decodePNG(t *testing.T, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	img, err := png.Decode(f)
	require.NoError(t, err, path)
	return img
}

// inkShare returns the share of pixels that are not near-white, and the
// number of distinct colours among them (capped at 1000).
func inkShare(img image.Image) (share float64, colours int) {
	b := img.Bounds()
	seen := map[color.RGBA]bool{}
	var ink int
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			if r < 0xF000 || g < 0xF000 || bl < 0xF000 {
				ink++
				if len(seen) < 1000 {
					seen[color.RGBA{uint8(r >> 8), uint8(g >> 8), uint8(bl >> 8), 255}] = true
				}
			}
		}
	}
	return float64(ink) / float64(b.Dx()*b.Dy()), len(seen)
}

func TestWrite(t *testing.T) {
	in := synthInput(1, 4000)
	in.Metrics["custom_metric_x"] = 0.125 // unknown metrics are listed too
	dir := t.TempDir()
	rep, err := churnreport.Write(dir, in)
	require.NoError(t, err)
	assert.Equal(t, dir, rep.Dir)
	want := []string{churnreport.FileIndex, churnreport.FileROC, churnreport.FilePR, churnreport.FileGains,
		churnreport.FileCalibration, churnreport.FileImportance, churnreport.FileConfusion, churnreport.FileHistogram}
	assert.Equal(t, want, rep.Files)

	page, err := os.ReadFile(filepath.Join(dir, churnreport.FileIndex))
	require.NoError(t, err)
	html := string(page)
	for _, f := range rep.Files[1:] {
		img := decodePNG(t, filepath.Join(dir, f))
		b := img.Bounds()
		assert.True(t, b.Dx() >= 900 && b.Dx() <= 1500, "%s width %d", f, b.Dx())
		assert.True(t, b.Dy() >= 400 && b.Dy() <= 1200, "%s height %d", f, b.Dy())
		// A figure with axes, text and data has a few per cent of ink in
		// anti-aliased shades; a blank or solid image does not.
		share, colours := inkShare(img)
		assert.True(t, share > 0.01 && share < 0.6, "%s ink share %.3f", f, share)
		assert.Greater(t, colours, 50, "%s colours", f)
		assert.Contains(t, html, `src="`+f+`"`, "index.html must show %s", f)
	}
	assert.Contains(t, html, "v0042-gbt-20240630")
	assert.Contains(t, html, "2024-06-30")
	for _, key := range []string{"auc", "pr_auc", "brier", "log_loss", "ece", "lift_top10", "stage_accuracy", "custom_metric_x"} {
		v := strconv.FormatFloat(in.Metrics[key], 'f', 4, 64)
		assert.Contains(t, html, "<code>"+key+"</code></td><td class=\"num\">"+v+"<", "metric %s = %s", key, v)
	}
	assert.Contains(t, html, "<code>test_customers</code></td><td class=\"num\">4,000<")
	assert.Contains(t, html, "<td>ECE<br><code>ece</code>")
	assert.Contains(t, html, "Average gap between predicted and observed churn rate, 10 equal-width bins")
	assert.NotContains(t, html, "http://")
	assert.NotContains(t, html, "https://")
	assert.NotContains(t, html, "<script")

	// No temporary files are left behind.
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, ents, len(want))
}

func TestWriteOptionalFigures(t *testing.T) {
	in := synthInput(2, 1500)
	in.Importance = nil
	in.Stage, in.StageHat = nil, nil
	in.Baselines = nil
	in.Metrics = nil
	dir := t.TempDir()
	rep, err := churnreport.Write(dir, in)
	require.NoError(t, err)
	assert.Equal(t, []string{churnreport.FileIndex, churnreport.FileROC, churnreport.FilePR, churnreport.FileGains,
		churnreport.FileCalibration, churnreport.FileHistogram}, rep.Files)
	page, err := os.ReadFile(filepath.Join(dir, churnreport.FileIndex))
	require.NoError(t, err)
	for _, f := range []string{churnreport.FileImportance, churnreport.FileConfusion} {
		assert.NotContains(t, string(page), f)
		assert.NoFileExists(t, filepath.Join(dir, f))
	}
	assert.Contains(t, string(page), "No metrics were supplied")
}

func TestWriteStageCodesDefault(t *testing.T) {
	// Without StageCodes the classes are named by index: 0…max label.
	in := synthInput(3, 800)
	in.StageCodes = nil
	in.Importance, in.Features = nil, nil
	rep, err := churnreport.Write(t.TempDir(), in)
	require.NoError(t, err)
	assert.Contains(t, rep.Files, churnreport.FileConfusion)
}

func TestWriteDegenerate(t *testing.T) {
	// Valid but extreme inputs still render every figure: a constant
	// score (one ROC threshold), a constant baseline, all-zero importance,
	// a single stage class and a single feature.
	n := 50
	in := churnreport.Input{Y: make([]float64, n), P: make([]float64, n),
		Baselines: map[string][]float64{"flat": make([]float64, n)},
		Stage:     make([]int, n), StageHat: make([]int, n), StageCodes: []string{"mature"},
		Features: []string{"only"}, Importance: []float64{0},
		Metrics: map[string]float64{"auc": math.NaN()}}
	for i := range in.P {
		in.P[i] = 0.5
		if i%5 == 0 {
			in.Y[i] = 1
		}
	}
	dir := t.TempDir()
	rep, err := churnreport.Write(dir, in)
	require.NoError(t, err)
	assert.Len(t, rep.Files, 8)
	for _, f := range rep.Files[1:] {
		decodePNG(t, filepath.Join(dir, f))
	}
	page, err := os.ReadFile(filepath.Join(dir, churnreport.FileIndex))
	require.NoError(t, err)
	assert.Contains(t, string(page), `<code>auc</code></td><td class="num">n/a<`)
}

func TestWriteDeterministic(t *testing.T) {
	in := synthInput(4, 1200)
	a, b := t.TempDir(), t.TempDir()
	ra, err := churnreport.Write(a, in)
	require.NoError(t, err)
	_, err = churnreport.Write(b, in)
	require.NoError(t, err)
	for _, f := range ra.Files {
		x, err := os.ReadFile(filepath.Join(a, f))
		require.NoError(t, err)
		y, err := os.ReadFile(filepath.Join(b, f))
		require.NoError(t, err)
		assert.True(t, bytes.Equal(x, y), "%s differs between two renders", f)
	}
}

func TestWriteErrors(t *testing.T) {
	base := func() churnreport.Input {
		return churnreport.Input{
			Y: []float64{0, 1, 0, 1}, P: []float64{0.1, 0.8, 0.3, 0.6},
			Baselines: map[string][]float64{"recency": {3, 40, 10, 25}},
			Stage:     []int{0, 1, 1, 0}, StageHat: []int{0, 1, 0, 0}, StageCodes: []string{"a", "b"},
			Features: []string{"f1", "f2"}, Importance: []float64{0.7, 0.3},
		}
	}
	cases := []struct {
		name string
		edit func(*churnreport.Input)
		want error
	}{
		{"P shorter than Y", func(in *churnreport.Input) { in.P = in.P[:3] }, churnreport.ErrLength},
		{"baseline too long", func(in *churnreport.Input) { in.Baselines["recency"] = append(in.Baselines["recency"], 1) }, churnreport.ErrLength},
		{"stage without prediction", func(in *churnreport.Input) { in.StageHat = nil }, churnreport.ErrLength},
		{"stage shorter than Y", func(in *churnreport.Input) { in.Stage, in.StageHat = in.Stage[:2], in.StageHat[:2] }, churnreport.ErrLength},
		{"importance without names", func(in *churnreport.Input) { in.Features = in.Features[:1] }, churnreport.ErrLength},
		{"no rows", func(in *churnreport.Input) {
			*in = churnreport.Input{Y: []float64{}, P: []float64{}}
		}, churnreport.ErrInput},
		{"label 2", func(in *churnreport.Input) { in.Y[0] = 2 }, churnreport.ErrInput},
		{"probability above 1", func(in *churnreport.Input) { in.P[1] = 1.2 }, churnreport.ErrInput},
		{"NaN probability", func(in *churnreport.Input) { in.P[2] = nan() }, churnreport.ErrInput},
		{"single class", func(in *churnreport.Input) { in.Y = []float64{1, 1, 1, 1} }, churnreport.ErrInput},
		{"NaN baseline", func(in *churnreport.Input) { in.Baselines["recency"][0] = nan() }, churnreport.ErrInput},
		{"Inf importance", func(in *churnreport.Input) { in.Importance[1] = inf() }, churnreport.ErrInput},
		{"stage outside codes", func(in *churnreport.Input) { in.StageHat[3] = 2 }, churnreport.ErrInput},
		{"negative stage", func(in *churnreport.Input) { in.Stage[3] = -1 }, churnreport.ErrInput},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := base()
			c.edit(&in)
			dir := filepath.Join(t.TempDir(), "out")
			_, err := churnreport.Write(dir, in)
			require.Error(t, err)
			assert.True(t, errors.Is(err, c.want), "got %v, want %v", err, c.want)
			assert.NoDirExists(t, dir, "nothing is written for invalid input")
		})
	}
	// The base case itself is valid: the failures above come from the edits.
	_, err := churnreport.Write(t.TempDir(), base())
	require.NoError(t, err)
}

func nan() float64 { return math.NaN() }
func inf() float64 { return math.Inf(1) }

// TestDocsReport renders the realistic synthetic report for the README:
//
//	go test ./models/churn/churnreport -run TestDocsReport -docs "$PWD/docs/img/churn-report"
func TestDocsReport(t *testing.T) {
	if *docsDir == "" {
		t.Skip("set -docs DIR to render the documentation report")
	}
	rep, err := churnreport.Write(*docsDir, synthInput(20240630, 20000))
	require.NoError(t, err)
	var total int64
	for _, f := range rep.Files {
		st, err := os.Stat(filepath.Join(rep.Dir, f))
		require.NoError(t, err)
		total += st.Size()
		t.Logf("%-20s %7d bytes", f, st.Size())
	}
	t.Logf("total %d bytes", total)
}

func BenchmarkWrite20k(b *testing.B) {
	in := synthInput(5, 20000)
	dir := b.TempDir()
	for b.Loop() {
		if _, err := churnreport.Write(dir, in); err != nil {
			b.Fatal(err)
		}
	}
}

func ExampleWrite() {
	in := synthInput(7, 2000)
	dir, err := os.MkdirTemp("", "churnreport")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	rep, err := churnreport.Write(dir, in)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(strings.Join(rep.Files, "\n"))

	in.P = in.P[:10]
	_, err = churnreport.Write(dir, in)
	fmt.Println(errors.Is(err, churnreport.ErrLength), err)
	// Output:
	// index.html
	// roc.png
	// pr.png
	// gains.png
	// calibration.png
	// importance.png
	// stage_confusion.png
	// score_histogram.png
	// true churnreport: length mismatch: len(Y) = 2000, len(P) = 10
}
