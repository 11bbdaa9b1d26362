package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"net/url"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	redactpkg "github.com/churnpipe/churnpipe/internal/redact"
)

// DefaultRegistry is the model registry folder of every command (nightly,
// train, retrain, models, report) when neither the configuration's
// registry key nor --registry names one: relative to the working folder.
const DefaultRegistry = "churnpipe-models"

// ErrInvalid is wrapped by every error about the content of a configuration
// file (syntax, unknown key, bad value, unset environment variable).
var ErrInvalid = errors.New("config: invalid")

// Error is one problem in a configuration file. It unwraps to ErrInvalid.
type Error struct {
	File string // "" for a configuration not read from a file
	Line int    // 1-based; 0 when the key is not in the file (a default)
	Path string // key path like "gates.psi_block"
	Msg  string
}

// Error returns for example "config.yaml:12: gates.psi_block: must be > gates.psi_warn (0.1 ≤ 0.1)".
func (e *Error) Error() string {
	loc := e.File
	if loc == "" {
		loc = "config"
	}
	if e.Line > 0 {
		loc += ":" + strconv.Itoa(e.Line)
	}
	return loc + ": " + e.Path + ": " + e.Msg
}

// Unwrap returns ErrInvalid.
func (e *Error) Unwrap() error { return ErrInvalid }

// Config is the whole configuration file.
type Config struct {
	Input    Input  `yaml:"input"`
	DB       string `yaml:"db"`        // sqlite:PATH, postgres://… or mysql://…; secrets via ${ENV}
	Table    string `yaml:"table"`     // current-night table; the history table is Table+"_history"
	Schema   string `yaml:"schema"`    // PostgreSQL schema (MySQL: database); "" = the DSN's search_path, else public (MySQL: the DSN's database)
	TimeZone string `yaml:"time_zone"` // IANA name deciding "yesterday"; "Local" = the machine's
	Registry string `yaml:"registry"`  // model registry folder; "" = DefaultRegistry (shared by nightly and retrain)
	// DBRetrySeconds is how long transient database failures (connection
	// refused or reset, a server restarting) are retried before the night
	// fails with exit 5; default 120.
	DBRetrySeconds int       `yaml:"db_retry_seconds"`
	Lifecycle      Lifecycle `yaml:"lifecycle"`
	// Subscriptions configures the contractual setting: the customers with
	// subscription events (features/subscription).
	Subscriptions Subscriptions `yaml:"subscriptions"`
	CLV           CLV           `yaml:"clv"`
	ChurnRisk     ChurnRisk     `yaml:"churn_risk"`
	RFM           RFM           `yaml:"rfm"`
	Outcomes      Outcomes      `yaml:"outcomes"`
	Gates         Gates         `yaml:"gates"`
	Publish       Publish       `yaml:"publish"`
	Metrics       Metrics       `yaml:"metrics"`
	Log           Log           `yaml:"log"`
	// Attributes is the customer-attribute file (CSV/Parquet keyed by
	// customer_id) a champion trained with --attributes needs.
	Attributes string `yaml:"attributes"`

	// ChurnScoring false switches the churn model off: the churn columns
	// stay NULL and no registry is read. true (the default) scores with the
	// registry's champion.
	ChurnScoring bool `yaml:"churn_scoring"`

	file  string
	lines map[string]int // key path → line
}

// Input says where the interaction history is and how to read it.
type Input struct {
	Path       string            `yaml:"path"`        // file or folder, or a PostgreSQL URL
	Table      string            `yaml:"table"`       // with a database path: the table to read
	SQL        string            `yaml:"sql"`         // with a database path: the SELECT to read
	Format     string            `yaml:"format"`      // "", csv, parquet, arrow
	Delimiter  string            `yaml:"delimiter"`   // one character, "tab" or "whitespace"
	NoHeader   bool              `yaml:"no_header"`   // CSV without header: map values are 1-based column numbers
	Map        map[string]string `yaml:"map"`         // canonical column → source column
	TimeLayout string            `yaml:"time_layout"` // Go layout of event_time; "" = RFC 3339 or YYYY-MM-DD
	MaxReject  float64           `yaml:"max_reject"`  // fraction of rejected rows that fails the run
	Quarantine string            `yaml:"quarantine"`  // CSV for rejected rows; "" = beside the database
}

// Lifecycle holds the stage thresholds, in days unless named otherwise.
type Lifecycle struct {
	ChurnDays              int     `yaml:"churn_days"`
	DormantDays            int     `yaml:"dormant_days"`
	RecentDays             int     `yaml:"recent_days"`
	ReactivationGapDays    int     `yaml:"reactivation_gap_days"`
	NewDays                int     `yaml:"new_days"`
	DeclineRatio           float64 `yaml:"decline_ratio"`
	MinDeclineTenureMonths int     `yaml:"min_decline_tenure_months"`
	MatureTenureDays       int     `yaml:"mature_tenure_days"`
	MaturePurchaseDays365  int     `yaml:"mature_purchase_days_365"`
}

// Subscriptions holds the subscriber stage thresholds (days unless named
// otherwise) and the contractual models' settings.
type Subscriptions struct {
	// Enabled false handles every customer as a buyer (no subscription columns).
	Enabled        bool `yaml:"enabled"`
	TrialDays      int  `yaml:"trial_days"`       // trial length when neither period_end nor expire says
	PeriodDays     int  `yaml:"period_days"`      // period length until the cadence or period_end gives one
	GraceDays      int  `yaml:"grace_days"`       // lapse: no renew or cancel this many days after the period end
	RenewalDueDays int  `yaml:"renewal_due_days"` // renewal_due: period end within this many days
	WonBackDays    int  `yaml:"won_back_days"`    // won_back: resubscribed within this many days
	// AtRisk is the cancel probability from which an active subscriber is at_risk.
	AtRisk             float64 `yaml:"at_risk"`
	Model              string  `yaml:"model"`                // retention model: sbg or bdw
	AnnualDiscountRate float64 `yaml:"annual_discount_rate"` // of DERL and residual CLV, applied per period
	HorizonDays        int     `yaml:"horizon_days"`         // the cancel model's horizon
}

// CLV configures the probabilistic models.
type CLV struct {
	Model              string  `yaml:"model"`     // auto (default: chosen by holdout), bgnbd, mbgnbd, paretonbd
	TimeUnit           string  `yaml:"time_unit"` // day, week, month
	HorizonDays        int     `yaml:"horizon_days"`
	CLVMonths          int     `yaml:"clv_months"`
	AnnualDiscountRate float64 `yaml:"annual_discount_rate"`
}

// ChurnRisk holds the probability cut-offs of the churn risk band.
type ChurnRisk struct {
	Medium float64 `yaml:"medium"`
	High   float64 `yaml:"high"`
}

// RFM holds the RFM segment rule table: a customer gets the segment of the
// first rule whose three score ranges hold its R, F and M scores (Others
// when none does). Package jobs checks the table (features/rfm.Rules.Validate:
// known segment names, ranges within 1–5, no rule shadowed by earlier ones).
type RFM struct {
	Segments []RFMSegment `yaml:"segments"`
}

// RFMSegment is one rule: a segment name and score ranges like "4-5" or "1".
type RFMSegment struct {
	Segment string `yaml:"segment"`
	R       string `yaml:"r"`
	F       string `yaml:"f"`
	M       string `yaml:"m"`
}

// DefaultRFMSegments is the default rule table (the same as
// features/rfm.DefaultRules, which a test checks).
func DefaultRFMSegments() []RFMSegment {
	return []RFMSegment{
		{"Champions", "4-5", "4-5", "4-5"},
		{"Can't Lose Them", "1-2", "4-5", "4-5"},
		{"Loyal Customers", "3-5", "3-5", "3-5"},
		{"At Risk", "1-2", "3-5", "1-5"},
		{"New Customers", "5", "1", "1-5"},
		{"Promising", "4", "1", "1-5"},
		{"Potential Loyalist", "3-5", "2-5", "1-5"},
		{"Need Attention", "3", "1", "3-5"},
		{"About To Sleep", "3", "1", "1-2"},
		{"Lost", "1", "1-2", "1-5"},
		{"Hibernating", "2", "1-2", "1-5"},
	}
}

// Outcomes configures prediction_outcomes: checking each published night,
// once it is a horizon old, against what the customers did.
type Outcomes struct {
	Enabled     bool    `yaml:"enabled"`
	HorizonDays int     `yaml:"horizon_days"` // the churn label's horizon
	MaxNights   int     `yaml:"max_nights"`   // nights evaluated per run, newest first
	MaxAUCDrop  float64 `yaml:"max_auc_drop"` // retrain recommended below the champion's test AUC − this
	MaxECERise  float64 `yaml:"max_ece_rise"` // … or above its test ECE + this
}

// Gates holds the quality-gate thresholds (0 switches a level off).
type Gates struct {
	MaxCustomerDrop float64 `yaml:"max_customer_drop"`
	MaxRowDrop      float64 `yaml:"max_row_drop"`
	MaxReject       float64 `yaml:"max_reject"`
	PSIWarn         float64 `yaml:"psi_warn"`
	PSIBlock        float64 `yaml:"psi_block"`
	ScorePSIWarn    float64 `yaml:"score_psi_warn"`
	ScorePSIBlock   float64 `yaml:"score_psi_block"`
	// Feed gates, night over night (see pipeline/gate).
	MaxDayDrop        float64 `yaml:"max_day_drop"`
	AsOfDayRatioWarn  float64 `yaml:"asof_day_ratio_warn"`
	AsOfDayRatioBlock float64 `yaml:"asof_day_ratio_block"`
	MaxSpanShiftDays  float64 `yaml:"max_span_shift_days"`
	EventMixWarn      float64 `yaml:"event_mix_warn"`
	EventMixBlock     float64 `yaml:"event_mix_block"`
	AmountPSIWarn     float64 `yaml:"amount_psi_warn"`
	AmountPSIBlock    float64 `yaml:"amount_psi_block"`
}

// Metrics says where the run's metrics go.
type Metrics struct {
	Textfile    string `yaml:"textfile"`    // .prom file for node_exporter; "" = none
	Pushgateway string `yaml:"pushgateway"` // base URL; "" = no push
	Job         string `yaml:"job"`         // Pushgateway job name
}

// Log configures the process log on stderr.
type Log struct {
	Format string `yaml:"format"` // text or json
	Level  string `yaml:"level"`  // debug, info, warn, error
}

// Default returns the documented defaults (deploy/churnpipe.example.yaml).
func Default() Config {
	return Config{
		Input:          Input{Delimiter: ",", MaxReject: 0.01},
		DB:             "sqlite:churnpipe.db",
		Table:          "customer_predictions",
		TimeZone:       "Local",
		Registry:       DefaultRegistry,
		ChurnScoring:   true,
		DBRetrySeconds: 120,
		Lifecycle: Lifecycle{ChurnDays: 180, DormantDays: 90, RecentDays: 90, ReactivationGapDays: 180, NewDays: 90,
			DeclineRatio: 0.8, MinDeclineTenureMonths: 6, MatureTenureDays: 365, MaturePurchaseDays365: 4},
		Subscriptions: Subscriptions{Enabled: true, TrialDays: 14, PeriodDays: 30, GraceDays: 3, RenewalDueDays: 7,
			WonBackDays: 90, AtRisk: 0.6, Model: "sbg", AnnualDiscountRate: 0.10, HorizonDays: 30},
		CLV:       CLV{Model: "auto", TimeUnit: "week", HorizonDays: 90, CLVMonths: 12, AnnualDiscountRate: 0.10},
		ChurnRisk: ChurnRisk{Medium: 0.3, High: 0.6},
		RFM:       RFM{Segments: DefaultRFMSegments()},
		Outcomes:  Outcomes{Enabled: true, HorizonDays: 90, MaxNights: 7, MaxAUCDrop: 0.05, MaxECERise: 0.05},
		Gates: Gates{MaxCustomerDrop: 0.1, MaxRowDrop: 0.1, MaxReject: 0.01, PSIWarn: 0.1, PSIBlock: 0.25,
			ScorePSIWarn: 0.1, ScorePSIBlock: 0.25, MaxDayDrop: 0.5, AsOfDayRatioWarn: 0.25, MaxSpanShiftDays: 7,
			EventMixWarn: 0.03, EventMixBlock: 0.1, AmountPSIWarn: 0.1, AmountPSIBlock: 0.25},
		Publish: Publish{MoneyDecimals: 2},
		Metrics: Metrics{Job: "churnpipe"},
		Log:     Log{Format: "text", Level: "info"},
	}
}

// Publish is how the prediction table is written.
type Publish struct {
	// MoneyDecimals: historic_value, expected_avg_spend, predicted_clv_12m
	// (and their interval bounds) are rounded to this many decimals of the
	// input's currency (2 = cents, 0 for yen; -1 = unrounded).
	MoneyDecimals int `yaml:"money_decimals"`
}

// Load reads, substitutes and validates the file at path with the process
// environment.
func Load(path string) (Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	return Parse(path, b, os.LookupEnv)
}

// Parse reads a configuration from data; name (the file's path) prefixes
// the messages and lookup resolves ${NAME} (nil = os.LookupEnv). The result
// starts from Default and is validated.
func Parse(name string, data []byte, lookup func(string) (string, bool)) (Config, error) {
	if lookup == nil {
		lookup = os.LookupEnv
	}
	cfg := Default()
	cfg.file, cfg.lines = name, map[string]int{}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return cfg, cfg.Validate() // an empty file is all defaults
		}
		return Config{}, yamlError(name, err, nil)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return Config{}, &Error{File: name, Path: "(document)", Msg: "one YAML document expected"}
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return cfg, cfg.Validate()
	}
	w := walker{file: name, lookup: lookup, lines: cfg.lines}
	w.walk(root, reflect.TypeOf(cfg), "")
	if len(w.errs) > 0 {
		return Config{}, errors.Join(w.errs...)
	}
	if err := root.Decode(&cfg); err != nil {
		return Config{}, yamlError(name, err, cfg.lines)
	}
	redactpkg.Register(cfg.DB, cfg.Input.Path) // secrets substituted from ${ENV}: never printed
	return cfg, cfg.Validate()
}

var yamlLine = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)

// yamlError turns a yaml.v3 error ("yaml: line 3: …" or a TypeError listing
// "line 5: cannot unmarshal …") into *Error values with file and line.
func yamlError(name string, err error, lines map[string]int) error {
	var msgs []string
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msgs = te.Errors
	} else {
		msgs = []string{err.Error()}
	}
	var out []error
	for _, m := range msgs {
		e := &Error{File: name, Path: "(document)", Msg: strings.TrimPrefix(m, "yaml: ")}
		if sm := yamlLine.FindStringSubmatch(m); sm != nil {
			e.Line, _ = strconv.Atoi(sm[1])
			e.Msg = sm[2]
			for p, l := range lines {
				if l == e.Line && (e.Path == "(document)" || len(p) > len(e.Path)) {
					e.Path = p // the deepest key on that line
				}
			}
		}
		out = append(out, e)
	}
	return errors.Join(out...)
}

// walker checks keys against the struct, records their lines and
// substitutes ${ENV} in scalar values.
type walker struct {
	file   string
	lookup func(string) (string, bool)
	lines  map[string]int
	errs   []error
}

func (w *walker) errf(line int, path, format string, args ...any) {
	w.errs = append(w.errs, &Error{File: w.file, Line: line, Path: path, Msg: fmt.Sprintf(format, args...)})
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func (w *walker) walk(n *yaml.Node, t reflect.Type, path string) {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
			return
		}
		if n.Kind != yaml.MappingNode {
			w.errf(n.Line, displayPath(path), "want a mapping of keys, got %s", kindName(n))
			return
		}
		fields := yamlFields(t)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p := join(path, k.Value)
			f, ok := fields[k.Value]
			if !ok {
				w.errf(k.Line, p, "unknown key (known: %s)", strings.Join(sortedKeys(fields), ", "))
				continue
			}
			w.lines[p] = k.Line
			w.walk(v, f.Type, p)
		}
	case reflect.Map:
		if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
			return
		}
		if n.Kind != yaml.MappingNode {
			w.errf(n.Line, displayPath(path), "want a mapping, got %s", kindName(n))
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p := join(path, k.Value)
			w.lines[p] = k.Line
			w.walk(v, t.Elem(), p)
		}
	case reflect.Slice:
		if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
			return
		}
		if n.Kind != yaml.SequenceNode {
			w.errf(n.Line, displayPath(path), "want a list, got %s", kindName(n))
			return
		}
		for i, v := range n.Content {
			p := fmt.Sprintf("%s[%d]", path, i)
			w.lines[p] = v.Line
			w.walk(v, t.Elem(), p)
		}
	default:
		if n.Kind != yaml.ScalarNode {
			w.errf(n.Line, displayPath(path), "want a single value, got %s", kindName(n))
			return
		}
		if strings.Contains(n.Value, "${") {
			v, err := Expand(n.Value, w.lookup)
			if err != nil {
				w.errf(n.Line, displayPath(path), "%v", err)
				return
			}
			n.Value = v
			if t.Kind() == reflect.String {
				n.Tag = "!!str" // a secret "null", "123" or "true" stays text
			} else if n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) == 0 {
				n.Tag = "" // resolve the substituted text as a number or boolean
			} else {
				n.Style, n.Tag = 0, ""
			}
		}
		w.checkInt(n, t, path)
	}
}

// checkInt refuses a number with a fraction or exponent for an integer
// key: yaml.v3 would truncate it (200.9 → 200) without a word.
func (w *walker) checkInt(n *yaml.Node, t reflect.Type, path string) {
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
	default:
		return
	}
	if n.ShortTag() != "!!float" {
		return // an integer, or text that yaml reports as a type error
	}
	if f, err := strconv.ParseFloat(strings.ReplaceAll(n.Value, "_", ""), 64); err == nil && f == math.Trunc(f) && !strings.ContainsAny(n.Value, ".eE") {
		w.errf(n.Line, displayPath(path), "%s: too large", n.Value)
		return
	}
	w.errf(n.Line, displayPath(path), "%s: want a whole number (the key is an integer; no fraction or exponent)", n.Value)
}

func displayPath(p string) string {
	if p == "" {
		return "(document)"
	}
	return p
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	return fmt.Sprintf("the value %q", n.Value)
}

func yamlFields(t reflect.Type) map[string]reflect.StructField {
	out := map[string]reflect.StructField{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := strings.Split(f.Tag.Get("yaml"), ",")[0]
		if f.IsExported() && tag != "" && tag != "-" {
			out[tag] = f
		}
	}
	return out
}

func sortedKeys(m map[string]reflect.StructField) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// ErrUnsetEnv is wrapped by Expand for ${NAME} with NAME unset.
var ErrUnsetEnv = errors.New("environment variable not set")

// Expand replaces ${NAME} by lookup(NAME) (an error wrapping ErrUnsetEnv if
// it is unset) and ${NAME:-default} by lookup(NAME) if set and non-empty,
// else default. "$${" is a literal "${"; any other '$' is kept as is. NAME
// is [A-Za-z_][A-Za-z0-9_]*.
func Expand(s string, lookup func(string) (string, bool)) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); {
		if strings.HasPrefix(s[i:], "$${") {
			b.WriteString("${")
			i += 3
			continue
		}
		if !strings.HasPrefix(s[i:], "${") {
			b.WriteByte(s[i])
			i++
			continue
		}
		end := strings.IndexByte(s[i:], '}')
		if end < 0 {
			return "", fmt.Errorf("unterminated ${ in %q", s)
		}
		expr := s[i+2 : i+end]
		name, def, hasDef := strings.Cut(expr, ":-")
		if !validName(name) {
			return "", fmt.Errorf("bad variable name %q in ${%s} (want letters, digits, _)", name, expr)
		}
		v, ok := lookup(name)
		switch {
		case hasDef && v == "":
			v = def
		case !ok:
			return "", fmt.Errorf("%w: ${%s} (export it, or write ${%s:-default})", ErrUnsetEnv, name, name)
		}
		b.WriteString(v)
		i += end + 1
	}
	return b.String(), nil
}

func validName(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		if !(c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// File returns the path the configuration was read from ("" for Default).
func (c Config) File() string { return c.file }

// Line returns the line of a key path such as "gates.psi_block" in the file,
// or 0 when the key was not in the file.
func (c Config) Line(path string) int { return c.lines[path] }

// Validate checks every value and relation; it returns all problems joined,
// each wrapping ErrInvalid and naming the file, line (when the key is in the
// file) and key path.
func (c Config) Validate() error {
	v := validator{c: c}
	if d := c.Publish.MoneyDecimals; d < -1 || d > 6 {
		v.bad("publish.money_decimals", "%d: want 0 … 6 decimals, or -1 for unrounded", d)
	}
	in := c.Input
	v.oneOf("input.format", in.Format, "", "csv", "parquet", "arrow")
	if in.Delimiter != "tab" && in.Delimiter != "whitespace" && in.Delimiter != `\t` && len([]rune(in.Delimiter)) != 1 {
		v.bad("input.delimiter", "%q: want one character, tab or whitespace", in.Delimiter)
	}
	for _, k := range sortedMapKeys(in.Map) {
		switch k {
		case "customer_id", "event_time", "event_type", "amount", "event_id", "subscription_id", "period_end":
		default:
			v.bad("input.map."+k, "unknown canonical column (want customer_id, event_time, event_type, amount, event_id, subscription_id or period_end)")
		}
		if strings.TrimSpace(in.Map[k]) == "" {
			v.bad("input.map."+k, "empty source column")
		}
	}
	v.fraction("input.max_reject", in.MaxReject)
	if in.TimeLayout != "" && !strings.ContainsAny(in.TimeLayout, "0123456789") {
		v.bad("input.time_layout", "%q has no Go reference-time element (like 2006-01-02 15:04:05)", in.TimeLayout)
	}

	if c.DBRetrySeconds < 0 || c.DBRetrySeconds > 86400 {
		v.bad("db_retry_seconds", "%d: want 0 … 86400 seconds", c.DBRetrySeconds)
	}
	lower := strings.ToLower(c.DB)
	switch {
	case strings.HasPrefix(lower, "sqlite:"), strings.HasPrefix(lower, "postgres://"), strings.HasPrefix(lower, "postgresql://"),
		strings.HasPrefix(lower, "mysql://"), strings.HasPrefix(lower, "mariadb://"):
	case !strings.Contains(c.DB, "://") && (strings.HasSuffix(lower, ".db") || strings.HasSuffix(lower, ".sqlite") || strings.HasSuffix(lower, ".sqlite3")):
	default:
		v.bad("db", "want sqlite:PATH, PATH.db, postgres://… or mysql://… (got %q)", redact(c.DB))
	}
	if c.Table == "" {
		v.bad("table", "must not be empty")
	}
	if c.TimeZone == "" {
		v.bad("time_zone", "must not be empty (use Local or an IANA name like Asia/Shanghai)")
	} else if _, err := time.LoadLocation(c.TimeZone); err != nil {
		v.bad("time_zone", "%q: %v", c.TimeZone, err)
	}

	l := c.Lifecycle
	for _, f := range []struct {
		key string
		val int
	}{{"churn_days", l.ChurnDays}, {"dormant_days", l.DormantDays}, {"recent_days", l.RecentDays},
		{"reactivation_gap_days", l.ReactivationGapDays}, {"new_days", l.NewDays},
		{"min_decline_tenure_months", l.MinDeclineTenureMonths}, {"mature_tenure_days", l.MatureTenureDays},
		{"mature_purchase_days_365", l.MaturePurchaseDays365}} {
		if f.val <= 0 {
			v.bad("lifecycle."+f.key, "%d: must be > 0", f.val)
		} else if lim := maxDays(f.key); f.val > lim {
			v.bad("lifecycle."+f.key, "%d: at most %d (100 years)", f.val, lim)
		}
	}
	if l.DormantDays > 0 && l.ChurnDays <= l.DormantDays {
		v.bad("lifecycle.churn_days", "%d: must be > lifecycle.dormant_days (%d)", l.ChurnDays, l.DormantDays)
	}
	if !(l.DeclineRatio > 0 && l.DeclineRatio <= 1) {
		v.bad("lifecycle.decline_ratio", "%g: must be in (0, 1]", l.DeclineRatio)
	}
	if l.MaturePurchaseDays365 > 365 {
		v.bad("lifecycle.mature_purchase_days_365", "%d: at most 365 purchase days fit in 365 days", l.MaturePurchaseDays365)
	}

	sb := c.Subscriptions
	for _, f := range []struct {
		key string
		val int
	}{{"trial_days", sb.TrialDays}, {"period_days", sb.PeriodDays}, {"won_back_days", sb.WonBackDays}, {"horizon_days", sb.HorizonDays}} {
		if f.val <= 0 {
			v.bad("subscriptions."+f.key, "%d: must be > 0", f.val)
		}
	}
	for _, f := range []struct {
		key string
		val int
	}{{"grace_days", sb.GraceDays}, {"renewal_due_days", sb.RenewalDueDays}} {
		if f.val < 0 {
			v.bad("subscriptions."+f.key, "%d: must be ≥ 0", f.val)
		}
	}
	if sb.HorizonDays > 365 {
		v.bad("subscriptions.horizon_days", "%d: at most 365", sb.HorizonDays)
	}
	if !(sb.AtRisk > 0 && sb.AtRisk <= 1) {
		v.bad("subscriptions.at_risk", "%g: must be in (0, 1]", sb.AtRisk)
	}
	v.oneOf("subscriptions.model", sb.Model, "sbg", "bdw")
	if r := sb.AnnualDiscountRate; !(r > 0 && r < 1) {
		v.bad("subscriptions.annual_discount_rate", "%g: must be in (0, 1) (0.10 = 10 %% a year)", r)
	}

	v.oneOf("clv.model", c.CLV.Model, "auto", "bgnbd", "mbgnbd", "paretonbd")
	v.oneOf("clv.time_unit", c.CLV.TimeUnit, "day", "week", "month")
	if h := c.CLV.HorizonDays; h <= 0 || h > maxDays("horizon_days") {
		v.bad("clv.horizon_days", "%d: must be > 0 and at most %d (100 years)", h, maxDays("horizon_days"))
	}
	if m := c.CLV.CLVMonths; m <= 0 || m > maxDays("clv_months") {
		v.bad("clv.clv_months", "%d: must be > 0 and at most %d (100 years)", m, maxDays("clv_months"))
	}
	if r := c.CLV.AnnualDiscountRate; !(r >= 0 && r < 1) {
		v.bad("clv.annual_discount_rate", "%g: must be in [0, 1) (0.10 = 10 %% a year)", r)
	}

	if r := c.ChurnRisk; !(r.Medium > 0 && r.Medium < 1) {
		v.bad("churn_risk.medium", "%g: must be in (0, 1)", r.Medium)
	} else if !(r.High > r.Medium && r.High < 1) {
		v.bad("churn_risk.high", "%g: must be > churn_risk.medium (%g) and < 1", r.High, r.Medium)
	}

	if len(c.RFM.Segments) == 0 {
		v.bad("rfm.segments", "must not be empty (leave the key out for the default table)")
	}
	for i, r := range c.RFM.Segments {
		p := fmt.Sprintf("rfm.segments[%d]", i)
		if r.Segment == "" || r.R == "" || r.F == "" || r.M == "" {
			v.bad(p, "want segment, r, f and m (e.g. {segment: Champions, r: \"4-5\", f: \"4-5\", m: \"4-5\"})")
		}
	}

	if o := c.Outcomes; o.HorizonDays < 7 || o.HorizonDays > 730 {
		v.bad("outcomes.horizon_days", "%d: must be between 7 and 730", o.HorizonDays)
	}
	if c.Outcomes.MaxNights < 1 {
		v.bad("outcomes.max_nights", "%d: must be ≥ 1", c.Outcomes.MaxNights)
	}
	v.fraction("outcomes.max_auc_drop", c.Outcomes.MaxAUCDrop)
	v.fraction("outcomes.max_ece_rise", c.Outcomes.MaxECERise)

	g := c.Gates
	v.fraction("gates.max_customer_drop", g.MaxCustomerDrop)
	v.fraction("gates.max_row_drop", g.MaxRowDrop)
	v.fraction("gates.max_reject", g.MaxReject)
	v.psi("gates.psi_warn", g.PSIWarn, "gates.psi_block", g.PSIBlock)
	v.psi("gates.score_psi_warn", g.ScorePSIWarn, "gates.score_psi_block", g.ScorePSIBlock)
	v.fraction("gates.max_day_drop", g.MaxDayDrop)
	v.fraction("gates.asof_day_ratio_warn", g.AsOfDayRatioWarn)
	v.fraction("gates.asof_day_ratio_block", g.AsOfDayRatioBlock)
	if !(g.MaxSpanShiftDays >= 0) || math.IsInf(g.MaxSpanShiftDays, 0) {
		v.bad("gates.max_span_shift_days", "%g: must be ≥ 0 days (0 = off)", g.MaxSpanShiftDays)
	}
	v.psi("gates.event_mix_warn", g.EventMixWarn, "gates.event_mix_block", g.EventMixBlock)
	v.psi("gates.amount_psi_warn", g.AmountPSIWarn, "gates.amount_psi_block", g.AmountPSIBlock)

	if p := c.Metrics.Pushgateway; p != "" {
		u, err := url.Parse(p)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			v.bad("metrics.pushgateway", "%q: want an http:// or https:// URL", redact(p))
		}
		if c.Metrics.Job == "" {
			v.bad("metrics.job", "must not be empty when metrics.pushgateway is set")
		}
	}
	if t := c.Metrics.Textfile; t != "" && !strings.HasSuffix(t, ".prom") {
		v.bad("metrics.textfile", "%q: node_exporter reads only files ending in .prom", t)
	}
	v.oneOf("log.format", c.Log.Format, "text", "json")
	v.oneOf("log.level", strings.ToLower(c.Log.Level), "debug", "info", "warn", "error")
	return errors.Join(v.errs...)
}

// maxDays is the largest value of a day or month count key: 100 years
// (the lifecycle rules are 32-bit integers; a larger value would wrap).
func maxDays(key string) int {
	if strings.HasSuffix(key, "_months") {
		return 1200
	}
	return 36500
}

type validator struct {
	c    Config
	errs []error
}

func (v *validator) bad(path, format string, args ...any) {
	v.errs = append(v.errs, &Error{File: v.c.file, Line: v.c.lines[path], Path: path, Msg: fmt.Sprintf(format, args...)})
}

func (v *validator) oneOf(path, val string, allowed ...string) {
	for _, a := range allowed {
		if val == a {
			return
		}
	}
	var shown []string
	for _, a := range allowed {
		if a != "" {
			shown = append(shown, a)
		}
	}
	v.bad(path, "%q: want one of %s", val, strings.Join(shown, ", "))
}

func (v *validator) fraction(path string, x float64) {
	if !(x >= 0 && x <= 1) {
		v.bad(path, "%g: must be a fraction between 0 and 1", x)
	}
}

func (v *validator) psi(warnPath string, warn float64, blockPath string, block float64) {
	if !(warn >= 0) || math.IsInf(warn, 0) {
		v.bad(warnPath, "%g: must be ≥ 0 (0 = off)", warn)
	}
	if !(block >= 0) || math.IsInf(block, 0) {
		v.bad(blockPath, "%g: must be ≥ 0 (0 = off)", block)
		return
	}
	if warn > 0 && block > 0 && block <= warn {
		v.bad(blockPath, "must be > %s (%g ≤ %g)", warnPath, block, warn)
	}
}

func sortedMapKeys(m map[string]string) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// redact hides the password of a DSN of any form.
func redact(s string) string { return redactpkg.DSN(s) }
