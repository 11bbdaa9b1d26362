package gbt

import (
	"errors"
	"fmt"
	"math"
	"runtime"
)

// Errors returned by Fit, wrapped with details; test with errors.Is.
var (
	ErrShape  = errors.New("gbt: inconsistent shape")
	ErrLabel  = errors.New("gbt: invalid label")
	ErrParams = errors.New("gbt: invalid parameter")
)

// Objective is the training loss.
type Objective string

const (
	// Binary is the logistic loss for labels 0/1.
	Binary Objective = "binary:logistic"
	// Multiclass is the softmax cross-entropy for labels 0…NumClass−1.
	Multiclass Objective = "multi:softmax"
)

// Growth is the tree growth policy.
type Growth string

const (
	// DepthWise splits every node of a level before the next (XGBoost).
	DepthWise Growth = "depthwise"
	// LeafWise splits the leaf with the best gain first (LightGBM).
	LeafWise Growth = "leafwise"
)

// NaNBin is the bin index of missing values. Value bins are 0…MaxBins−1.
const NaNBin = 255

// Params configures Fit. The zero value of a field marked "default" takes
// the value shown by DefaultParams.
type Params struct {
	Objective Objective `json:"objective"` // default Binary
	NumClass  int       `json:"num_class"` // classes for Multiclass (≥ 2)

	Rounds       int     `json:"rounds"`        // boosting rounds, default 100
	LearningRate float64 `json:"learning_rate"` // η in (0, 1], default 0.1
	Growth       Growth  `json:"growth"`        // default DepthWise
	// MaxDepth bounds tree depth (root = depth 0), default 6; negative means
	// unbounded (only sensible with LeafWise).
	MaxDepth int `json:"max_depth"`
	// MaxLeaves bounds the leaves per tree; 0 means unbounded for
	// DepthWise and 31 for LeafWise.
	MaxLeaves      int     `json:"max_leaves"`
	MinChildWeight float64 `json:"min_child_weight"` // minimum hessian per child, ≥ 0
	Lambda         float64 `json:"lambda"`           // L2 on leaf values λ ≥ 0
	MinSplitGain   float64 `json:"min_split_gain"`   // γ ≥ 0
	Subsample      float64 `json:"subsample"`        // row fraction per round, (0, 1], default 1
	Seed           uint64  `json:"seed"`
	MaxBins        int     `json:"max_bins"` // value bins per feature, 2…255, default 255

	// EarlyStoppingRounds stops after that many rounds without improvement
	// of the validation loss; 0 disables (the loss is still recorded).
	EarlyStoppingRounds int `json:"early_stopping_rounds"`

	// Workers is the number of goroutines building histograms; 0 means
	// GOMAXPROCS. It does not change the result.
	Workers int `json:"-"`

	// Names optionally names the features; stored in the Model.
	Names []string `json:"-"`
}

// DefaultParams returns the defaults for the binary objective:
// 100 depth-wise rounds of depth 6 at η = 0.1, MinChildWeight 1, λ = 1,
// 255 bins, no subsampling.
func DefaultParams() Params {
	return Params{
		Objective:      Binary,
		Rounds:         100,
		LearningRate:   0.1,
		Growth:         DepthWise,
		MaxDepth:       6,
		MinChildWeight: 1,
		Lambda:         1,
		Subsample:      1,
		MaxBins:        255,
	}
}

// withDefaults fills zero fields and validates.
func (p Params) withDefaults(nFeatures int) (Params, error) {
	d := DefaultParams()
	if p.Objective == "" {
		p.Objective = d.Objective
	}
	if p.Rounds == 0 {
		p.Rounds = d.Rounds
	}
	if p.LearningRate == 0 {
		p.LearningRate = d.LearningRate
	}
	if p.Growth == "" {
		p.Growth = d.Growth
	}
	if p.MaxDepth == 0 {
		p.MaxDepth = d.MaxDepth
	}
	if p.MaxLeaves == 0 && p.Growth == LeafWise {
		p.MaxLeaves = 31
	}
	if p.Subsample == 0 {
		p.Subsample = 1
	}
	if p.MaxBins == 0 {
		p.MaxBins = d.MaxBins
	}
	if p.Workers <= 0 {
		p.Workers = runtime.GOMAXPROCS(0)
	}
	switch {
	case p.Objective != Binary && p.Objective != Multiclass:
		return p, fmt.Errorf("%w: objective %q", ErrParams, p.Objective)
	case p.Objective == Multiclass && p.NumClass < 2:
		return p, fmt.Errorf("%w: NumClass %d for multiclass", ErrParams, p.NumClass)
	case p.Growth != DepthWise && p.Growth != LeafWise:
		return p, fmt.Errorf("%w: growth %q", ErrParams, p.Growth)
	case p.Rounds < 0:
		return p, fmt.Errorf("%w: Rounds %d", ErrParams, p.Rounds)
	case !(p.LearningRate > 0 && p.LearningRate <= 1):
		return p, fmt.Errorf("%w: LearningRate %v", ErrParams, p.LearningRate)
	case p.MaxLeaves < 0 || p.MaxLeaves == 1:
		return p, fmt.Errorf("%w: MaxLeaves %d", ErrParams, p.MaxLeaves)
	case !(p.MinChildWeight >= 0) || math.IsInf(p.MinChildWeight, 1):
		return p, fmt.Errorf("%w: MinChildWeight %v", ErrParams, p.MinChildWeight)
	case !(p.Lambda >= 0) || math.IsInf(p.Lambda, 1):
		return p, fmt.Errorf("%w: Lambda %v", ErrParams, p.Lambda)
	case !(p.MinSplitGain >= 0) || math.IsInf(p.MinSplitGain, 1):
		return p, fmt.Errorf("%w: MinSplitGain %v", ErrParams, p.MinSplitGain)
	case !(p.Subsample > 0 && p.Subsample <= 1):
		return p, fmt.Errorf("%w: Subsample %v", ErrParams, p.Subsample)
	case p.MaxBins < 2 || p.MaxBins > 255:
		return p, fmt.Errorf("%w: MaxBins %d not in [2, 255]", ErrParams, p.MaxBins)
	case p.EarlyStoppingRounds < 0:
		return p, fmt.Errorf("%w: EarlyStoppingRounds %d", ErrParams, p.EarlyStoppingRounds)
	case p.Names != nil && len(p.Names) != nFeatures:
		return p, fmt.Errorf("%w: %d names for %d features", ErrShape, len(p.Names), nFeatures)
	}
	if p.Objective == Binary {
		p.NumClass = 2
	}
	return p, nil
}
