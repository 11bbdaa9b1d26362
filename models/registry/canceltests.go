package registry

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/churnpipe/churnpipe/models/cancel"
	"github.com/churnpipe/churnpipe/models/metrics"
)

// CancelSnapshot is one test snapshot of a cancel model: the subscribers'
// feature rows (in CancelTests.Features order) and labels (1 = cancelled or
// ended within the horizon).
type CancelSnapshot struct {
	Day string      `json:"day"`
	X   [][]float64 `json:"x"`
	Y   []float64   `json:"y"`
}

// CancelTests are the test snapshots a version's cancel model was judged
// on, newest first (the folds its report lists): what the promotion rule
// scores both cancel models on. Train saves them next to the version
// (SaveCancelTests) so that `models promote` can do the same later.
type CancelTests struct {
	Version     string           `json:"version,omitempty"`
	Features    []string         `json:"features"`
	HorizonDays int              `json:"horizon_days"`
	Snapshots   []CancelSnapshot `json:"snapshots"`
}

const cancelTestsDir = "cancel_tests"

// CancelTestsPath is where SaveCancelTests writes the cancel test rows of a
// version (gzipped JSON).
func (r *Registry) CancelTestsPath(version string) string {
	return filepath.Join(r.dir, cancelTestsDir, version+".json.gz")
}

// SaveCancelTests stores the cancel test rows of a registered version.
func (r *Registry) SaveCancelTests(version string, t *CancelTests) error {
	if !isVersion(version) {
		return fmt.Errorf("%w: %q is not a version", ErrNotFound, version)
	}
	c := *t
	c.Version = version
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if err := json.NewEncoder(zw).Encode(&c); err != nil {
		return fmt.Errorf("registry: cancel test rows of %s: %w", version, err)
	}
	if err := zw.Close(); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(r.dir, cancelTestsDir), 0o755); err != nil {
		return fmt.Errorf("registry: %w", err)
	}
	if err := writeAtomic(r.CancelTestsPath(version), buf.Bytes()); err != nil {
		return fmt.Errorf("registry: write cancel test rows of %s: %w", version, err)
	}
	return nil
}

// LoadCancelTests reads the cancel test rows of a version; an error
// wrapping ErrNotFound when none were saved (a version written before
// churnpipe saved them, or without a cancel model), ErrInvalid when the
// file does not parse.
func (r *Registry) LoadCancelTests(version string) (*CancelTests, error) {
	b, err := os.ReadFile(r.CancelTestsPath(version))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: no saved cancel test rows for %s", ErrNotFound, version)
	}
	if err != nil {
		return nil, fmt.Errorf("registry: %w", err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("%w: cancel test rows of %s: %v", ErrInvalid, version, err)
	}
	var t CancelTests
	if err := json.NewDecoder(zr).Decode(&t); err != nil {
		return nil, fmt.Errorf("%w: cancel test rows of %s: %v", ErrInvalid, version, err)
	}
	if t.Version != version {
		return nil, fmt.Errorf("%w: cancel test rows of %s say version %q", ErrInvalid, version, t.Version)
	}
	for _, s := range t.Snapshots {
		if len(s.X) != len(s.Y) {
			return nil, fmt.Errorf("%w: cancel test rows of %s: snapshot %s has %d rows, %d labels", ErrInvalid, version, s.Day, len(s.X), len(s.Y))
		}
	}
	return &t, nil
}

// CancelModelOf decodes the cancel model of a version; nil when it has none.
func CancelModelOf(a *Artifact) (*cancel.Model, error) {
	if len(a.CancelModel) == 0 {
		return nil, nil
	}
	var cm cancel.Model
	if err := json.Unmarshal(a.CancelModel, &cm); err != nil {
		return nil, fmt.Errorf("%w: %s: cancel model: %v", ErrInvalid, a.Version, err)
	}
	return &cm, nil
}

// fittedWindows are the label windows [T, T+H] that set the ranking of a
// cancel model: the training snapshots of its newest fold (the stored
// model's) for the logistic regression; none for the baselines, whose score
// is a fixed column and whose only fit, Platt scaling on the validation
// snapshot, is a monotone map that leaves the AUC unchanged.
func fittedWindows(m *cancel.Model) [][2]time.Time {
	if m.Kind != cancel.KindLogit {
		return nil
	}
	var w [][2]time.Time
	for _, d := range m.Report.TrainSnapshots {
		t, err := time.Parse(time.DateOnly, d)
		if err != nil {
			continue
		}
		w = append(w, [2]time.Time{t, t.AddDate(0, 0, m.HorizonDays)})
	}
	return w
}

// outOfSample reports whether the label window (day, day+h] of a test
// snapshot overlaps none of the windows.
func outOfSample(day string, h int, windows [][2]time.Time) bool {
	s, err := time.Parse(time.DateOnly, day)
	if err != nil {
		return len(windows) == 0
	}
	e := s.AddDate(0, 0, h)
	for _, w := range windows {
		if s.Before(w[1]) && w[0].Before(e) {
			return false
		}
	}
	return true
}

// scoreOn returns m's mean AUC over the snapshots idx of t and its ECE on
// the newest snapshot t.Snapshots[0] (NaN when idx is empty).
func scoreOn(m *cancel.Model, t *CancelTests, idx []int) *CancelFigures {
	f := &CancelFigures{Kind: m.Kind, MeanAUC: math.NaN(), ECE: math.NaN(), Rescored: true, Rows: t.Version}
	predict := func(s CancelSnapshot) []float64 {
		p := make([]float64, len(s.X))
		for i, x := range s.X {
			p[i] = m.Predict(x)
		}
		return p
	}
	if len(t.Snapshots) > 0 {
		f.ECE = metrics.ECE(t.Snapshots[0].Y, predict(t.Snapshots[0]))
	}
	if len(idx) == 0 {
		return f
	}
	f.MeanAUC = 0
	for _, i := range idx {
		s := t.Snapshots[i]
		f.MeanAUC += metrics.AUC(s.Y, predict(s)) / float64(len(idx))
		f.TestSnapshots = append(f.TestSnapshots, s.Day)
	}
	return f
}

// CompareCancel scores the candidate's and the champion's cancel models on
// the candidate's test rows t (t nil = none saved): the mean AUC over those
// of its test snapshots whose label windows lie outside the windows either
// model's ranking was fitted on (fittedWindows: the oldest test snapshot of
// a three-fold candidate is one of its newest fold's training snapshots),
// and the ECE on the newest (the candidate's own test snapshot). A champion
// on another feature layout cannot be scored: the candidate is judged alone
// (as the buyer rule does); no saved rows, or no test snapshot left, and
// the champion's figures say why they are not comparable.
func CompareCancel(cand, champ *cancel.Model, champVersion string, t *CancelTests) (c, ch *CancelFigures) {
	switch {
	case t == nil:
		return recorded(cand), &CancelFigures{Kind: champ.Kind, MeanAUC: math.NaN(), ECE: math.NaN(),
			Incomparable: "the candidate's cancel test rows cannot be read (not saved by the churnpipe that wrote it, removed or damaged), so champion " + champVersion + "'s cancel model cannot be scored on them"}
	case cand.CheckFeatures(t.Features) != nil:
		return recorded(cand), &CancelFigures{Kind: champ.Kind, MeanAUC: math.NaN(), ECE: math.NaN(),
			Incomparable: "the saved cancel test rows do not match the candidate's cancel model: " + cand.CheckFeatures(t.Features).Error()}
	case champ.CheckFeatures(t.Features) != nil:
		return recorded(cand), &CancelFigures{Kind: champ.Kind, MeanAUC: math.NaN(), ECE: math.NaN(),
			Alone: "champion " + champVersion + "'s cancel model reads other columns and cannot be scored on the candidate's test rows"}
	}
	wc, wch := fittedWindows(cand), fittedWindows(champ)
	var idx []int
	var dropped []string
	for i, s := range t.Snapshots {
		if outOfSample(s.Day, t.HorizonDays, wc) && outOfSample(s.Day, t.HorizonDays, wch) {
			idx = append(idx, i)
		} else {
			dropped = append(dropped, s.Day)
		}
	}
	c, ch = scoreOn(cand, t, idx), scoreOn(champ, t, idx)
	c.Dropped, ch.Dropped = dropped, dropped
	if len(idx) == 0 {
		days := make([]string, len(t.Snapshots))
		for i, s := range t.Snapshots {
			days[i] = s.Day
		}
		ch.Incomparable = fmt.Sprintf("every test snapshot of the candidate's cancel model (%s) lies in a training window of one of the two cancel models", strings.Join(days, ", "))
	}
	return c, ch
}

// recorded are the figures a cancel model's report recorded for its kind:
// the mean test AUC over its own test snapshots and the ECE on the newest.
func recorded(m *cancel.Model) *CancelFigures {
	f := &CancelFigures{Kind: m.Kind, MeanAUC: math.NaN(), ECE: math.NaN(), TestSnapshots: slices.Clone(m.Report.TestSnapshots)}
	if c := m.Report.Candidate(m.Kind); c != nil {
		f.MeanAUC = c.AUC
		f.ECE = c.ECE
		if len(c.Folds) > 0 {
			f.ECE = c.Folds[0].ECE
		}
	}
	return f
}
