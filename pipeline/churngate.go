package pipeline

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"

	"github.com/churnpipe/churnpipe/data/store"
	"github.com/churnpipe/churnpipe/pipeline/gate"
)

// ErrRegistry marks a churn model registry that a run was told to use but
// cannot: a configured folder that is missing, one without a champion, or a
// champion that does not load (missing version, checksum, other feature
// schema). The CLI maps it to exit code 7.
var ErrRegistry = errors.New("churn model registry unusable")

// CheckChurnColumns is the name of the gate that blocks a night without
// churn scores after a night that had them.
const CheckChurnColumns = "churn_columns"

// loadNightChampion loads the champion the night scores with: nil when
// churn scoring is off (cfg.Registry == ""), or when the default registry
// (not configured) is missing or has no champion yet — with a warning. Any
// other failure wraps ErrRegistry.
func loadNightChampion(cfg NightlyConfig, log *slog.Logger) (*Champion, error) {
	if cfg.Registry == "" {
		log.Info("churn scoring off: churn columns left null")
		return nil, nil
	}
	if fi, err := os.Stat(cfg.Registry); err != nil {
		if !errors.Is(err, os.ErrNotExist) || cfg.RegistryRequired {
			return nil, fmt.Errorf("%w: %s: %w (train one with churnpipe train --registry %s, or set churn_scoring: false)",
				ErrRegistry, cfg.Registry, err, cfg.Registry)
		}
	} else if !fi.IsDir() {
		return nil, fmt.Errorf("%w: %s is not a folder", ErrRegistry, cfg.Registry)
	}
	ch, err := LoadChampionWith(cfg.Registry, cfg.Attributes)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRegistry, err)
	}
	if ch == nil {
		if cfg.RegistryRequired {
			return nil, fmt.Errorf("%w: %s has no champion model (train and promote one: churnpipe train --registry %s, or set churn_scoring: false)",
				ErrRegistry, cfg.Registry, cfg.Registry)
		}
		log.Warn("no champion churn model in the registry: churn columns left null; run churnpipe train", "registry", cfg.Registry)
	}
	return ch, nil
}

// churnColumnsGate adds the churn_columns check to rep: it blocks when the
// last succeeded run published churn scores (its details name a
// model_version) and tonight has no buyer churn model (no champion, or a
// cancel-only one), so that the CRM's churn
// columns never turn NULL silently. --force-publish overrides it as any gate.
func churnColumnsGate(rep gate.Report, last store.Run, haveLast bool, ch *Champion, registry string) gate.Report {
	r := gate.Result{Name: CheckChurnColumns, Value: math.NaN(), Block: 1, Status: gate.Pass}
	prev, _ := last.Details["model_version"].(string)
	switch {
	case !haveLast:
		r.Message = "skipped: no earlier succeeded run"
	case ch.HasBuyerModel():
		r.Value = 0
		r.Message = "churn columns scored by " + ch.Version
	case prev == "" && ch != nil:
		r.Value = 0
		r.Message = "no buyer churn model tonight (champion " + ch.Version + " holds only the subscribers' cancel model), none in the last succeeded run either"
	case prev == "":
		r.Value = 0
		r.Message = "no churn model tonight, none in the last succeeded run either"
	default:
		r.Value, r.Status = 1, gate.Block
		where := "churn scoring is off"
		switch {
		case ch != nil:
			where = "champion " + ch.Version + " holds no buyer churn model (only the subscribers' cancel model)"
		case registry != "":
			where = "registry " + registry + " has no champion"
		}
		r.Message = fmt.Sprintf("the last succeeded run %s published churn scores of model %s; tonight %s, so every churn column would be NULL",
			last.ID, prev, where)
	}
	rep.Results = append(rep.Results, r)
	if r.Status == gate.Block {
		rep.Status = gate.Block
	}
	return rep
}
