package registry

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/churnpipe/churnpipe/models/calibrate"
	"github.com/churnpipe/churnpipe/models/logit"
)

var (
	names = []string{"age", "spend"}
	types = []string{"int64", "float64"}
)

func TestSchemaHash(t *testing.T) {
	// Reference: printf '3:age5:int64;5:spend7:float64;' | sha256sum
	assert.Equal(t, "247d149cd9062a5eafa1f9e9caa31b2c51b7003217057e745b9464b0f7b6b195", SchemaHash(names, types))
	h := SchemaHash(names, types)
	assert.NotEqual(t, h, SchemaHash([]string{"spend", "age"}, []string{"float64", "int64"}), "order matters")
	assert.NotEqual(t, h, SchemaHash(names, []string{"int64", "int64"}), "types matter")
	assert.NotEqual(t, SchemaHash([]string{"ab", "c"}, []string{"x", "x"}), SchemaHash([]string{"a", "bc"}, []string{"x", "x"}), "no concatenation ambiguity")
	assert.Panics(t, func() { SchemaHash(names, types[:1]) })
}

// fitted returns a small fitted logit model and isotonic calibrator as an artifact.
func fitted(t *testing.T, m Metrics) (*Artifact, *logit.Model, calibrate.Calibrator) {
	X := [][]float64{{20, 100}, {35, 5}, {50, 300}, {23, 0}, {41, 60}, {60, 10}, {28, 250}, {33, 40}}
	y := []float64{0, 1, 0, 1, 0, 1, 0, 1}
	lm, err := logit.FitRows(X, y, nil, logit.Options{L2: 0.1, Names: names})
	require.NoError(t, err)
	scores := make([]float64, len(y))
	for i := range X {
		scores[i] = lm.Predict(X[i])
	}
	cal, err := calibrate.Fit(calibrate.MethodIsotonic, scores, y)
	require.NoError(t, err)
	mb, err := json.Marshal(lm)
	require.NoError(t, err)
	cb, err := calibrate.Marshal(cal)
	require.NoError(t, err)
	return &Artifact{
		Kind: KindLogit, Model: mb, Calibrator: cb,
		FeatureNames: names, FeatureTypes: types, SchemaHash: SchemaHash(names, types),
		TrainWindow: Window{From: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)},
		Metrics:     m,
	}, lm, cal
}

func TestRegisterLoadRoundTrip(t *testing.T) {
	r, err := Open(t.TempDir())
	require.NoError(t, err)
	fixed := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	r.Now = func() time.Time { return fixed }
	a, lm, cal := fitted(t, Metrics{TestSnapshot: "2026-06-30", AUC: 0.8, ECE: 0.02})
	v, err := r.Register(a)
	require.NoError(t, err)
	assert.Equal(t, "v000001", v)
	v2, err := r.Register(&Artifact{Kind: KindGBT, Model: json.RawMessage(`{"trees":[]}`), FeatureNames: names, FeatureTypes: types, SchemaHash: SchemaHash(names, types)})
	require.NoError(t, err)
	assert.Equal(t, "v000002", v2)

	list, err := r.List()
	require.NoError(t, err)
	require.Len(t, list, 2)
	assert.Equal(t, "v000001", list[0].Version)
	assert.Equal(t, KindGBT, list[1].Kind)
	assert.Equal(t, 0.8, list[0].Metrics.AUC)
	assert.Equal(t, fixed, list[0].CreatedAt)
	assert.Len(t, list[0].SHA256, 64)
	assert.Equal(t, a.TrainWindow, list[0].TrainWindow)

	got, err := r.Load(v)
	require.NoError(t, err)
	assert.Equal(t, v, got.Version)
	var lm2 logit.Model
	require.NoError(t, json.Unmarshal(got.Model, &lm2))
	cal2, err := calibrate.Unmarshal(got.Calibrator)
	require.NoError(t, err)
	x := []float64{30, 80}
	assert.Equal(t, cal.Apply(lm.Predict(x)), cal2.Apply(lm2.Predict(x)))

	_, err = r.Load("v000009")
	assert.ErrorIs(t, err, ErrNotFound)
	_, err = r.Load(Champion)
	assert.ErrorIs(t, err, ErrNotFound)

	// Reopening the directory sees the same registry.
	r2, err := Open(r.Dir())
	require.NoError(t, err)
	list2, err := r2.List()
	require.NoError(t, err)
	assert.Equal(t, list, list2)
}

func TestLoadDetectsTampering(t *testing.T) {
	r, err := Open(t.TempDir())
	require.NoError(t, err)
	a, _, _ := fitted(t, Metrics{AUC: 0.7})
	v, err := r.Register(a)
	require.NoError(t, err)
	name := filepath.Join(r.Dir(), "versions", v+".json")
	b, err := os.ReadFile(name)
	require.NoError(t, err)
	// Change one coefficient digit: still valid JSON, different bytes.
	i := strings.Index(string(b), `"intercept": `) + len(`"intercept": `)
	b[i+3] ^= 1
	require.NoError(t, os.WriteFile(name, b, 0o644))
	_, err = r.Load(v)
	require.Error(t, err)
	assert.ErrorIs(t, err, ErrChecksum)
	assert.Contains(t, err.Error(), "manifest says")
}

func TestLoadForSchemaMismatch(t *testing.T) {
	r, err := Open(t.TempDir())
	require.NoError(t, err)
	a, _, _ := fitted(t, Metrics{AUC: 0.7})
	v, err := r.Register(a)
	require.NoError(t, err)
	_, err = r.LoadFor(v, SchemaHash(names, types))
	require.NoError(t, err)
	_, err = r.LoadFor(v, SchemaHash(append(names, "tenure"), append(types, "int64")))
	assert.ErrorIs(t, err, ErrSchemaMismatch)
}

func TestRegisterRejectsInvalid(t *testing.T) {
	r, err := Open(t.TempDir())
	require.NoError(t, err)
	ok := func() *Artifact { a, _, _ := fitted(t, Metrics{AUC: 0.7}); return a }
	cases := []struct {
		name string
		mod  func(a *Artifact)
	}{
		{"kind", func(a *Artifact) { a.Kind = "svm" }},
		{"model json", func(a *Artifact) { a.Model = json.RawMessage(`{`) }},
		{"empty model", func(a *Artifact) { a.Model = nil }},
		{"schema hash", func(a *Artifact) { a.SchemaHash = SchemaHash([]string{"x"}, []string{"y"}) }},
		{"types", func(a *Artifact) { a.FeatureTypes = types[:1] }},
		{"NaN metric", func(a *Artifact) { a.Metrics.ECE = math.NaN() }},
	}
	for _, c := range cases {
		a := ok()
		c.mod(a)
		_, err := r.Register(a)
		assert.ErrorIs(t, err, ErrInvalid, c.name)
	}
	list, err := r.List()
	require.NoError(t, err)
	assert.Empty(t, list)
}

func TestAliasesAndHistory(t *testing.T) {
	dir := t.TempDir()
	r, err := Open(dir)
	require.NoError(t, err)
	a, _, _ := fitted(t, Metrics{AUC: 0.7})
	v1, err := r.Register(a)
	require.NoError(t, err)
	b, _, _ := fitted(t, Metrics{AUC: 0.71})
	v2, err := r.Register(b)
	require.NoError(t, err)

	require.NoError(t, r.SetAlias(Champion, v1, "first model", false))
	require.NoError(t, r.SetAlias(Challenger, v2, "shadow", false))
	require.NoError(t, r.SetAlias(Champion, v2, "manual override", true))
	got, err := r.Load(Champion)
	require.NoError(t, err)
	assert.Equal(t, v2, got.Version)

	require.NoError(t, r.SetAlias(Challenger, "", "retired", false))
	_, err = r.Load(Challenger)
	assert.ErrorIs(t, err, ErrNotFound)

	aliases, hist, err := r.Aliases()
	require.NoError(t, err)
	assert.Equal(t, map[string]string{Champion: v2}, aliases)
	require.Len(t, hist, 4)
	assert.Equal(t, AliasEvent{Alias: Champion, Version: v2, Previous: v1, Reason: "manual override", Forced: true, At: hist[2].At}, hist[2])
	assert.Equal(t, "", hist[3].Version)
	assert.Equal(t, v2, hist[3].Previous)

	assert.ErrorIs(t, r.SetAlias("Champion!", v1, "", false), ErrAlias)
	assert.ErrorIs(t, r.SetAlias("v12", v1, "", false), ErrAlias)
	assert.ErrorIs(t, r.SetAlias(Champion, "v000042", "", false), ErrNotFound)

	// Atomic writes leave no temporary files behind.
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range entries {
		assert.False(t, strings.HasPrefix(e.Name(), "."), "leftover %s", e.Name())
	}
	// aliases.json is plain JSON another tool can read.
	raw, err := os.ReadFile(filepath.Join(dir, "aliases.json"))
	require.NoError(t, err)
	var af struct {
		Aliases map[string]string `json:"aliases"`
	}
	require.NoError(t, json.Unmarshal(raw, &af))
	assert.Equal(t, v2, af.Aliases[Champion])
}

func TestPromoteRule(t *testing.T) {
	champ := Metrics{TestSnapshot: "s1", AUC: 0.80, ECE: 0.02}
	cases := []struct {
		name     string
		cand     Metrics
		champ    Metrics
		force    bool
		promote  bool
		forced   bool
		reasonIn string
	}{
		{"better", Metrics{TestSnapshot: "s1", AUC: 0.81, ECE: 0.03}, champ, false, true, false, "vs champion"},
		{"drop within 0.005", Metrics{TestSnapshot: "s1", AUC: 0.796, ECE: 0.03}, champ, false, true, false, "vs champion"},
		{"drop exactly 0.005", Metrics{TestSnapshot: "s1", AUC: 0.795, ECE: 0.03}, champ, false, true, false, "vs champion"},
		{"drop 0.006", Metrics{TestSnapshot: "s1", AUC: 0.794, ECE: 0.03}, champ, false, false, false, "AUC"},
		{"ECE too high", Metrics{TestSnapshot: "s1", AUC: 0.9, ECE: 0.051}, champ, false, false, false, "ECE"},
		{"ECE at bound", Metrics{TestSnapshot: "s1", AUC: 0.9, ECE: 0.05}, champ, false, true, false, "vs champion"},
		{"other snapshot", Metrics{TestSnapshot: "s2", AUC: 0.9, ECE: 0.01}, champ, false, false, false, "different test snapshots"},
		{"no champion", Metrics{TestSnapshot: "s2", AUC: 0.6, ECE: 0.01}, Metrics{}, false, true, false, "no champion"},
		{"no champion, bad ECE", Metrics{AUC: 0.6, ECE: 0.2}, Metrics{}, false, false, false, "ECE"},
		{"NaN AUC", Metrics{TestSnapshot: "s1", AUC: math.NaN(), ECE: 0.01}, champ, false, false, false, "not finite"},
		{"forced worse", Metrics{TestSnapshot: "s1", AUC: 0.7, ECE: 0.02}, champ, true, true, true, "forced despite"},
		{"force not needed", Metrics{TestSnapshot: "s1", AUC: 0.85, ECE: 0.02}, champ, true, true, false, "vs champion"},
	}
	for _, c := range cases {
		d := Promote(c.cand, c.champ, DefaultRule, c.force)
		assert.Equal(t, c.promote, d.Promote, c.name)
		assert.Equal(t, c.forced, d.Forced, c.name)
		assert.Contains(t, d.Reason, c.reasonIn, c.name)
	}
}

func TestRegistryPromote(t *testing.T) {
	r, err := Open(t.TempDir())
	require.NoError(t, err)
	reg := func(m Metrics) string {
		a, _, _ := fitted(t, m)
		v, err := r.Register(a)
		require.NoError(t, err)
		return v
	}
	v1 := reg(Metrics{TestSnapshot: "s1", AUC: 0.80, ECE: 0.02})
	v2 := reg(Metrics{TestSnapshot: "s1", AUC: 0.78, ECE: 0.02})

	d, err := r.Promote(v1, "initial", DefaultRule, false)
	require.NoError(t, err)
	assert.True(t, d.Promote)
	d, err = r.Promote(v2, "weekly retrain", DefaultRule, false)
	require.NoError(t, err)
	assert.False(t, d.Promote)
	a, err := r.Load(Champion)
	require.NoError(t, err)
	assert.Equal(t, v1, a.Version, "refused candidate leaves the champion")

	require.NoError(t, r.SetAlias(Challenger, v2, "shadow", false))
	d, err = r.Promote(Challenger, "business override", DefaultRule, true)
	require.NoError(t, err)
	assert.True(t, d.Forced)
	_, hist, err := r.Aliases()
	require.NoError(t, err)
	last := hist[len(hist)-1]
	assert.Equal(t, Champion, last.Alias)
	assert.Equal(t, v2, last.Version)
	assert.Equal(t, v1, last.Previous)
	assert.True(t, last.Forced)
	assert.True(t, strings.HasPrefix(last.Reason, "business override; forced despite"))

	_, err = r.Promote("v000077", "", DefaultRule, false)
	assert.ErrorIs(t, err, ErrNotFound)
}

// TestPromoteRefusesCorruptArtifact (issue 14 item 11): a version whose
// artifact no longer matches its checksum is not promoted, even forced, and
// the champion stays; before, promote said true and the next night failed
// to load its champion.
func TestPromoteRefusesCorruptArtifact(t *testing.T) {
	r, err := Open(t.TempDir())
	require.NoError(t, err)
	a1, _, _ := fitted(t, Metrics{TestSnapshot: "s1", AUC: 0.70, ECE: 0.02})
	v1, err := r.Register(a1)
	require.NoError(t, err)
	_, err = r.Promote(v1, "", DefaultRule, false)
	require.NoError(t, err)
	a2, _, _ := fitted(t, Metrics{TestSnapshot: "s1", AUC: 0.90, ECE: 0.01})
	v2, err := r.Register(a2)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(r.Dir(), "versions", v2+".json"), []byte("garbage{"), 0o644))
	for _, force := range []bool{false, true} {
		d, err := r.Promote(v2, "", DefaultRule, force)
		assert.ErrorIs(t, err, ErrChecksum)
		assert.False(t, d.Promote)
	}
	a, err := r.Load(Champion)
	require.NoError(t, err)
	assert.Equal(t, v1, a.Version)
}
