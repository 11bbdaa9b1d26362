package pipeline

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"gonum.org/v1/gonum/mat"

	"github.com/churnpipe/churnpipe/pipeline/gate"
)

// References are the training distributions of a model's features and of
// its churn scores, against which each night's drift is measured (PSI).
type References struct {
	Features map[string]gate.Reference `json:"features"`
	Score    *gate.Reference           `json:"score,omitempty"`
}

// ReferencesPath is where Train saves the references of a version.
func ReferencesPath(registryDir, version string) string {
	return filepath.Join(registryDir, "references", version+".json")
}

// newReferences bins every column of X and the scores.
func newReferences(X *mat.Dense, names []string, scores []float64) (*References, error) {
	r, _ := X.Dims()
	refs := &References{Features: map[string]gate.Reference{}}
	col := make([]float64, r)
	for j, name := range names {
		mat.Col(col, j, X)
		ref, err := gate.NewReference(col, 0)
		if err != nil {
			return nil, fmt.Errorf("reference of %s: %w", name, err)
		}
		refs.Features[name] = ref
	}
	if len(scores) > 0 {
		ref, err := gate.NewReference(scores, 0)
		if err != nil {
			return nil, err
		}
		refs.Score = &ref
	}
	return refs, nil
}

func saveJSON(path string, v any) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// LoadReferences reads the saved references of a version; (nil, nil) when
// none were saved.
func LoadReferences(registryDir, version string) (*References, error) {
	b, err := os.ReadFile(ReferencesPath(registryDir, version))
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var r References
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("references of %s: %w", version, err)
	}
	return &r, nil
}
