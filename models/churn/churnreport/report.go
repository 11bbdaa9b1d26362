package churnreport

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
)

// Errors returned by Write, wrapped with details; test with errors.Is.
var (
	// ErrLength reports slices that must have the same length but do not
	// (Y and P, a baseline and Y, Stage and StageHat and Y, Features and
	// Importance).
	ErrLength = errors.New("churnreport: length mismatch")
	// ErrInput reports an input the report cannot be drawn from: no rows,
	// a single class, a label that is not 0 or 1, a probability outside
	// [0, 1], a NaN or infinite score, or a stage outside the class codes.
	ErrInput = errors.New("churnreport: invalid input")
)

// File names written by Write.
const (
	FileIndex       = "index.html"
	FileROC         = "roc.png"
	FilePR          = "pr.png"
	FileGains       = "gains.png"
	FileCalibration = "calibration.png"
	FileImportance  = "importance.png"
	FileConfusion   = "stage_confusion.png"
	FileHistogram   = "score_histogram.png"
)

// TopFeatures is the number of features shown in importance.png.
const TopFeatures = 20

// CalibrationBins is the number of equal-width bins of the reliability
// diagram (the same 10 bins as metrics.ECE).
const CalibrationBins = 10

// Input is what the report is drawn from: the test-snapshot labels and
// scores of one model version.
type Input struct {
	ModelVersion, ModelKind, TestSnapshot string
	// HorizonDays is the churn horizon h: label 1 means no purchase in
	// (snapshot, snapshot+h]. Zero leaves it out of the page.
	HorizonDays int
	// Y is the churn label (1 = churned, 0 = retained) and P the calibrated
	// churn probability in [0, 1], one per test customer.
	Y, P []float64
	// Baselines are other churn scores on the same rows as Y, for the ROC,
	// PR and gains overlays; a higher score must mean a higher risk. Drawn
	// in the order of their names.
	Baselines map[string][]float64
	// Stage and StageHat are the true and predicted stage class indices
	// (0 ≤ class < len(StageCodes)) on the same rows as Y; both nil to skip
	// the confusion matrix.
	Stage, StageHat []int
	// StageCodes are the class names; when empty the classes are named by
	// their index and their number is the largest index plus one.
	StageCodes []string
	// Features are the model's feature names; Importance has one value per
	// feature (nil to skip the importance plot).
	Features   []string
	Importance []float64
	// Metrics are shown in the metrics table: known names (auc, pr_auc,
	// brier, log_loss, ece, lift_top10, stage_accuracy, …) first in a fixed
	// order with an explanation, others after them by name. NaN shows as n/a.
	Metrics map[string]float64
	// Verdict is the training run's comparison with the baselines over all
	// its test snapshots, in words; LosesToBaseline marks a candidate that
	// lost (the page then says so at the top).
	Verdict         string
	LosesToBaseline bool
}

// Report lists what Write produced: Files are names relative to Dir,
// index.html first, then the figures in page order.
type Report struct {
	Dir   string
	Files []string
}

// Write validates in and writes the report into dir (created if needed).
// It returns an error wrapping ErrLength or ErrInput for inconsistent or
// invalid input, before writing anything, and the I/O or drawing error
// otherwise. It does not panic.
func Write(dir string, in Input) (Report, error) {
	if err := validate(&in); err != nil {
		return Report{}, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Report{}, fmt.Errorf("churnreport: %w", err)
	}
	d := newData(in)
	rep := Report{Dir: dir, Files: []string{FileIndex}}
	var figs []figure
	for _, f := range d.figures() {
		if err := writeFileAtomic(filepath.Join(dir, f.file), guard(f.render)); err != nil {
			return Report{}, fmt.Errorf("churnreport: %s: %w", f.file, err)
		}
		rep.Files = append(rep.Files, f.file)
		figs = append(figs, f)
	}
	if err := writeFileAtomic(filepath.Join(dir, FileIndex), func(w *os.File) error {
		return writeHTML(w, d, figs)
	}); err != nil {
		return Report{}, fmt.Errorf("churnreport: %s: %w", FileIndex, err)
	}
	return rep, nil
}

// validate checks lengths and values of in and fills the stage codes when
// they are empty.
func validate(in *Input) error {
	n := len(in.Y)
	if len(in.P) != n {
		return fmt.Errorf("%w: len(Y) = %d, len(P) = %d", ErrLength, n, len(in.P))
	}
	if n == 0 {
		return fmt.Errorf("%w: no rows", ErrInput)
	}
	var pos int
	for i, y := range in.Y {
		switch y {
		case 1:
			pos++
		case 0:
		default:
			return fmt.Errorf("%w: Y[%d] = %v, want 0 or 1", ErrInput, i, y)
		}
		if p := in.P[i]; !(p >= 0 && p <= 1) {
			return fmt.Errorf("%w: P[%d] = %v, want a probability in [0, 1]", ErrInput, i, p)
		}
	}
	if pos == 0 || pos == n {
		return fmt.Errorf("%w: %d churners among %d rows; the report needs both classes", ErrInput, pos, n)
	}
	for _, name := range sortedKeys(in.Baselines) {
		s := in.Baselines[name]
		if len(s) != n {
			return fmt.Errorf("%w: baseline %q has %d scores for %d rows", ErrLength, name, len(s), n)
		}
		for i, v := range s {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("%w: baseline %q score %d is %v", ErrInput, name, i, v)
			}
		}
	}
	if in.Importance != nil {
		if len(in.Importance) != len(in.Features) {
			return fmt.Errorf("%w: %d importances for %d features", ErrLength, len(in.Importance), len(in.Features))
		}
		for j, v := range in.Importance {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("%w: importance of feature %q is %v", ErrInput, in.Features[j], v)
			}
		}
	}
	if in.Stage != nil || in.StageHat != nil {
		if len(in.Stage) != n || len(in.StageHat) != n {
			return fmt.Errorf("%w: len(Stage) = %d, len(StageHat) = %d for %d rows", ErrLength, len(in.Stage), len(in.StageHat), n)
		}
		k := len(in.StageCodes)
		if k == 0 {
			k = max(slices.Max(in.Stage), slices.Max(in.StageHat)) + 1
			codes := make([]string, k)
			for c := range codes {
				codes[c] = fmt.Sprint(c)
			}
			in.StageCodes = codes
		}
		for i := range n {
			if s, h := in.Stage[i], in.StageHat[i]; s < 0 || s >= k || h < 0 || h >= k {
				return fmt.Errorf("%w: row %d has stage %d, predicted %d, want classes in [0, %d)", ErrInput, i, s, h, k)
			}
		}
	}
	return nil
}

// guard turns a panic of the plotting library into an error, so that a
// report problem cannot take down the job that asked for it.
func guard(render func(*os.File) error) func(*os.File) error {
	return func(f *os.File) (err error) {
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("drawing failed: %v", r)
			}
		}()
		return render(f)
	}
}

// writeFileAtomic writes path through a temporary file in the same folder
// and renames it into place.
func writeFileAtomic(path string, write func(*os.File) error) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err = write(f); err != nil {
		return err
	}
	if err = f.Chmod(0o644); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
