package pipeline

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"gonum.org/v1/gonum/mat"

	"github.com/churnpipe/churnpipe/features/rfm"
	"github.com/churnpipe/churnpipe/models/cancel"
	"github.com/churnpipe/churnpipe/models/churn"
	"github.com/churnpipe/churnpipe/models/registry"
)

// Columns of the prediction table filled by the churn model.
const (
	PredChurnProbability = "churn_probability"
	PredChurnRisk        = "churn_risk"
	PredPredictedStage   = "predicted_stage"
	PredSegment          = "segment"
	PredTopReasons       = "top_reasons"
	PredModelVersion     = "model_version"
)

// Champion is the churn model a night scores with.
type Champion struct {
	// Model is the buyer churn model; nil for a cancel-only version
	// (registry.KindNone): the buyers' churn columns are then null.
	Model   *churn.Model
	Version string
	Refs    *References // training distributions for the drift gates; may be nil
	// Cancel is the subscribers' cancel model trained with it; nil for a
	// version without one (older, or trained on a history without
	// subscribers): the night then fits one (see FitSubscribersWith).
	Cancel *cancel.Model
	attrs  *Attributes // the customer attributes the model expects; nil if none
}

// LoadChampion loads the registry's champion. It returns (nil, nil) when the
// registry has no champion yet, and an error wrapping churn.ErrSchemaMismatch
// when the champion was trained on another feature layout: the nightly job
// refuses such a model rather than score garbage.
func LoadChampion(dir string) (*Champion, error) { return LoadChampionWith(dir, "") }

// LoadChampionWith is LoadChampion for a night with a customer-attribute
// file (attributes; "" = none). A champion trained with attributes needs
// the file (an error wrapping ErrAttributes names what it expects); a
// champion trained without them ignores it.
func LoadChampionWith(dir, attributes string) (*Champion, error) {
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	reg, err := registry.Open(dir)
	if err != nil {
		return nil, err
	}
	aliases, _, err := reg.Aliases()
	if err != nil {
		return nil, fmt.Errorf("registry %s: %w", dir, err)
	}
	if _, ok := aliases["champion"]; !ok {
		return nil, nil
	}
	// The alias exists: a version it points at that is missing or corrupt
	// is an error, never "no model".
	a, err := reg.Load("champion")
	if err != nil {
		return nil, fmt.Errorf("registry %s: champion: %w", dir, err)
	}
	ch := &Champion{Version: a.Version}
	if a.HasBuyerModel() {
		if ch.Model, ch.Refs, ch.attrs, err = loadBuyerModel(dir, attributes, a); err != nil {
			return nil, err
		}
	}
	if len(a.CancelModel) > 0 {
		ch.Cancel = new(cancel.Model)
		if err := json.Unmarshal(a.CancelModel, ch.Cancel); err != nil {
			return nil, fmt.Errorf("champion %s in %s: cancel model: %w", a.Version, dir, err)
		}
		if err := ch.Cancel.Validate(); err != nil {
			return nil, fmt.Errorf("champion %s in %s: %w", a.Version, dir, err)
		}
	}
	return ch, nil
}

// loadBuyerModel decodes and checks the champion's buyer churn model and
// loads its drift references and customer attributes.
func loadBuyerModel(dir, attributes string, a *registry.Artifact) (*churn.Model, *References, *Attributes, error) {
	m, err := ModelFromArtifact(a)
	if err != nil {
		return nil, nil, nil, err
	}
	var attrs *Attributes
	if m.Attributes != nil {
		if attributes == "" {
			return nil, nil, nil, fmt.Errorf("%w: champion %s in %s was trained with customer attributes %v: pass the attribute file (--attributes FILE)",
				ErrAttributes, a.Version, dir, m.Attributes.Names())
		}
		if attrs, err = LoadAttributesFor(attributes, m.Attributes); err != nil {
			return nil, nil, nil, fmt.Errorf("champion %s in %s: %w", a.Version, dir, err)
		}
	}
	if err := m.CheckSchema(append(churn.FeatureNames(ExtraNames), m.Attributes.Names()...)); err != nil {
		return nil, nil, nil, fmt.Errorf("champion %s in %s: %w; retrain with this version of churnpipe", a.Version, dir, err)
	}
	refs, err := LoadReferences(dir, a.Version)
	if err != nil {
		return nil, nil, nil, err
	}
	return m, refs, attrs, nil
}

// HasBuyerModel reports whether the champion scores the buyers (false for
// a cancel-only version or no champion).
func (c *Champion) HasBuyerModel() bool { return c != nil && c.Model != nil }

// churnValues are the per-row churn outputs.
type churnValues struct {
	prob    []float64 // NaN for non-buyers
	stage   []string
	reasons []string
	version string
	// sub marks the subscribers' rows (nil = none): their probability is
	// the cancel model's, of version subVersion ("" = fitted in the night).
	sub        []bool
	subVersion string
	// X and rows are the design matrix of the buyers and their rows, for the drift gates.
	X    *mat.Dense
	rows []int
}

// score applies the champion to the buyers of the feature table at asOf.
func (c *Champion) score(feat arrow.RecordBatch, fc *featureCols, asOf time.Time) (churnValues, error) {
	n := fc.id.Len()
	v := churnValues{prob: nans(n), stage: make([]string, n), reasons: make([]string, n)}
	if !c.HasBuyerModel() {
		return v, nil // no buyer model: the buyers' churn columns stay null
	}
	v.version = c.Version
	var rows []int
	for i := 0; i < n; i++ {
		if fc.since.IsValid(i) {
			rows = append(rows, i)
		}
	}
	if len(rows) == 0 {
		return v, nil
	}
	extra, err := btydExtras(feat, asOf, c.Model.HorizonDays)
	if err != nil {
		return v, err
	}
	X, _, err := churn.Matrix(feat, rows, extra, ExtraNames)
	if err != nil {
		return v, err
	}
	if c.attrs != nil {
		ids := make([]string, len(rows))
		for k, i := range rows {
			ids[k] = fc.id.Value(i)
		}
		if X, err = c.attrs.extend(X, ids); err != nil {
			return v, err
		}
	}
	v.X, v.rows = X, rows
	// The buyers are independent: one chunk of them per CPU.
	err = inChunks(len(rows), churnChunkRows, func(lo, hi int) error {
		m := c.Model.At(asOf) // the calendar of the night's label window
		sc := m.NewScorer()
		for k := lo; k < hi; k++ {
			i, x := rows[k], X.RawRowView(k)
			p, reasons := sc.Score(x, 3)
			v.prob[i] = p
			v.stage[i] = m.PredictStage(x)
			b, err := json.Marshal(reasons)
			if err != nil {
				return err
			}
			v.reasons[i] = string(b)
		}
		return nil
	})
	return v, err
}

// churnChunkRows is the fewest buyers worth a goroutine of their own.
var churnChunkRows = 4096

// predictiveSegments returns the value tier (by predicted CLV where the
// models give one, else by net spend) and the value × risk segment of the
// buyers: customers with a purchase that are not subscribers (subRows[i] >
// 0; nil = none). Subscribers get "prospect" and tier C here, replaced by
// Subscribers.apply for the paying ones.
func predictiveSegments(fc *featureCols, clv clvValues, ch churnValues, r Rules, th churn.Thresholds, subRows []int) (tiers []rfm.Tier, segs []string, risks []string) {
	n := fc.id.Len()
	ids := make([]string, n)
	buyer := make([]bool, n)
	value := make([]float64, n)
	haveCLV, haveSub := false, false
	for i := 0; i < n; i++ {
		sub := subRows != nil && subRows[i] > 0
		haveSub = haveSub || sub
		ids[i], buyer[i] = fc.id.Value(i), fc.since.IsValid(i) && !sub
		if buyer[i] && !math.IsNaN(clv.clv[i]) {
			haveCLV = true
		}
	}
	for i := 0; i < n; i++ {
		value[i] = fc.net.Value(i)
		if haveCLV && !math.IsNaN(clv.clv[i]) {
			value[i] = clv.clv[i]
		}
	}
	tiers = r.Tiers
	if haveCLV || haveSub {
		tiers = rfm.Tiers(ids, buyer, value)
	}
	segs, risks = make([]string, n), make([]string, n)
	for i := 0; i < n; i++ {
		switch {
		case !buyer[i]:
			segs[i] = churn.SegmentProspect
		case !math.IsNaN(ch.prob[i]):
			risk := th.Band(ch.prob[i])
			risks[i] = string(risk)
			segs[i] = churn.Segment(string(tiers[i]), risk)
		}
	}
	return tiers, segs, risks
}

func churnColumns(ch churnValues, segs, risks []string) []column {
	return []column{
		f64Col(PredChurnProbability, func(i int) float64 { return ch.prob[i] }),
		strCol(PredChurnRisk, func(i int) string { return risks[i] }),
		strCol(PredPredictedStage, func(i int) string { return ch.stage[i] }),
		strCol(PredSegment, func(i int) string { return segs[i] }),
		strCol(PredTopReasons, func(i int) string { return ch.reasons[i] }),
		strCol(PredModelVersion, func(i int) string {
			switch {
			case math.IsNaN(ch.prob[i]):
				return ""
			case ch.sub != nil && ch.sub[i]:
				return ch.subVersion
			}
			return ch.version
		}),
	}
}
