package jobs

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/churnpipe/churnpipe/models/sbg"
	"github.com/churnpipe/churnpipe/pipeline"
)

// RetentionFitConfig describes `churnpipe clv fit --model sbg|bdw|auto
// --survival FILE --column NAME --periods N`: a contractual-setting
// retention model fitted on one cohort's survivor counts.
type RetentionFitConfig struct {
	// Model is sbg, bdw, or auto (both fitted on the first Periods periods,
	// chosen by the log-likelihood of the remaining rows as holdout).
	Model string
	// Survival is a CSV file whose first column counts periods 0, 1, 2, …
	// and whose other columns hold cohorts' survivors at the start of each
	// period (../shared/data/sbg/sbg_survival.csv: year, regular, high_end).
	Survival string
	Column   string
	// Periods is the number of renewal opportunities fitted (rows 0..Periods).
	Periods int
}

// RetentionFit is the JSON of `clv fit --model sbg|bdw|auto --survival`.
type RetentionFit struct {
	sbg.FitResult
	Column string `json:"column"`
	// Survivors are the cohort's counts at the start of each period of the
	// file; Projected the model's n0·S(t) for the same periods.
	Survivors []float64 `json:"survivors"`
	Projected []float64 `json:"projected"`
	// Selection is present for --model auto.
	Selection *sbg.Selection `json:"selection,omitempty"`
}

// IsRetentionModel says whether `clv fit --model` names a contractual model.
func IsRetentionModel(m string) bool { return m == "sbg" || m == "bdw" || m == "auto-retention" }

// FitRetention fits the sBG or BdW on one cohort of a survival table.
func FitRetention(_ context.Context, c RetentionFitConfig) (RetentionFit, error) {
	var out RetentionFit
	if c.Survival == "" || c.Column == "" || c.Periods < 1 {
		return out, &UsageError{errors.New("clv fit --model " + c.Model + " needs --survival FILE, --column NAME and --periods N ≥ 1")}
	}
	surv, err := ReadSurvival(c.Survival, c.Column)
	if err != nil {
		return out, err
	}
	if c.Periods >= len(surv) {
		return out, &UsageError{fmt.Errorf("--periods %d: %s has periods 0..%d of column %s", c.Periods, c.Survival, len(surv)-1, c.Column)}
	}
	d, err := sbg.FromSurvival(surv, c.Periods)
	if err != nil {
		return out, fmt.Errorf("%s column %s: %w: %w", c.Survival, c.Column, pipeline.ErrInput, err)
	}
	var m sbg.Model
	switch c.Model {
	case "sbg", "bdw":
		m, out.FitResult, err = sbg.Fit(c.Model, d, sbg.FitOptions{})
	case "auto-retention":
		if c.Periods+1 >= len(surv) {
			return out, &UsageError{fmt.Errorf("--model auto needs holdout rows after period %d in %s", c.Periods, c.Survival)}
		}
		var hold sbg.Data
		hold, err = sbg.Holdout(surv, c.Periods, len(surv)-1)
		if err != nil {
			return out, fmt.Errorf("%s column %s: %w: %w", c.Survival, c.Column, pipeline.ErrInput, err)
		}
		var s sbg.Selection
		s, err = sbg.Select(d, hold, sbg.FitOptions{})
		m, out.Selection = s.Model, &s
		out.FitResult = s.SBG
		if s.Chosen == "bdw" {
			out.FitResult = s.BdW
		}
	default:
		return out, &UsageError{fmt.Errorf("--model %q: want sbg, bdw or auto", c.Model)}
	}
	if err != nil {
		return out, err
	}
	out.Column, out.Survivors = c.Column, surv
	out.Projected = sbg.ProjectSurvivors(m, surv[0], len(surv)-1)
	return out, nil
}

// ReadSurvival reads one column of a survival CSV: a header, then one row
// per period 0, 1, 2, … in the first column. Errors name the file, line and
// column and wrap pipeline.ErrInput.
func ReadSurvival(path, column string) ([]float64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", pipeline.ErrInput, err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	head, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("%s: header: %w: %w", path, pipeline.ErrInput, err)
	}
	col := -1
	for i, h := range head {
		if strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")) == column {
			col = i
		}
	}
	if col < 1 {
		return nil, &UsageError{fmt.Errorf("%s: --column %q is not a cohort column (header: %s)", path, column, strings.Join(head, ","))}
	}
	var out []float64
	for line := 2; ; line++ {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w: %w", path, pipeline.ErrInput, err)
		}
		if len(rec) <= col {
			return nil, fmt.Errorf("%s line %d: %w: %d fields, column %s is field %d", path, line, pipeline.ErrInput, len(rec), column, col+1)
		}
		p, err := strconv.Atoi(strings.TrimSpace(rec[0]))
		if err != nil || p != len(out) {
			return nil, fmt.Errorf("%s line %d column %s: %w: period %q, want %d", path, line, head[0], pipeline.ErrInput, rec[0], len(out))
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(rec[col]), 64)
		if err != nil || v < 0 || math.IsInf(v, 0) || math.IsNaN(v) {
			return nil, fmt.Errorf("%s line %d column %s: %w: survivors %q, want a count ≥ 0", path, line, column, pipeline.ErrInput, rec[col])
		}
		out = append(out, v)
	}
	if len(out) < 2 {
		return nil, fmt.Errorf("%s: %w: %d periods of column %s, want at least 2", path, pipeline.ErrInput, len(out), column)
	}
	return out, nil
}
