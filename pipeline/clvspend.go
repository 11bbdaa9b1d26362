package pipeline

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/churnpipe/churnpipe/data"
	"github.com/churnpipe/churnpipe/models/btyd"
)

// ErrSpendModel marks a Gamma-Gamma spend model that cannot be fitted on
// the data (no repeat buyer with a positive mean repeat spend, no
// convergence, or q ≤ 1, an infinite population mean spend). Commands exit
// with code 3 (input rejected): the data, not the program, is at fault.
var ErrSpendModel = errors.New("spend model cannot be fitted on this input")

// SpendError is an impossible spend fit, naming the customer most
// responsible and, when the input is a CSV file, that customer's input lines.
type SpendError struct {
	Customer string
	Lines    []string // "file:line" of the customer's purchase rows (at most 5), when known
	Reason   string
	Err      error // the underlying btyd error, if any
}

func (e *SpendError) Error() string {
	s := "clv: spend model (Gamma-Gamma): " + e.Reason
	if e.Customer != "" {
		s += fmt.Sprintf("; customer %q", e.Customer)
		if len(e.Lines) > 0 {
			s += " (input " + strings.Join(e.Lines, ", ") + ")"
		}
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns ErrSpendModel and the btyd error.
func (e *SpendError) Unwrap() []error {
	if e.Err != nil {
		return []error{ErrSpendModel, e.Err}
	}
	return []error{ErrSpendModel}
}

// SpendFit is a Gamma-Gamma spend model fitted on the repeat buyers whose
// mean repeat spend z̄ is positive and finite.
type SpendFit struct {
	Model btyd.GammaGamma
	Fit   btyd.FitResult
	// Excluded are the repeat buyers (x > 0) left out of the fit because
	// their mean repeat spend is zero, negative or not finite, in table
	// order. They get the population mean spend p·γ/(q−1).
	Excluded []string
}

// Warning is the counted warning about the excluded customers ("" when
// none): the count and every customer id.
func (s *SpendFit) Warning() string {
	if s == nil || len(s.Excluded) == 0 {
		return ""
	}
	return fmt.Sprintf("clv: %d repeat buyer(s) with zero, negative or non-finite mean repeat spend left out of the spend model "+
		"(they get the population mean spend): %s", len(s.Excluded), strings.Join(s.Excluded, ", "))
}

// SpendSummary returns, for every buyer of a feature table, the customer id,
// the number of repeat purchase days x and the mean repeat spend z̄.
func SpendSummary(feat arrow.RecordBatch) (ids []string, x, zbar []float64, err error) {
	fc, err := newFeatureCols(feat)
	if err != nil {
		return nil, nil, nil, err
	}
	d, rows, z := fc.summary(btyd.Week)
	ids = make([]string, len(rows))
	for k, i := range rows {
		ids[k] = fc.id.Value(i)
	}
	return ids, d.X, z, nil
}

// FitSpend fits the Gamma-Gamma model on the repeat buyers (x > 0) among
// ids, x, zbar. Repeat buyers with z̄ ≤ 0 or non-finite are left out and
// listed in SpendFit.Excluded. An impossible fit returns a *SpendError
// (wrapping ErrSpendModel) that names a customer: the first excluded one
// when no valid repeat buyer is left, otherwise the one with the largest z̄
// (the heavy tail drives q towards 1). Pass in to have the error name that
// customer's input lines (CSV input only); nil skips the search.
func FitSpend(ids []string, x, zbar []float64, opt btyd.FitOptions, in *Input) (*SpendFit, error) {
	var gx, gz []float64
	out := &SpendFit{}
	top := -1
	for i := range x {
		if x[i] <= 0 {
			continue
		}
		if z := zbar[i]; z > 0 && !math.IsInf(z, 0) {
			gx, gz = append(gx, x[i]), append(gz, z)
			if top < 0 || z > zbar[top] {
				top = i
			}
		} else {
			out.Excluded = append(out.Excluded, ids[i])
		}
	}
	fail := func(id, reason string, err error) error {
		e := &SpendError{Customer: id, Reason: reason, Err: err}
		if in != nil && id != "" {
			e.Lines = CustomerLines(*in, id, 5)
		}
		return e
	}
	if len(gx) == 0 {
		id := ""
		if len(out.Excluded) > 0 {
			id = out.Excluded[0]
		}
		return out, fail(id, fmt.Sprintf("no repeat buyer with a positive mean repeat spend (%d excluded)", len(out.Excluded)), nil)
	}
	gg, fit, err := btyd.FitGammaGamma(gx, gz, opt)
	if err != nil {
		return out, fail(ids[top], fmt.Sprintf("the fit on %d repeat buyers failed (largest mean repeat spend %.6g)", len(gx), zbar[top]), err)
	}
	if _, err := gg.MeanSpend(); err != nil {
		return out, fail(ids[top], fmt.Sprintf("q = %.6g ≤ 1 on %d repeat buyers: the spend distribution is too heavy-tailed (largest mean repeat spend %.6g)",
			gg.Q, len(gx), zbar[top]), err)
	}
	out.Model, out.Fit = gg, fit
	if w := out.Warning(); w != "" {
		fit.Warnings = append(fit.Warnings, w)
		out.Fit = fit
	}
	return out, nil
}

// CustomerLines returns "file:line" of up to max purchase rows of customer
// id in a CSV input (file or folder of CSV files), in file order. Other
// formats and unreadable files give nil: this is for error messages only.
func CustomerLines(in Input, id string, max int) []string {
	files := []string{in.Path}
	if st, err := os.Stat(in.Path); err != nil {
		return nil
	} else if st.IsDir() {
		ents, err := os.ReadDir(in.Path)
		if err != nil {
			return nil
		}
		files = files[:0]
		for _, e := range ents {
			switch strings.ToLower(filepath.Ext(e.Name())) {
			case ".csv", ".tsv", ".txt":
				files = append(files, filepath.Join(in.Path, e.Name()))
			}
		}
		sort.Strings(files)
	}
	var out []string
	for _, f := range files {
		if len(out) >= max {
			break
		}
		out = append(out, csvLinesOf(f, in.Read, id, max-len(out))...)
	}
	return out
}

func csvLinesOf(path string, ro data.Options, id string, max int) []string {
	switch ext := strings.ToLower(filepath.Ext(path)); {
	case ro.Format != "" && ro.Format != "csv":
		return nil
	case ro.Format == "" && ext != ".csv" && ext != ".tsv" && ext != ".txt":
		return nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	split := func(s string) []string {
		if ro.Whitespace {
			return strings.Fields(s)
		}
		r := csv.NewReader(strings.NewReader(s))
		r.Comma = ','
		if ro.Delimiter != 0 {
			r.Comma = ro.Delimiter
		} else if strings.EqualFold(filepath.Ext(path), ".tsv") {
			r.Comma = '\t'
		}
		r.LazyQuotes = true
		rec, err := r.Read()
		if err != nil && err != io.EOF {
			return nil
		}
		return rec
	}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<16), 1<<24)
	col := 0
	if ro.NoHeader {
		if m, ok := ro.Map[data.ColCustomerID]; ok {
			if _, err := fmt.Sscanf(m, "%d", &col); err != nil || col < 1 {
				return nil
			}
			col--
		}
	}
	line := int64(0)
	var out []string
	for sc.Scan() {
		line++
		fields := split(strings.TrimRight(sc.Text(), "\r"))
		if line == 1 && !ro.NoHeader {
			want := data.ColCustomerID
			if m, ok := ro.Map[data.ColCustomerID]; ok {
				want = m
			}
			col = -1
			for j, h := range fields {
				if h == want || (col < 0 && strings.EqualFold(h, want)) {
					col = j
				}
			}
			if col < 0 {
				return nil
			}
			continue
		}
		if col < len(fields) && strings.TrimSpace(fields[col]) == id {
			out = append(out, fmt.Sprintf("%s:%d", path, line))
			if len(out) >= max {
				break
			}
		}
	}
	return out
}
