package registry

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"

	"github.com/churnpipe/churnpipe/models/cancel"
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

// CancelFigures are the promotion figures of a version's cancel model: the
// stored kind's mean test AUC over its own rolling-origin test snapshots
// (the cancel model's report, models/cancel).
type CancelFigures struct {
	Kind          string   `json:"kind"`
	MeanAUC       float64  `json:"mean_auc"`
	TestSnapshots []string `json:"test_snapshots"`
}

// CancelFiguresOf reads the figures of a version's cancel model; nil when
// the version has none.
func CancelFiguresOf(a *Artifact) (*CancelFigures, error) {
	if len(a.CancelModel) == 0 {
		return nil, nil
	}
	var cm cancel.Model
	if err := json.Unmarshal(a.CancelModel, &cm); err != nil {
		return nil, fmt.Errorf("%w: %s: cancel model: %v", ErrInvalid, a.Version, err)
	}
	f := &CancelFigures{Kind: cm.Kind, MeanAUC: math.NaN(), TestSnapshots: cm.Report.TestSnapshots}
	if c := cm.Report.Candidate(cm.Kind); c != nil {
		f.MeanAUC = c.AUC
	}
	return f, nil
}

// Side is what a version brings to a promotion: its buyer model's test
// metrics (nil = no buyer model, a cancel-only version) and its cancel
// model's figures (nil = none).
type Side struct {
	Version string
	Buyer   *Metrics
	Cancel  *CancelFigures
}

// SideOf returns the promotion side of a loaded artifact.
func SideOf(a *Artifact) (Side, error) {
	s := Side{Version: a.Version}
	if a.HasBuyerModel() {
		m := a.Metrics
		s.Buyer = &m
	}
	var err error
	s.Cancel, err = CancelFiguresOf(a)
	return s, err
}

// PromoteVersion decides whether a candidate version replaces the champion
// (nil = there is none), buyer and cancel models together:
//
//   - both have a buyer model: the buyer rule (Promote); the cancel models
//     ride along;
//   - the candidate has none (cancel-only) and the champion has one: not
//     promoted — the buyers' churn columns would turn NULL;
//   - otherwise, where both have a cancel model, the candidate's mean test
//     AUC must be at least the champion's − rule.MaxAUCDrop (each on its own
//     test snapshots), and a candidate without a cancel model does not
//     replace a champion with one; a candidate buyer model replacing a
//     cancel-only champion is judged alone (the ECE bound, as with no
//     champion).
//
// force promotes regardless, as in Promote.
func PromoteVersion(cand Side, champ *Side, rule Rule, force bool) Decision {
	ok, why := checkVersion(cand, champ, rule)
	switch {
	case ok:
		return Decision{Promote: true, Reason: why}
	case force:
		return Decision{Promote: true, Forced: true, Reason: "forced despite: " + why}
	}
	return Decision{Reason: why}
}

func checkVersion(c Side, ch *Side, rule Rule) (bool, string) {
	if c.Buyer == nil && c.Cancel == nil {
		return false, "the candidate holds neither a buyer nor a cancel model"
	}
	if ch == nil {
		if c.Buyer != nil {
			return check(*c.Buyer, Metrics{}, rule)
		}
		return cancelCheck(c.Cancel, nil, rule)
	}
	if c.Buyer != nil && ch.Buyer != nil {
		return check(*c.Buyer, *ch.Buyer, rule)
	}
	if c.Buyer == nil && ch.Buyer != nil {
		return false, fmt.Sprintf("the candidate has no buyer churn model and champion %s has one: the buyers' churn columns would turn NULL", ch.Version)
	}
	// The champion is cancel-only.
	var reasons []string
	if c.Buyer != nil {
		ok, why := check(*c.Buyer, Metrics{}, rule)
		if !ok {
			return false, why
		}
		reasons = append(reasons, "buyer model judged alone (cancel-only champion "+ch.Version+"): "+why)
	}
	ok, why := cancelCheck(c.Cancel, ch, rule)
	if !ok {
		return false, why
	}
	return true, strings.Join(append(reasons, why), "; ")
}

// cancelCheck applies the AUC rule to the cancel models.
func cancelCheck(c *CancelFigures, ch *Side, rule Rule) (bool, string) {
	switch {
	case ch == nil || ch.Cancel == nil:
		if c == nil {
			return true, "no cancel model on either side"
		}
		if math.IsNaN(c.MeanAUC) || math.IsInf(c.MeanAUC, 0) {
			return false, fmt.Sprintf("candidate cancel model's mean test AUC not finite (%v)", c.MeanAUC)
		}
		if ch == nil {
			return true, fmt.Sprintf("no champion; cancel-only candidate, cancel model %s mean test AUC %.4f", c.Kind, c.MeanAUC)
		}
		return true, fmt.Sprintf("champion %s has no cancel model; candidate's cancel model %s mean test AUC %.4f", ch.Version, c.Kind, c.MeanAUC)
	case c == nil:
		return false, fmt.Sprintf("the candidate has no cancel model and champion %s has one", ch.Version)
	case math.IsNaN(c.MeanAUC) || math.IsInf(c.MeanAUC, 0):
		return false, fmt.Sprintf("candidate cancel model's mean test AUC not finite (%v)", c.MeanAUC)
	case c.MeanAUC < ch.Cancel.MeanAUC-rule.MaxAUCDrop-aucTol:
		return false, fmt.Sprintf("candidate cancel model mean test AUC %.4f < champion %s's %.4f − %.4f", c.MeanAUC, ch.Version, ch.Cancel.MeanAUC, rule.MaxAUCDrop)
	}
	return true, fmt.Sprintf("candidate cancel model mean test AUC %.4f vs champion %s's %.4f (allowed drop %.4f)", c.MeanAUC, ch.Version, ch.Cancel.MeanAUC, rule.MaxAUCDrop)
}
