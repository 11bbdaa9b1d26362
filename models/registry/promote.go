package registry

import (
	"fmt"
	"math"
	"slices"
	"strings"
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
	return decide(ok, why, force)
}

// decide turns a rule's verdict into a Decision: promoted when ok, or when
// forced (Forced, and the reason says what was overridden).
func decide(ok bool, why string, force bool) Decision {
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

// CancelFigures are the promotion figures of a version's cancel model. For
// a candidate alone (no champion cancel model) they are the ones its report
// recorded (CancelFiguresOf); against a champion with a cancel model both
// sides are the stored models scored on the candidate's test rows
// (CompareCancel), so that TestSnapshots are the same on both sides.
type CancelFigures struct {
	Kind          string   `json:"kind"`
	MeanAUC       float64  `json:"mean_auc"`       // over TestSnapshots
	ECE           float64  `json:"ece"`            // on the candidate's newest test snapshot
	TestSnapshots []string `json:"test_snapshots"` // the snapshots MeanAUC is over, newest first
	// Rescored: computed on the rows of version Rows (the candidate's),
	// not read from the report.
	Rescored bool   `json:"rescored,omitempty"`
	Rows     string `json:"rows,omitempty"`
	// Dropped are the candidate's test snapshots left out: inside a
	// training window of one of the two models.
	Dropped []string `json:"dropped,omitempty"`
	// Incomparable (champion side) says why the champion's cancel model
	// could not be scored on the candidate's rows: the candidate is refused.
	Incomparable string `json:"incomparable,omitempty"`
	// Alone (champion side) says why the candidate's cancel model is judged
	// alone (a champion on another feature layout, as the buyer rule does).
	Alone string `json:"alone,omitempty"`
}

// CancelFiguresOf reads the recorded figures of a version's cancel model
// (its kind's mean test AUC over its own test snapshots, the ECE on the
// newest); nil when the version has none.
func CancelFiguresOf(a *Artifact) (*CancelFigures, error) {
	cm, err := CancelModelOf(a)
	if cm == nil || err != nil {
		return nil, err
	}
	return recorded(cm), nil
}

// Side is what a version brings to a promotion: its buyer model's test
// metrics (nil = no buyer model, a cancel-only version) and its cancel
// model's figures (nil = none).
type Side struct {
	Version string
	Buyer   *Metrics
	Cancel  *CancelFigures
}

// SideOf returns the promotion side of a loaded artifact, with the figures
// it recorded.
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

// Sides returns the promotion sides of a candidate and a champion artifact:
// the buyer metrics each recorded (a caller that can re-score the champion's
// buyer model on the candidate's test snapshot replaces champ.Buyer) and,
// when both hold a cancel model, both cancel models scored on the
// candidate's cancel test rows tests (CompareCancel; nil = none saved).
func Sides(cand, champ *Artifact, tests *CancelTests) (Side, *Side, error) {
	cs, err := SideOf(cand)
	if err != nil {
		return cs, nil, err
	}
	chs, err := SideOf(champ)
	if err != nil {
		return cs, nil, fmt.Errorf("registry: champion: %w", err)
	}
	if cs.Cancel != nil && chs.Cancel != nil {
		cm, _ := CancelModelOf(cand)
		chm, _ := CancelModelOf(champ)
		cs.Cancel, chs.Cancel = CompareCancel(cm, chm, champ.Version, tests)
	}
	return cs, &chs, nil
}

// PromoteVersion decides whether a candidate version replaces the champion
// (nil = there is none), buyer and cancel models together. Each model the
// champion holds must be matched:
//
//   - buyer models: both have one — the buyer rule (Promote); the candidate
//     has none and the champion has one — not promoted (the buyers' churn
//     columns would turn NULL); only the candidate has one (cancel-only
//     champion) — judged alone (the ECE bound, as with no champion);
//   - cancel models: both have one — the same rule on the cancel models,
//     both scored on the same test snapshots (CompareCancel): the
//     candidate's mean AUC at least the champion's − rule.MaxAUCDrop and
//     its ECE ≤ rule.MaxECE; the candidate has none and the champion has
//     one — not promoted (the subscribers would lose their stored cancel
//     model); only the candidate has one (or the champion's reads other
//     columns) — judged alone: finite figures and ECE ≤ rule.MaxECE.
//
// The reason says which model failed and by how much. force promotes
// regardless, as in Promote.
func PromoteVersion(cand Side, champ *Side, rule Rule, force bool) Decision {
	ok, why := checkVersion(cand, champ, rule)
	return decide(ok, why, force)
}

func checkVersion(c Side, ch *Side, rule Rule) (bool, string) {
	if c.Buyer == nil && c.Cancel == nil {
		return false, "the candidate holds neither a buyer nor a cancel model"
	}
	if ch == nil {
		if c.Buyer == nil {
			return cancelCheck(c.Cancel, nil, rule)
		}
		ok, why := check(*c.Buyer, Metrics{}, rule)
		if !ok || c.Cancel == nil {
			return ok, why
		}
		if ok, cwhy := cancelAlone(c.Cancel, rule); !ok {
			return false, cwhy
		}
		return true, fmt.Sprintf("%s; cancel model %s mean test AUC %.4f, ECE %.4f ≤ %.4f", why, c.Cancel.Kind, c.Cancel.MeanAUC, c.Cancel.ECE, rule.MaxECE)
	}
	var reasons []string
	switch {
	case c.Buyer != nil && ch.Buyer != nil:
		ok, why := check(*c.Buyer, *ch.Buyer, rule)
		if !ok {
			if b := *ch.Buyer; b != (Metrics{}) && c.Buyer.AUC < b.AUC-rule.MaxAUCDrop-aucTol {
				why += fmt.Sprintf(" (%.4f below it)", b.AUC-c.Buyer.AUC)
			}
			return false, "buyer model: " + why
		}
		if ch.Cancel == nil && c.Cancel == nil {
			return true, why
		}
		reasons = append(reasons, "buyer model: "+why)
	case c.Buyer == nil && ch.Buyer != nil:
		return false, fmt.Sprintf("the candidate has no buyer churn model and champion %s has one: the buyers' churn columns would turn NULL", ch.Version)
	case c.Buyer != nil: // the champion is cancel-only
		ok, why := check(*c.Buyer, Metrics{}, rule)
		if !ok {
			return false, "buyer model: " + why
		}
		reasons = append(reasons, "buyer model judged alone (cancel-only champion "+ch.Version+"): "+why)
	}
	ok, why := cancelCheck(c.Cancel, ch, rule)
	if !ok {
		return false, why
	}
	return true, strings.Join(append(reasons, why), "; ")
}

// cancelCheck applies the rule to the cancel models.
func cancelCheck(c *CancelFigures, ch *Side, rule Rule) (bool, string) {
	finite := func(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
	switch {
	case ch == nil || ch.Cancel == nil:
		if c == nil {
			return true, "no cancel model on either side"
		}
		if ok, why := cancelAlone(c, rule); !ok {
			return false, why
		}
		if ch == nil {
			return true, fmt.Sprintf("no champion; cancel-only candidate, cancel model %s mean test AUC %.4f", c.Kind, c.MeanAUC)
		}
		return true, fmt.Sprintf("champion %s has no cancel model; candidate's cancel model %s mean test AUC %.4f", ch.Version, c.Kind, c.MeanAUC)
	case c == nil:
		return false, fmt.Sprintf("cancel model: the candidate has no cancel model and champion %s has one: the subscribers would lose their stored cancel model (the nightly would fit one each night instead)", ch.Version)
	case ch.Cancel.Incomparable != "":
		return false, fmt.Sprintf("cancel model: not compared with champion %s's on the same test snapshots: %s", ch.Version, ch.Cancel.Incomparable)
	case ch.Cancel.Alone != "":
		if ok, why := cancelAlone(c, rule); !ok {
			return false, why
		}
		return true, fmt.Sprintf("cancel model judged alone (%s): candidate cancel model %s mean test AUC %.4f", ch.Cancel.Alone, c.Kind, c.MeanAUC)
	case !slices.Equal(c.TestSnapshots, ch.Cancel.TestSnapshots):
		return false, fmt.Sprintf("cancel model: figures on different test snapshots (candidate [%s], champion %s [%s])",
			strings.Join(c.TestSnapshots, " "), ch.Version, strings.Join(ch.Cancel.TestSnapshots, " "))
	case !finite(c.MeanAUC) || !finite(c.ECE):
		return false, fmt.Sprintf("cancel model: candidate metrics not finite (mean AUC %v, ECE %v)", c.MeanAUC, c.ECE)
	case c.ECE > rule.MaxECE:
		return false, fmt.Sprintf("cancel model: candidate ECE %.4f > %.4f%s", c.ECE, rule.MaxECE, onRows(c))
	case c.MeanAUC < ch.Cancel.MeanAUC-rule.MaxAUCDrop-aucTol:
		return false, fmt.Sprintf("cancel model: candidate mean test AUC %.4f < champion %s's %.4f − %.4f (%.4f below it)%s",
			c.MeanAUC, ch.Version, ch.Cancel.MeanAUC, rule.MaxAUCDrop, ch.Cancel.MeanAUC-c.MeanAUC, onRows(c))
	}
	return true, fmt.Sprintf("candidate cancel model mean test AUC %.4f vs champion %s's %.4f (allowed drop %.4f), ECE %.4f ≤ %.4f%s",
		c.MeanAUC, ch.Version, ch.Cancel.MeanAUC, rule.MaxAUCDrop, c.ECE, rule.MaxECE, onRows(c))
}

// cancelAlone is the rule for a cancel model with none to compare with:
// finite figures and the ECE bound, as the buyer rule with no champion.
func cancelAlone(c *CancelFigures, rule Rule) (bool, string) {
	switch {
	case math.IsNaN(c.MeanAUC) || math.IsInf(c.MeanAUC, 0) || math.IsNaN(c.ECE) || math.IsInf(c.ECE, 0):
		return false, fmt.Sprintf("cancel model: candidate metrics not finite (mean test AUC %v, ECE %v)", c.MeanAUC, c.ECE)
	case c.ECE > rule.MaxECE:
		return false, fmt.Sprintf("cancel model: candidate ECE %.4f > %.4f", c.ECE, rule.MaxECE)
	}
	return true, ""
}

// onRows says where the cancel figures come from.
func onRows(c *CancelFigures) string {
	if !c.Rescored {
		return ""
	}
	s := fmt.Sprintf(", both scored on the candidate's test snapshots %s", strings.Join(c.TestSnapshots, ", "))
	if len(c.Dropped) > 0 {
		s += fmt.Sprintf(" (left out, in a training window: %s)", strings.Join(c.Dropped, ", "))
	}
	return s
}
