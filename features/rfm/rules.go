package rfm

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrRules is wrapped by every error about a rule table.
var ErrRules = errors.New("rfm: invalid segment rules")

// Range is an inclusive range of scores, 1–5.
type Range struct{ Lo, Hi int }

// Has reports whether v lies in the range.
func (r Range) Has(v int) bool { return r.Lo <= v && v <= r.Hi }

// String formats the range as in the configuration: "4-5", or "1".
func (r Range) String() string {
	if r.Lo == r.Hi {
		return strconv.Itoa(r.Lo)
	}
	return fmt.Sprintf("%d-%d", r.Lo, r.Hi)
}

// ParseRange reads "4-5", "1" or "1-5" (spaces allowed).
func ParseRange(s string) (Range, error) {
	lo, hi, dash := strings.Cut(strings.TrimSpace(s), "-")
	if !dash {
		hi = lo
	}
	a, err1 := strconv.Atoi(strings.TrimSpace(lo))
	b, err2 := strconv.Atoi(strings.TrimSpace(hi))
	if err1 != nil || err2 != nil {
		return Range{}, fmt.Errorf("%w: score range %q: want N or N-M with scores 1–5", ErrRules, s)
	}
	r := Range{a, b}
	if a < 1 || b > 5 || a > b {
		return Range{}, fmt.Errorf("%w: score range %q: want 1 ≤ N ≤ M ≤ 5", ErrRules, s)
	}
	return r, nil
}

// Rule names the segment of the customers whose scores lie in all three
// ranges.
type Rule struct {
	Segment Segment
	R, F, M Range
}

// Rules is a first-match rule table: a customer gets the segment of the
// first rule its scores match, Others when none does.
type Rules []Rule

// DefaultRules returns the default table (documented in doc.go). Unlike the
// textbook order, the narrower boxes come first so that every segment can
// match: Can't Lose Them before At Risk, New Customers and Promising before
// Potential Loyalist, Lost before Hibernating.
func DefaultRules() Rules {
	r := func(lo, hi int) Range { return Range{lo, hi} }
	return Rules{
		{Champions, r(4, 5), r(4, 5), r(4, 5)},
		{CantLoseThem, r(1, 2), r(4, 5), r(4, 5)},
		{LoyalCustomers, r(3, 5), r(3, 5), r(3, 5)},
		{AtRisk, r(1, 2), r(3, 5), r(1, 5)},
		{NewCustomers, r(5, 5), r(1, 1), r(1, 5)},
		{Promising, r(4, 4), r(1, 1), r(1, 5)},
		{PotentialLoyalist, r(3, 5), r(2, 5), r(1, 5)},
		{NeedAttention, r(3, 3), r(1, 1), r(3, 5)},
		{AboutToSleep, r(3, 3), r(1, 1), r(1, 2)},
		{Lost, r(1, 1), r(1, 2), r(1, 5)},
		{Hibernating, r(2, 2), r(1, 2), r(1, 5)},
	}
}

// SegmentOf returns the segment of scores r, f, m (each 1–5; 0 means no
// purchase and gives Others).
func (rs Rules) SegmentOf(r, f, m int) Segment {
	for _, ru := range rs {
		if ru.R.Has(r) && ru.F.Has(f) && ru.M.Has(m) {
			return ru.Segment
		}
	}
	return Others
}

// SegmentOf returns the segment of scores r, f, m under DefaultRules.
func SegmentOf(r, f, m int) Segment { return defaultRules.SegmentOf(r, f, m) }

var defaultRules = DefaultRules()

// Validate checks that every segment is a documented one other than Others,
// names at most one rule, has ranges within 1–5, and that every rule matches
// at least one score triple not taken by an earlier rule (a shadowed rule is
// an error: its segment could never occur).
func (rs Rules) Validate() error {
	var errs []error
	seen := map[Segment]bool{}
	for k, ru := range rs {
		switch {
		case ru.Segment == Others:
			errs = append(errs, fmt.Errorf("%w: rule %d: Others is what no rule matches; it needs no rule", ErrRules, k+1))
		case !Valid(ru.Segment):
			errs = append(errs, fmt.Errorf("%w: rule %d: unknown segment %q (known: %s)", ErrRules, k+1, ru.Segment, knownSegments()))
		case seen[ru.Segment]:
			errs = append(errs, fmt.Errorf("%w: rule %d: segment %q has a rule already", ErrRules, k+1, ru.Segment))
		}
		seen[ru.Segment] = true
		for _, x := range []struct {
			name string
			r    Range
		}{{"r", ru.R}, {"f", ru.F}, {"m", ru.M}} {
			if x.r.Lo < 1 || x.r.Hi > 5 || x.r.Lo > x.r.Hi {
				errs = append(errs, fmt.Errorf("%w: rule %d (%s): %s range %d-%d: want 1 ≤ lo ≤ hi ≤ 5", ErrRules, k+1, ru.Segment, x.name, x.r.Lo, x.r.Hi))
			}
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	hits := rs.Cells()
	for k, ru := range rs {
		if hits[ru.Segment] == 0 {
			errs = append(errs, fmt.Errorf("%w: rule %d (%s R%s F%s M%s) is shadowed by earlier rules: it can never match",
				ErrRules, k+1, ru.Segment, ru.R, ru.F, ru.M))
		}
	}
	return errors.Join(errs...)
}

// Cells counts, per segment, the score triples (of the 125) that the table
// assigns to it.
func (rs Rules) Cells() map[Segment]int {
	out := map[Segment]int{}
	for r := 1; r <= 5; r++ {
		for f := 1; f <= 5; f++ {
			for m := 1; m <= 5; m++ {
				out[rs.SegmentOf(r, f, m)]++
			}
		}
	}
	return out
}

func knownSegments() string {
	var s []string
	for _, l := range Labels() {
		if l.Code != Others {
			s = append(s, string(l.Code))
		}
	}
	return strings.Join(s, ", ")
}

// ParseRule builds a rule from its configuration form: a segment name and
// three ranges like "4-5".
func ParseRule(segment, r, f, m string) (Rule, error) {
	ru := Rule{Segment: Segment(segment)}
	var err error
	for _, x := range []struct {
		s   string
		dst *Range
	}{{r, &ru.R}, {f, &ru.F}, {m, &ru.M}} {
		if *x.dst, err = ParseRange(x.s); err != nil {
			return Rule{}, fmt.Errorf("segment %q: %w", segment, err)
		}
	}
	return ru, nil
}
