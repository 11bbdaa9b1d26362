package subscription

import (
	"errors"
	"fmt"
)

// Stage is a subscriber lifecycle stage code, stable across releases: the
// CRM stores it in lifecycle_stage.
type Stage string

// The subscriber stage codes, in rule order.
const (
	Cancelled     Stage = "cancelled"
	Trial         Stage = "trial"
	TrialExpired  Stage = "trial_expired"
	AtRisk        Stage = "at_risk"
	RenewalDue    Stage = "renewal_due"
	WonBack       Stage = "won_back"
	NewSubscriber Stage = "new_subscriber"
	Active        Stage = "active"
)

// Label is the description of a stage code (the stage_labels table).
type Label struct {
	Code    Stage
	English string
	Chinese string
	Action  string
}

// Labels returns every subscriber stage with English and Chinese labels,
// in rule order.
func Labels() []Label {
	return []Label{
		{Cancelled, "Cancelled subscriber", "已流失（取消订阅）", "exit survey; win-back offer after the period ends"},
		{Trial, "In trial", "试用中", "convert: onboarding, show the paid features"},
		{TrialExpired, "Trial expired", "试用到期未转化", "convert: extended trial or first-period discount"},
		{AtRisk, "Subscriber at risk", "高流失风险订阅用户", "retain now: success call, fix the support issue, offer a plan that fits"},
		{RenewalDue, "Renewal due", "即将续费", "remind: renewal notice, annual-plan offer"},
		{WonBack, "Won back", "回流（重新订阅）", "re-onboard: confirm the value, avoid a second churn"},
		{NewSubscriber, "New subscriber", "新付费用户", "onboard: drive first-period usage"},
		{Active, "Active subscriber", "活跃订阅用户", "develop: upgrade (升级), cross-sell, referral"},
	}
}

// Valid reports whether s is a subscriber stage code.
func Valid(s Stage) bool {
	for _, l := range Labels() {
		if l.Code == s {
			return true
		}
	}
	return false
}

// Rules are the thresholds of the subscriber stages; days are calendar days.
type Rules struct {
	TrialDays      int32   // trial length when no expire event says otherwise; default 14
	PeriodDays     int32   // period length until two period starts give it; default 30
	GraceDays      int32   // a period end this many days past without renew or cancel is a lapse; default 3
	RenewalDueDays int32   // renewal_due: period end within this many days; default 7
	WonBackDays    int32   // won_back: resubscribed within this many days; default 90
	HighRisk       float64 // at_risk: cancel probability ≥ HighRisk; default 0.6 (the buyers' high-risk level)
}

// DefaultRules returns the documented defaults.
func DefaultRules() Rules {
	return Rules{TrialDays: 14, PeriodDays: 30, GraceDays: 3, RenewalDueDays: 7, WonBackDays: 90, HighRisk: 0.6}
}

// WithDefaults returns DefaultRules for the zero Rules, else r with its
// zero TrialDays, PeriodDays, WonBackDays and HighRisk (which must be
// positive) set to the defaults; GraceDays and RenewalDueDays are kept, 0
// included (no grace; renewal_due only on the period's last day).
func (r Rules) WithDefaults() Rules {
	d := DefaultRules()
	if r == (Rules{}) {
		return d
	}
	if r.TrialDays == 0 {
		r.TrialDays = d.TrialDays
	}
	if r.PeriodDays == 0 {
		r.PeriodDays = d.PeriodDays
	}
	if r.WonBackDays == 0 {
		r.WonBackDays = d.WonBackDays
	}
	if r.HighRisk == 0 {
		r.HighRisk = d.HighRisk
	}
	return r
}

// ErrRules is returned by Validate.
var ErrRules = errors.New("subscription: invalid rules")

// Validate checks the thresholds.
func (r Rules) Validate() error {
	switch {
	case r.TrialDays <= 0 || r.PeriodDays <= 0 || r.GraceDays < 0 || r.RenewalDueDays < 0 || r.WonBackDays <= 0:
		return fmt.Errorf("%w: trial_days, period_days, won_back_days must be positive, grace_days and renewal_due_days ≥ 0: %+v", ErrRules, r)
	case !(r.HighRisk > 0 && r.HighRisk <= 1):
		return fmt.Errorf("%w: high_risk %g must be in (0, 1]", ErrRules, r.HighRisk)
	}
	return nil
}

// Stage applies the rules to a subscriber at day asOf with pCancel the
// probability of cancelling before the next renewal (NaN = unknown: no
// at_risk).
func (r Rules) Stage(s State, asOf int32, pCancel float64) Stage {
	switch s.Status {
	case StatusCancelled, StatusExpired:
		return Cancelled
	case StatusTrial:
		return Trial
	case StatusTrialExpired:
		return TrialExpired
	}
	cur, _ := s.Current()
	switch {
	case pCancel >= r.HighRisk:
		return AtRisk
	case s.DaysToPeriodEnd <= r.RenewalDueDays:
		return RenewalDue
	case s.WonBack && asOf-s.WonBackDay < r.WonBackDays:
		return WonBack
	case cur.Renewals == 0 && !cur.LeftTruncated:
		return NewSubscriber
	}
	return Active
}
