package churn

import (
	"errors"
	"fmt"
)

// Risk is a churn-risk band.
type Risk string

// The risk bands.
const (
	RiskLow    Risk = "low"
	RiskMedium Risk = "medium"
	RiskHigh   Risk = "high"
)

// Thresholds split churn probabilities into bands: low < Medium ≤ medium <
// High ≤ high.
type Thresholds struct{ Medium, High float64 }

// DefaultThresholds are 0.3 and 0.6.
func DefaultThresholds() Thresholds { return Thresholds{Medium: 0.3, High: 0.6} }

// ErrThresholds reports unusable risk thresholds.
var ErrThresholds = errors.New("churn: invalid risk thresholds")

// Validate checks 0 < Medium < High < 1.
func (t Thresholds) Validate() error {
	if !(0 < t.Medium && t.Medium < t.High && t.High < 1) {
		return fmt.Errorf("%w: need 0 < medium (%g) < high (%g) < 1", ErrThresholds, t.Medium, t.High)
	}
	return nil
}

// Band returns the risk band of a churn probability.
func (t Thresholds) Band(p float64) Risk {
	switch {
	case p >= t.High:
		return RiskHigh
	case p >= t.Medium:
		return RiskMedium
	}
	return RiskLow
}

// SegmentProspect is the predictive segment of customers without a purchase.
const SegmentProspect = "prospect"

// Segment returns the predictive segment code: value tier × churn risk,
// e.g. "A_high".
func Segment(tier string, r Risk) string { return tier + "_" + string(r) }

// SegmentLabel describes a predictive segment and the action CRM practice
// recommends for it.
type SegmentLabel struct {
	Code, English, Chinese, Action string
}

// SegmentLabels returns the predictive segments (value tier × churn risk).
func SegmentLabels() []SegmentLabel {
	return []SegmentLabel{
		{"A_high", "High value, high risk", "高价值·高风险", "save: personal outreach by an account manager, tailored offer"},
		{"A_medium", "High value, medium risk", "高价值·中风险", "protect: loyalty perks, proactive service check"},
		{"A_low", "High value, low risk", "高价值·低风险", "nurture: VIP programme and referrals; no discount needed"},
		{"B_high", "Medium value, high risk", "中价值·高风险", "win back: targeted incentive before the next expected purchase"},
		{"B_medium", "Medium value, medium risk", "中价值·中风险", "engage: personalised recommendations"},
		{"B_low", "Medium value, low risk", "中价值·低风险", "grow: cross-sell and up-sell"},
		{"C_high", "Low value, high risk", "低价值·高风险", "automated low-cost win-back, or let go"},
		{"C_medium", "Low value, medium risk", "低价值·中风险", "automated re-engagement"},
		{"C_low", "Low value, low risk", "低价值·低风险", "develop: nudges to raise purchase frequency"},
		{SegmentProspect, "Prospect (no purchase yet)", "潜在客户", "convert: first-purchase offer"},
	}
}
