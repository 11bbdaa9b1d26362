package jobs

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/churnpipe/churnpipe/models/btyd"
	"github.com/churnpipe/churnpipe/models/btyd/btydplot"
	"github.com/churnpipe/churnpipe/pipeline"
)

// CLVFitConfig describes `churnpipe clv fit`.
type CLVFitConfig struct {
	Input          pipeline.Input
	Model          string // bgnbd, mbgnbd, paretonbd, gammagamma
	CalibrationEnd time.Time
	Unit           btyd.TimeUnit
}

// ParseTimeUnit parses day, week or month.
func ParseTimeUnit(s string) (btyd.TimeUnit, error) {
	switch s {
	case "day", "days":
		return btyd.Day, nil
	case "week", "weeks", "":
		return btyd.Week, nil
	case "month", "months":
		return btyd.Month, nil
	}
	return 0, &UsageError{fmt.Errorf("time unit %q: want day, week or month", s)}
}

// FitCLV fits one probabilistic model on the history up to the calibration
// end and returns the fit with standard errors.
func FitCLV(ctx context.Context, c CLVFitConfig, opt pipeline.Options) (btyd.FitResult, error) {
	switch c.Model {
	case "bgnbd", "mbgnbd", "paretonbd", "gammagamma":
	default:
		return btyd.FitResult{}, &UsageError{fmt.Errorf("--model %q: want bgnbd, mbgnbd, paretonbd or gammagamma", c.Model)}
	}
	if c.Input.Path == "" || c.CalibrationEnd.IsZero() {
		return btyd.FitResult{}, &UsageError{fmt.Errorf("clv fit needs --input and --calibration-end")}
	}
	if c.Input.Quarantine == "" {
		c.Input.Quarantine = "quarantine-clv.csv"
	}
	feat, _, err := pipeline.BuildFeatures(ctx, c.Input, c.CalibrationEnd, opt)
	if err != nil {
		return btyd.FitResult{}, err
	}
	defer feat.Release()
	if c.Model == "gammagamma" {
		ids, x, zbar, err := pipeline.SpendSummary(feat)
		if err != nil {
			return btyd.FitResult{}, err
		}
		sp, err := pipeline.FitSpend(ids, x, zbar, btyd.FitOptions{}, &c.Input)
		if sp != nil && len(sp.Excluded) > 0 && opt.Logger != nil {
			opt.Logger.Warn("customers left out of the spend model", "count", len(sp.Excluded), "customers", sp.Excluded,
				"reason", "zero, negative or non-finite mean repeat spend; they get the population mean spend")
		}
		if err != nil {
			return btyd.FitResult{}, err
		}
		return sp.Fit, nil
	}
	d, _, err := pipeline.SummaryData(feat, c.Unit)
	if err != nil {
		return btyd.FitResult{}, err
	}
	_, fit, err := btyd.Fit(c.Model, btyd.Compress(d), btyd.FitOptions{})
	return fit, err
}

// CLVReportConfig describes `churnpipe clv report`.
type CLVReportConfig struct {
	Input                      pipeline.Input
	Model                      string // auto (default), bgnbd, mbgnbd, paretonbd
	CalibrationEnd, HoldoutEnd time.Time
	Unit                       btyd.TimeUnit
	Out                        string
	// HoldoutDays is model auto's own holdout, the last days of the
	// calibration period; 0 means 90.
	HoldoutDays int
}

// CLVReportResult is what `clv report` found and wrote.
type CLVReportResult struct {
	Plots  btydplot.Report
	Models *pipeline.CLVModels // fitted on the calibration period
	// Evaluation compares the models' holdout predictions with what
	// happened, next to the last-period run rate.
	Evaluation *pipeline.CLVEvaluation
}

// CLVReport fits the CLV models (the count model chosen by holdout with
// model auto, and Gamma-Gamma) on the calibration period and compares them
// with the holdout period: tracking plot, conditional expectations, P(alive)
// heat map, the holdout evaluation (pipeline.EvaluateCLV) and report.json in
// Out.
func CLVReport(ctx context.Context, c CLVReportConfig, opt pipeline.Options) (CLVReportResult, error) {
	var res CLVReportResult
	var err error
	if c.Model, err = countModel(c.Model); err != nil {
		return res, err
	}
	if c.Unit == 0 {
		c.Unit = btyd.Week
	}
	if c.HoldoutDays <= 0 {
		c.HoldoutDays = 90
	}
	if c.Input.Path == "" || c.Out == "" || c.CalibrationEnd.IsZero() || c.HoldoutEnd.IsZero() {
		return res, &UsageError{fmt.Errorf("clv report needs --input, --calibration-end, --holdout-end and --out")}
	}
	if !c.HoldoutEnd.After(c.CalibrationEnd) {
		return res, &UsageError{fmt.Errorf("--holdout-end must be after --calibration-end")}
	}
	if c.Input.Quarantine == "" {
		c.Input.Quarantine = filepath.Join(c.Out, "quarantine.csv")
	}
	if err := os.MkdirAll(c.Out, 0o755); err != nil {
		return res, err
	}
	h, err := pipeline.LoadHistory(ctx, c.Input, opt)
	if err != nil {
		return res, err
	}
	defer h.Release()
	cal, err := h.FeaturesAt(c.CalibrationEnd, opt)
	if err != nil {
		return res, err
	}
	defer cal.Release()
	var m *pipeline.CLVModels
	if c.Model == pipeline.ModelAuto {
		m, err = fitAuto(h, c.CalibrationEnd, c.Unit, c.HoldoutDays, opt)
	} else {
		m, err = pipeline.FitCLV(cal, pipeline.CLVOptions{Model: c.Model, Unit: c.Unit})
	}
	if err != nil {
		return res, err
	}
	if m.Count == nil {
		return res, fmt.Errorf("%w: %v", pipeline.ErrNoCustomers, m.Warnings)
	}
	res.Models = m
	if opt.Logger != nil {
		for _, w := range m.Warnings {
			opt.Logger.Warn(w)
		}
	}
	if res.Evaluation, err = pipeline.EvaluateCLV(h, cal, m, c.CalibrationEnd, c.HoldoutEnd, opt); err != nil {
		return res, err
	}
	d, rows, err := pipeline.SummaryData(cal, c.Unit)
	if err != nil {
		return res, err
	}
	days := pipeline.FeatureIDs(cal)
	purchases := h.PurchaseDays(c.HoldoutEnd)
	calEnd := int32(c.CalibrationEnd.Unix() / 86400)
	holdEnd := int32(c.HoldoutEnd.Unix() / 86400)
	start := int32(1 << 30)
	for _, i := range rows {
		start = min(start, purchases[days[i]][0])
	}
	u := c.Unit.Days()
	tr := btydplot.Tracking{CalibrationEnd: float64(calEnd-start) / u, HoldoutEnd: float64(holdEnd-start) / u}
	ho := btydplot.Holdout{X: d.X, Tx: d.Tx, T: d.T, HoldoutCount: make([]float64, len(rows)), HoldoutLength: float64(holdEnd-calEnd) / u}
	for k, i := range rows {
		pd := purchases[days[i]]
		tr.Birth = append(tr.Birth, float64(pd[0]-start)/u)
		for _, day := range pd[1:] {
			tr.RepeatTimes = append(tr.RepeatTimes, float64(day-start)/u)
			if day > calEnd {
				ho.HoldoutCount[k]++
			}
		}
	}
	attach := map[string]any{"evaluation": res.Evaluation, "count_fit": m.CountFit}
	if m.Comparison != nil {
		attach["comparison"] = m.Comparison
	}
	if m.Spend != nil {
		attach["spend_fit"] = m.SpendFit
	}
	if len(m.Warnings) > 0 {
		attach["warnings"] = m.Warnings
	}
	res.Plots, err = btydplot.WriteOptions(c.Out, m.Count, tr, ho, btydplot.Options{Unit: c.Unit, Title: filepath.Base(c.Input.Path), Attach: attach})
	return res, err
}
