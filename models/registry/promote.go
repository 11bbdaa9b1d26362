package registry

import (
	"fmt"
	"math"
)

// Rule bounds a promotion.
type Rule struct {
	// MaxAUCDrop is how far the candidate's AUC may fall below the
	// champion's on the same test snapshot.
	MaxAUCDrop float64 `json:"max_auc_drop"`
	// MaxECE is the largest acceptable expected calibration error.
	MaxECE float64 `json:"max_ece"`
}

// DefaultRule allows an AUC drop of 0.005 and an ECE of 0.05.
var DefaultRule = Rule{MaxAUCDrop: 0.005, MaxECE: 0.05}

// Decision is the outcome of Promote.
type Decision struct {
	Promote bool   `json:"promote"`
	Reason  string `json:"reason"`
	Forced  bool   `json:"forced"` // promoted although the rule said no
}

// aucTol absorbs rounding in AUC − MaxAUCDrop comparisons.
const aucTol = 1e-12

// Promote decides whether candidate should replace champion. The zero
// Metrics as champion means there is none, and only the ECE bound
// applies. Otherwise the candidate is promoted only if both metrics come
// from the same TestSnapshot, AUC_cand ≥ AUC_champ − rule.MaxAUCDrop and
// ECE_cand ≤ rule.MaxECE; non-finite candidate metrics never pass. With
// force the candidate is promoted regardless, Forced reports whether the
// rule alone would have refused, and Reason says why.
func Promote(candidate, champion Metrics, rule Rule, force bool) Decision {
	ok, why := check(candidate, champion, rule)
	switch {
	case ok:
		return Decision{Promote: true, Reason: why}
	case force:
		return Decision{Promote: true, Forced: true, Reason: "forced despite: " + why}
	}
	return Decision{Reason: why}
}

func check(c, ch Metrics, rule Rule) (bool, string) {
	if math.IsNaN(c.AUC) || math.IsInf(c.AUC, 0) || math.IsNaN(c.ECE) || math.IsInf(c.ECE, 0) {
		return false, fmt.Sprintf("candidate metrics not finite (AUC %v, ECE %v)", c.AUC, c.ECE)
	}
	if c.ECE > rule.MaxECE {
		return false, fmt.Sprintf("candidate ECE %.4f > %.4f", c.ECE, rule.MaxECE)
	}
	if ch == (Metrics{}) {
		return true, fmt.Sprintf("no champion; candidate AUC %.4f, ECE %.4f ≤ %.4f", c.AUC, c.ECE, rule.MaxECE)
	}
	if c.TestSnapshot != ch.TestSnapshot {
		return false, fmt.Sprintf("metrics on different test snapshots (candidate %q, champion %q)", c.TestSnapshot, ch.TestSnapshot)
	}
	if c.AUC < ch.AUC-rule.MaxAUCDrop-aucTol {
		return false, fmt.Sprintf("candidate AUC %.4f < champion %.4f − %.4f", c.AUC, ch.AUC, rule.MaxAUCDrop)
	}
	return true, fmt.Sprintf("candidate AUC %.4f vs champion %.4f (allowed drop %.4f), ECE %.4f ≤ %.4f",
		c.AUC, ch.AUC, rule.MaxAUCDrop, c.ECE, rule.MaxECE)
}
