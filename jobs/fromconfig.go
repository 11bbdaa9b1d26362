package jobs

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/churnpipe/churnpipe/data"
	"github.com/churnpipe/churnpipe/features/lifecycle"
	"github.com/churnpipe/churnpipe/features/rfm"
	"github.com/churnpipe/churnpipe/features/subscription"
	"github.com/churnpipe/churnpipe/jobs/config"
	"github.com/churnpipe/churnpipe/models/churn"
	"github.com/churnpipe/churnpipe/pipeline"
	"github.com/churnpipe/churnpipe/pipeline/gate"
)

// ReadOptions maps the input section of a configuration onto the readers'
// options.
func ReadOptions(in config.Input) (data.Options, error) {
	o := data.Options{Format: in.Format, NoHeader: in.NoHeader, TimeLayout: in.TimeLayout, Map: in.Map}
	switch in.Delimiter {
	case "whitespace":
		o.Whitespace = true
	case "tab", `\t`:
		o.Delimiter = '\t'
	case "":
	default:
		r := []rune(in.Delimiter)
		if len(r) != 1 {
			return o, &UsageError{fmt.Errorf("delimiter %q: want one character, tab or whitespace", in.Delimiter)}
		}
		o.Delimiter = r[0]
	}
	return o, nil
}

// FromConfig turns a validated configuration into the nightly job's
// configuration.
func FromConfig(c config.Config) (NightlyConfig, error) {
	var nc NightlyConfig
	if err := c.Validate(); err != nil {
		return nc, &UsageError{err}
	}
	ro, err := ReadOptions(c.Input)
	if err != nil {
		return nc, err
	}
	nc.Input = pipeline.Input{Path: c.Input.Path, Table: c.Input.Table, SQL: c.Input.SQL, Read: ro,
		Quarantine: c.Input.Quarantine, MaxReject: c.Input.MaxReject}
	nc.DB, nc.Attributes = c.DB, c.Attributes
	nc.Retry.MaxElapsed = time.Duration(c.DBRetrySeconds) * time.Second
	if c.DBRetrySeconds == 0 {
		nc.Retry.Attempts = 1 // 0: no retry
	}
	nc.Registry, nc.RegistryRequired = RegistryOf(c)
	nc.Store.Table = c.Table
	nc.Store.Schema = c.Schema
	if lower := strings.ToLower(c.DB); c.Schema == "public" && (strings.HasPrefix(lower, "mysql://") || strings.HasPrefix(lower, "mariadb://")) {
		nc.Store.Schema = "" // the default of older example files: MySQL has no public database, the DSN's is meant
	}
	if nc.TimeZone, err = time.LoadLocation(c.TimeZone); err != nil {
		return nc, &UsageError{fmt.Errorf("time_zone %q: %w", c.TimeZone, err)}
	}
	l := c.Lifecycle
	nc.Rules = lifecycle.Rules{
		ChurnDays: int32(l.ChurnDays), DormantDays: int32(l.DormantDays), RecentDays: int32(l.RecentDays),
		ReactivationGapDays: int32(l.ReactivationGapDays), NewDays: int32(l.NewDays), DeclineMonths: 3,
		DeclineRatio: l.DeclineRatio, MinDeclineTenureMonths: int32(l.MinDeclineTenureMonths),
		MatureTenureDays: int32(l.MatureTenureDays), MaturePurchaseDays365: int32(l.MaturePurchaseDays365),
	}
	if err := nc.Rules.Validate(); err != nil {
		return nc, &UsageError{err}
	}
	sb := c.Subscriptions
	nc.Subscriptions = pipeline.SubscriptionOptions{Disabled: !sb.Enabled, Model: sb.Model,
		AnnualRate: sb.AnnualDiscountRate, HorizonDays: sb.HorizonDays,
		Rules: subscription.Rules{TrialDays: int32(sb.TrialDays), PeriodDays: int32(sb.PeriodDays), GraceDays: int32(sb.GraceDays),
			RenewalDueDays: int32(sb.RenewalDueDays), WonBackDays: int32(sb.WonBackDays), HighRisk: sb.AtRisk}}
	if err := nc.Subscriptions.Rules.Validate(); err != nil {
		return nc, &UsageError{err}
	}
	if nc.Segments, err = SegmentRules(c); err != nil {
		return nc, err
	}
	unit, err := ParseTimeUnit(c.CLV.TimeUnit)
	if err != nil {
		return nc, err
	}
	nc.CLV = pipeline.CLVOptions{Model: c.CLV.Model, Unit: unit, HorizonDays: c.CLV.HorizonDays,
		CLVMonths: c.CLV.CLVMonths, AnnualRate: c.CLV.AnnualDiscountRate}
	nc.Risk = churn.Thresholds{Medium: c.ChurnRisk.Medium, High: c.ChurnRisk.High}
	dec := c.Publish.MoneyDecimals
	nc.MoneyDecimals = &dec
	g := c.Gates
	nc.Gates = gate.Config{MaxRowDrop: g.MaxRowDrop, MaxCustomerDrop: g.MaxCustomerDrop, MaxReject: g.MaxReject,
		PSIWarn: g.PSIWarn, PSIBlock: g.PSIBlock, ScorePSIWarn: g.ScorePSIWarn, ScorePSIBlock: g.ScorePSIBlock,
		MaxDayDrop: g.MaxDayDrop, AsOfDayRatioWarn: g.AsOfDayRatioWarn, AsOfDayRatioBlock: g.AsOfDayRatioBlock, MaxSpanShiftDays: g.MaxSpanShiftDays,
		EventMixWarn: g.EventMixWarn, EventMixBlock: g.EventMixBlock, AmountPSIWarn: g.AmountPSIWarn, AmountPSIBlock: g.AmountPSIBlock}
	o := c.Outcomes
	nc.Outcomes = pipeline.OutcomeOptions{Disabled: !o.Enabled, HorizonDays: o.HorizonDays, MaxNights: o.MaxNights,
		MaxAUCDrop: o.MaxAUCDrop, MaxECERise: o.MaxECERise}
	nc.MetricsFile, nc.Pushgateway, nc.MetricsJob = c.Metrics.Textfile, c.Metrics.Pushgateway, c.Metrics.Job
	return nc, nil
}

// RegistryOf resolves the churn model registry of a configuration the same
// way for every command: "" (churn scoring off) when churn_scoring is false;
// otherwise the registry key, DefaultRegistry when empty. It is required —
// it must exist and hold a loadable champion — when the file names it
// (deploy/churnpipe.example.yaml does); the default alone may be missing
// (the churn columns are then NULL, with a warning). A --registry flag
// makes it required too (the caller sets that).
func RegistryOf(c config.Config) (dir string, required bool) {
	switch {
	case !c.ChurnScoring:
		return "", false
	case c.Registry == "":
		return DefaultRegistry, false
	}
	return c.Registry, c.Line("registry") > 0
}

// SegmentRules turns the rfm.segments list of a configuration into the RFM
// rule table, checked by rfm.Rules.Validate; an error names the file, line
// and list position.
func SegmentRules(c config.Config) (rfm.Rules, error) {
	var rs rfm.Rules
	var errs []error
	bad := func(path string, err error) {
		errs = append(errs, &config.Error{File: c.File(), Line: c.Line(path), Path: path, Msg: err.Error()})
	}
	for i, s := range c.RFM.Segments {
		r, err := rfm.ParseRule(s.Segment, s.R, s.F, s.M)
		if err != nil {
			bad(fmt.Sprintf("rfm.segments[%d]", i), err)
			continue
		}
		rs = append(rs, r)
	}
	if len(errs) == 0 {
		if err := rs.Validate(); err != nil {
			bad("rfm.segments", err)
		}
	}
	if len(errs) > 0 {
		return nil, &UsageError{errors.Join(errs...)}
	}
	return rs, nil
}
