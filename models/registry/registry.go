package registry

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Errors returned by the registry, wrapped with details.
var (
	ErrNotFound       = errors.New("registry: not found")
	ErrChecksum       = errors.New("registry: checksum mismatch")
	ErrSchemaMismatch = errors.New("registry: feature schema mismatch")
	ErrInvalid        = errors.New("registry: invalid artifact")
	ErrAlias          = errors.New("registry: invalid alias")
)

// Kind is the model family of an artifact.
type Kind string

const (
	KindLogit Kind = "logit"
	KindGBT   Kind = "gbt"
	// KindBlend is an out-of-time stack of gbt, logit and the BG/NBD probability.
	KindBlend Kind = "blend"
	// KindBTYD and KindRecency are calibrated baselines, registered as the
	// champion when no candidate beats them.
	KindBTYD    Kind = "btyd"
	KindRecency Kind = "recency"
	// KindNone marks a version without a buyer churn model: it holds only
	// the subscribers' cancel model (a history with too few one-off buyers
	// to train one, e.g. subscribers only). Its model, features and metrics
	// are empty.
	KindNone Kind = "none"
)

// Well-known aliases.
const (
	Champion   = "champion"
	Challenger = "challenger"
)

// Window is the half-open training window [From, To) of the snapshots a
// model was fitted on.
type Window struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
}

// Metrics are a model's evaluation figures on one test snapshot.
type Metrics struct {
	// TestSnapshot identifies the test snapshot (for example its as-of date
	// and content hash); Promote compares only metrics on the same one.
	TestSnapshot string  `json:"test_snapshot"`
	N            int     `json:"n"`
	AUC          float64 `json:"auc"`
	PRAUC        float64 `json:"pr_auc"`
	Brier        float64 `json:"brier"`
	LogLoss      float64 `json:"log_loss"`
	ECE          float64 `json:"ece"`
	Lift10       float64 `json:"lift10"`
}

func (m Metrics) finite() bool {
	for _, v := range []float64{m.AUC, m.PRAUC, m.Brier, m.LogLoss, m.ECE, m.Lift10} {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return false
		}
	}
	return true
}

// Artifact is one registered model: everything needed to score.
type Artifact struct {
	Version      string          `json:"version"` // set by Register
	Kind         Kind            `json:"kind"`
	Model        json.RawMessage `json:"model"`                // the model's own JSON
	Calibrator   json.RawMessage `json:"calibrator,omitempty"` // calibrate.Marshal output
	FeatureNames []string        `json:"feature_names"`
	FeatureTypes []string        `json:"feature_types"`
	SchemaHash   string          `json:"schema_hash"` // SchemaHash(FeatureNames, FeatureTypes)
	TrainWindow  Window          `json:"train_window"`
	Metrics      Metrics         `json:"metrics"`
	// CancelModel is the subscribers' cancel model trained with the churn
	// model (models/cancel JSON); absent in versions trained on a history
	// without subscribers and in versions older than it.
	CancelModel json.RawMessage `json:"cancel_model,omitempty"`
	CreatedAt   time.Time       `json:"created_at"` // set by Register when zero
}

// HasBuyerModel reports whether the version holds a buyer churn model
// (every kind but KindNone).
func (a *Artifact) HasBuyerModel() bool { return a.Kind != KindNone }

// Entry is one manifest row.
type Entry struct {
	Version     string    `json:"version"`
	File        string    `json:"file"` // relative to the registry directory
	SHA256      string    `json:"sha256"`
	Size        int64     `json:"size"`
	Kind        Kind      `json:"kind"`
	SchemaHash  string    `json:"schema_hash"`
	TrainWindow Window    `json:"train_window"`
	Metrics     Metrics   `json:"metrics"`
	CreatedAt   time.Time `json:"created_at"`
}

type manifest struct {
	Versions []Entry `json:"versions"`
}

// AliasEvent records one alias change.
type AliasEvent struct {
	Alias    string    `json:"alias"`
	Version  string    `json:"version"`  // "" when the alias was removed
	Previous string    `json:"previous"` // "" when the alias was new
	Reason   string    `json:"reason"`
	Forced   bool      `json:"forced"`
	At       time.Time `json:"at"`
}

type aliasFile struct {
	Aliases map[string]string `json:"aliases"`
	History []AliasEvent      `json:"history"`
}

// SchemaHash returns the hex SHA-256 of the ordered (name, type) pairs, so
// that renaming, retyping or reordering a feature changes it. It panics if
// len(names) != len(types).
func SchemaHash(names, types []string) string {
	if len(names) != len(types) {
		panic("registry: SchemaHash: names and types differ in length")
	}
	h := sha256.New()
	for i := range names {
		// Length-prefix both fields so no concatenation is ambiguous.
		fmt.Fprintf(h, "%d:%s%d:%s;", len(names[i]), names[i], len(types[i]), types[i])
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Registry is a model registry rooted at a directory.
type Registry struct {
	dir string
	mu  sync.Mutex
	// Now returns the current time; tests may replace it.
	Now func() time.Time
}

const (
	manifestName = "manifest.json"
	aliasesName  = "aliases.json"
	versionsDir  = "versions"
)

// Open opens the registry in dir, creating the directory if needed.
func Open(dir string) (*Registry, error) {
	if err := os.MkdirAll(filepath.Join(dir, versionsDir), 0o755); err != nil {
		return nil, fmt.Errorf("registry: %w", err)
	}
	return &Registry{dir: dir, Now: func() time.Time { return time.Now().UTC() }}, nil
}

// Dir returns the registry's directory.
func (r *Registry) Dir() string { return r.dir }

// writeAtomic writes b to name via a synced temporary file and a rename.
func writeAtomic(name string, b []byte) error {
	f, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, name)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}

func readJSON(name string, v any) error {
	b, err := os.ReadFile(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // zero value
	}
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%w: %s: %v", ErrInvalid, name, err) // a corrupt registry file
	}
	return nil
}

func (r *Registry) readManifest() (manifest, error) {
	var m manifest
	if err := readJSON(filepath.Join(r.dir, manifestName), &m); err != nil {
		return m, fmt.Errorf("registry: manifest: %w", err)
	}
	return m, nil
}

func (r *Registry) readAliases() (aliasFile, error) {
	var a aliasFile
	if err := readJSON(filepath.Join(r.dir, aliasesName), &a); err != nil {
		return a, fmt.Errorf("registry: aliases: %w", err)
	}
	if a.Aliases == nil {
		a.Aliases = map[string]string{}
	}
	return a, nil
}

func marshal(v any) ([]byte, error) { return json.MarshalIndent(v, "", "  ") }

// Register validates a, assigns it the next version (v000001, v000002, …),
// writes its file and appends it to the manifest. a.Version and, when
// zero, a.CreatedAt are set. Errors wrap ErrInvalid for a malformed
// artifact (unknown kind, empty or invalid model JSON, names/types length
// mismatch, a schema hash that does not match the features, non-finite
// metrics).
func (r *Registry) Register(a *Artifact) (string, error) {
	switch a.Kind {
	case KindLogit, KindGBT, KindBlend, KindBTYD, KindRecency:
		if len(a.Model) == 0 || !json.Valid(a.Model) {
			return "", fmt.Errorf("%w: model is not valid JSON", ErrInvalid)
		}
	case KindNone:
		if len(a.Model) > 0 && string(a.Model) != "null" || len(a.FeatureNames) > 0 || a.Metrics != (Metrics{}) {
			return "", fmt.Errorf("%w: a version of kind %q holds no buyer model, features or metrics", ErrInvalid, a.Kind)
		}
		if len(a.CancelModel) == 0 {
			return "", fmt.Errorf("%w: a version of kind %q needs a cancel model", ErrInvalid, a.Kind)
		}
		a.Model = nil
	default:
		return "", fmt.Errorf("%w: kind %q", ErrInvalid, a.Kind)
	}
	if len(a.Calibrator) > 0 && !json.Valid(a.Calibrator) {
		return "", fmt.Errorf("%w: calibrator is not valid JSON", ErrInvalid)
	}
	if len(a.CancelModel) > 0 && !json.Valid(a.CancelModel) {
		return "", fmt.Errorf("%w: cancel model is not valid JSON", ErrInvalid)
	}
	if len(a.FeatureNames) != len(a.FeatureTypes) {
		return "", fmt.Errorf("%w: %d feature names, %d types", ErrInvalid, len(a.FeatureNames), len(a.FeatureTypes))
	}
	if h := SchemaHash(a.FeatureNames, a.FeatureTypes); a.SchemaHash != h {
		return "", fmt.Errorf("%w: schema hash %q does not match the features (%q)", ErrInvalid, a.SchemaHash, h)
	}
	if !a.Metrics.finite() {
		return "", fmt.Errorf("%w: non-finite metrics %+v", ErrInvalid, a.Metrics)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	m, err := r.readManifest()
	if err != nil {
		return "", err
	}
	next := 1
	for _, e := range m.Versions {
		if n, err := strconv.Atoi(strings.TrimPrefix(e.Version, "v")); err == nil && n >= next {
			next = n + 1
		}
	}
	a.Version = fmt.Sprintf("v%06d", next)
	if a.CreatedAt.IsZero() {
		a.CreatedAt = r.Now()
	}
	b, err := marshal(a)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	rel := filepath.Join(versionsDir, a.Version+".json")
	if err := writeAtomic(filepath.Join(r.dir, rel), b); err != nil {
		return "", fmt.Errorf("registry: write %s: %w", rel, err)
	}
	sum := sha256.Sum256(b)
	m.Versions = append(m.Versions, Entry{
		Version: a.Version, File: filepath.ToSlash(rel), SHA256: hex.EncodeToString(sum[:]), Size: int64(len(b)),
		Kind: a.Kind, SchemaHash: a.SchemaHash, TrainWindow: a.TrainWindow, Metrics: a.Metrics, CreatedAt: a.CreatedAt,
	})
	mb, err := marshal(m)
	if err != nil {
		return "", err
	}
	if err := writeAtomic(filepath.Join(r.dir, manifestName), mb); err != nil {
		return "", fmt.Errorf("registry: write manifest: %w", err)
	}
	return a.Version, nil
}

// List returns the manifest entries in version order.
func (r *Registry) List() ([]Entry, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	m, err := r.readManifest()
	if err != nil {
		return nil, err
	}
	sort.Slice(m.Versions, func(i, j int) bool { return m.Versions[i].Version < m.Versions[j].Version })
	return m.Versions, nil
}

// resolve maps a version or alias to a manifest entry. r.mu must be held.
func (r *Registry) resolve(ref string) (Entry, error) {
	version := ref
	if !isVersion(ref) {
		a, err := r.readAliases()
		if err != nil {
			return Entry{}, err
		}
		v, ok := a.Aliases[ref]
		if !ok {
			return Entry{}, fmt.Errorf("%w: alias %q", ErrNotFound, ref)
		}
		version = v
	}
	m, err := r.readManifest()
	if err != nil {
		return Entry{}, err
	}
	for _, e := range m.Versions {
		if e.Version == version {
			return e, nil
		}
	}
	return Entry{}, fmt.Errorf("%w: version %q", ErrNotFound, version)
}

var versionRE = regexp.MustCompile(`^v[0-9]+$`)

func isVersion(s string) bool { return versionRE.MatchString(s) }

// Load returns the artifact of a version ("v000003") or alias
// ("champion"), after checking its SHA-256 against the manifest. Errors
// wrap ErrNotFound or ErrChecksum.
func (r *Registry) Load(ref string) (*Artifact, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e, err := r.resolve(ref)
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(filepath.Join(r.dir, filepath.FromSlash(e.File)))
	if err != nil {
		return nil, fmt.Errorf("registry: %s: %w", e.Version, err)
	}
	sum := sha256.Sum256(b)
	if got := hex.EncodeToString(sum[:]); got != e.SHA256 {
		return nil, fmt.Errorf("%w: %s has sha256 %s, manifest says %s", ErrChecksum, e.File, got, e.SHA256)
	}
	var a Artifact
	if err := json.Unmarshal(b, &a); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrInvalid, e.File, err)
	}
	return &a, nil
}

// LoadFor is Load for a scorer whose features have the given schema hash;
// an artifact trained on another schema gives an error wrapping
// ErrSchemaMismatch.
func (r *Registry) LoadFor(ref, schemaHash string) (*Artifact, error) {
	a, err := r.Load(ref)
	if err != nil {
		return nil, err
	}
	if a.SchemaHash != schemaHash {
		return nil, fmt.Errorf("%w: %s (%s) was trained on schema %.12s…, scorer has %.12s…", ErrSchemaMismatch, ref, a.Version, a.SchemaHash, schemaHash)
	}
	return a, nil
}

var aliasRE = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,63}$`)

// SetAlias points alias at version (which must exist), or removes the
// alias when version is "", and appends the change with its reason and
// forced flag to the history. Alias names are lower-case identifiers that
// do not look like versions. Errors wrap ErrAlias or ErrNotFound.
func (r *Registry) SetAlias(alias, version, reason string, forced bool) error {
	if !aliasRE.MatchString(alias) || isVersion(alias) {
		return fmt.Errorf("%w: %q", ErrAlias, alias)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if version != "" {
		if !isVersion(version) {
			return fmt.Errorf("%w: %q is not a version", ErrAlias, version)
		}
		if _, err := r.resolve(version); err != nil {
			return err
		}
	}
	a, err := r.readAliases()
	if err != nil {
		return err
	}
	prev := a.Aliases[alias]
	if version == "" {
		delete(a.Aliases, alias)
	} else {
		a.Aliases[alias] = version
	}
	a.History = append(a.History, AliasEvent{Alias: alias, Version: version, Previous: prev, Reason: reason, Forced: forced, At: r.Now()})
	b, err := marshal(a)
	if err != nil {
		return err
	}
	if err := writeAtomic(filepath.Join(r.dir, aliasesName), b); err != nil {
		return fmt.Errorf("registry: write aliases: %w", err)
	}
	return nil
}

// Aliases returns the current alias map and the full change history.
func (r *Registry) Aliases() (map[string]string, []AliasEvent, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	a, err := r.readAliases()
	return a.Aliases, a.History, err
}

// Promote applies the promotion rule (PromoteVersion) to a registered
// version (or an alias such as "challenger") against the current champion,
// if any: the buyer models by the metrics each recorded on its test
// snapshot (the rule refuses metrics from different snapshots), the cancel
// models both scored on the candidate's saved cancel test rows
// (LoadCancelTests, CompareCancel); when the rule passes or force is set,
// champion points at that version. The decision's reason is recorded after
// the caller's reason in the alias history. Errors wrap ErrNotFound; a
// candidate whose artifact fails its checksum or does not parse is never
// promoted, even with force (ErrChecksum, ErrInvalid): the champion would
// be a model nobody can load. A champion that cannot be loaded is an error
// unless both hold a buyer model: then the buyer rule decides on the
// manifest's metrics and the reason says the cancel models were not
// compared.
func (r *Registry) Promote(ref, reason string, rule Rule, force bool) (Decision, error) {
	r.mu.Lock()
	cand, err := r.resolve(ref)
	var champ *Entry
	if err == nil {
		var e Entry
		if e, err = r.resolve(Champion); err == nil {
			champ = &e
		} else if errors.Is(err, ErrNotFound) {
			err = nil // no champion yet
		}
	}
	r.mu.Unlock()
	if err != nil {
		return Decision{}, err
	}
	ca, err := r.Load(cand.Version)
	if err != nil {
		return Decision{Reason: "not promoted: the artifact cannot be loaded"}, err
	}
	cs, err := SideOf(ca)
	if err != nil {
		return Decision{Reason: "not promoted: the artifact cannot be loaded"}, err
	}
	var d Decision
	switch {
	case champ == nil:
		d = PromoteVersion(cs, nil, rule, force)
	default:
		cha, lerr := r.Load(champ.Version)
		if lerr != nil {
			if cand.Kind == KindNone || champ.Kind == KindNone {
				return Decision{}, fmt.Errorf("registry: champion: %w", lerr)
			}
			// Buyer against buyer: the manifest's metrics are enough.
			d = Promote(cand.Metrics, champ.Metrics, rule, force)
			d.Reason += fmt.Sprintf("; cancel models not compared: champion %s cannot be loaded (%v)", champ.Version, lerr)
			break
		}
		var tests *CancelTests
		if len(ca.CancelModel) > 0 && len(cha.CancelModel) > 0 {
			// Not saved or damaged: the rule says the models were not compared.
			tests, _ = r.LoadCancelTests(cand.Version)
		}
		cs, chs, err := Sides(ca, cha, tests)
		if err != nil {
			return Decision{}, err
		}
		d = PromoteVersion(cs, chs, rule, force)
	}
	if !d.Promote {
		return d, nil
	}
	if _, err := r.Load(cand.Version); err != nil {
		return Decision{Reason: "not promoted: the artifact cannot be loaded"}, err
	}
	why := d.Reason
	if reason != "" {
		why = reason + "; " + why
	}
	return d, r.SetAlias(Champion, cand.Version, why, d.Forced)
}
