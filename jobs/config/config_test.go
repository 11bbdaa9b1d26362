package config_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/churnpipe/churnpipe/internal/testenv"
	"github.com/churnpipe/churnpipe/jobs/config"
)

func env(kv ...string) func(string) (string, bool) {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func examplePath(t *testing.T) string {
	return filepath.Join(testenv.Root(t), "deploy", "churnpipe.example.yaml")
}

// The example file states the defaults: loaded with an empty environment it
// gives Default(), apart from the input path it fills in.
func TestExampleIsTheDefaults(t *testing.T) {
	b, err := os.ReadFile(examplePath(t))
	require.NoError(t, err)
	got, err := config.Parse("churnpipe.example.yaml", b, env())
	require.NoError(t, err)
	want := config.Default()
	want.Input.Path = "/var/lib/churnpipe/interactions"
	want.Input.Map = map[string]string{}
	assert.Equal(t, want.Input, got.Input)
	assert.Equal(t, want.DB, got.DB)
	assert.Equal(t, want.Table, got.Table)
	assert.Equal(t, want.Schema, got.Schema)
	assert.Equal(t, want.TimeZone, got.TimeZone)
	assert.Equal(t, want.Registry, got.Registry)
	assert.Equal(t, want.Lifecycle, got.Lifecycle)
	assert.Equal(t, want.Subscriptions, got.Subscriptions)
	assert.Equal(t, want.CLV, got.CLV)
	assert.Equal(t, want.ChurnRisk, got.ChurnRisk)
	assert.Equal(t, want.RFM, got.RFM)
	assert.Equal(t, want.Outcomes, got.Outcomes)
	assert.Equal(t, want.Gates, got.Gates)
	assert.Equal(t, want.Metrics, got.Metrics)
	assert.Equal(t, want.Log, got.Log)
	assert.Equal(t, "churnpipe.example.yaml", got.File())
	assert.Positive(t, got.Line("gates.psi_block"))

	// With the environment set, the ${…} values change.
	got, err = config.Parse("x.yaml", b, env("CHURNPIPE_DB", "postgres://churnpipe:s3cret@db:5432/crm", "CHURNPIPE_INPUT", "/data/in"))
	require.NoError(t, err)
	assert.Equal(t, "postgres://churnpipe:s3cret@db:5432/crm", got.DB)
	assert.Equal(t, "/data/in", got.Input.Path)
	assert.NoError(t, config.Default().Validate())
}

// Every key of the struct appears in the example, and nothing else.
func TestExampleDocumentsEveryKey(t *testing.T) {
	b, err := os.ReadFile(examplePath(t))
	require.NoError(t, err)
	var doc map[string]any
	require.NoError(t, yaml.Unmarshal(b, &doc))
	var walk func(reflect.Type, map[string]any, string)
	walk = func(typ reflect.Type, m map[string]any, path string) {
		for i := 0; i < typ.NumField(); i++ {
			f := typ.Field(i)
			tag := strings.Split(f.Tag.Get("yaml"), ",")[0]
			if !f.IsExported() || tag == "" {
				continue
			}
			v, ok := m[tag]
			assert.True(t, ok, "example lacks %s%s", path, tag)
			if f.Type.Kind() == reflect.Struct && ok {
				sub, _ := v.(map[string]any)
				walk(f.Type, sub, path+tag+".")
			}
		}
	}
	walk(reflect.TypeOf(config.Config{}), doc, "")
}

func TestLoadFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "c.yaml")
	require.NoError(t, os.WriteFile(p, []byte("table: churn_scores\nlog: {format: json}\n"), 0o600))
	c, err := config.Load(p)
	require.NoError(t, err)
	assert.Equal(t, "churn_scores", c.Table)
	assert.Equal(t, "json", c.Log.Format)
	assert.Equal(t, "info", c.Log.Level, "a section given in part keeps the other defaults")
	assert.Equal(t, 0.25, c.Gates.PSIBlock)
	_, err = config.Load(filepath.Join(t.TempDir(), "none.yaml"))
	assert.ErrorIs(t, err, os.ErrNotExist)
}

func TestEnvSubstitution(t *testing.T) {
	src := `db: postgres://churnpipe:${PGPASSWORD}@db:5432/crm
table: ${TABLE:-customer_predictions}
registry: "${REGISTRY}"
input:
  path: ${IN}
  max_reject: ${MAX_REJECT:-0.02}
  no_header: ${NO_HEADER}
  quarantine: $${NOT_A_VAR}/q.csv
clv:
  horizon_days: "${HORIZON}"
`
	lookup := env("PGPASSWORD", "p@ss: #word}", "IN", "/data", "NO_HEADER", "true", "REGISTRY", "null", "HORIZON", "30", "TABLE", "")
	c, err := config.Parse("s.yaml", []byte(src), lookup)
	require.NoError(t, err)
	assert.Equal(t, "postgres://churnpipe:p@ss: #word}@db:5432/crm", c.DB, "a secret cannot change the YAML structure")
	assert.Equal(t, "customer_predictions", c.Table, "empty variable: the default")
	assert.Equal(t, "null", c.Registry, "a substituted string stays a string")
	assert.Equal(t, 0.02, c.Input.MaxReject)
	assert.True(t, c.Input.NoHeader)
	assert.Equal(t, "${NOT_A_VAR}/q.csv", c.Input.Quarantine)
	assert.Equal(t, 30, c.CLV.HorizonDays)
}

func TestExpand(t *testing.T) {
	lookup := env("A", "1", "EMPTY", "")
	cases := []struct {
		in, want string
		err      error
	}{
		{"plain $5 price", "plain $5 price", nil},
		{"${A}", "1", nil},
		{"x${A}y${A}", "x1y1", nil},
		{"${EMPTY}", "", nil},
		{"${EMPTY:-d}", "d", nil},
		{"${UNSET:-a:-b}", "a:-b", nil},
		{"${UNSET:-}", "", nil},
		{"$${A}", "${A}", nil},
		{"${UNSET}", "", config.ErrUnsetEnv},
	}
	for _, tc := range cases {
		got, err := config.Expand(tc.in, lookup)
		if tc.err != nil {
			assert.ErrorIs(t, err, tc.err, tc.in)
			continue
		}
		require.NoError(t, err, tc.in)
		assert.Equal(t, tc.want, got, tc.in)
	}
	for _, bad := range []string{"${A", "${}", "${1X}", "${A-B}"} {
		_, err := config.Expand(bad, lookup)
		assert.Error(t, err, bad)
	}
}

// Errors name the file, the line and the key path.
func TestErrors(t *testing.T) {
	cases := []struct {
		name string
		src  string
		want []string // each a whole error line
	}{
		{"psi order", "gates:\n  psi_warn: 0.3\n  psi_block: 0.25\n",
			[]string{"c.yaml:3: gates.psi_block: must be > gates.psi_warn (0.25 ≤ 0.3)"}},
		{"default block below warn", "gates:\n  psi_warn: 0.3\n",
			[]string{"c.yaml: gates.psi_block: must be > gates.psi_warn (0.25 ≤ 0.3)"}},
		{"unknown key", "gates:\n  psi_blok: 0.3\n",
			[]string{"c.yaml:2: gates.psi_blok: unknown key (known: amount_psi_block, amount_psi_warn, asof_day_ratio_block, asof_day_ratio_warn, event_mix_block, event_mix_warn, max_customer_drop, max_day_drop, max_reject, max_row_drop, max_span_shift_days, psi_block, psi_warn, score_psi_block, score_psi_warn)"}},
		{"unknown section", "alerts:\n  x: 1\n", []string{"c.yaml:1: alerts: unknown key"}},
		{"unset variable", "\ndb: postgres://u:${PGPASSWORD}@h/db\n",
			[]string{"c.yaml:2: db: environment variable not set: ${PGPASSWORD} (export it, or write ${PGPASSWORD:-default})"}},
		{"type", "lifecycle:\n  churn_days: soon\n", []string{"c.yaml:2: lifecycle.churn_days: cannot unmarshal !!str `soon` into int"}},
		{"syntax", "gates:\n  psi_warn: [0.1\n", []string{"c.yaml:"}},
		{"list for a value", "table: [a, b]\n", []string{"c.yaml:1: table: want a single value, got a list"}},
		{"several at once", "lifecycle:\n  dormant_days: 200\nchurn_risk:\n  high: 0.2\nlog:\n  format: xml\n", []string{
			"c.yaml: lifecycle.churn_days: 180: must be > lifecycle.dormant_days (200)",
			"c.yaml:4: churn_risk.high: 0.2: must be > churn_risk.medium (0.3) and < 1",
			`c.yaml:6: log.format: "xml": want one of text, json`,
		}},
		{"ranges", "input:\n  max_reject: 1.5\n  delimiter: ab\n  map: {customer: Id}\ntime_zone: Mars/Olympus\nclv:\n  model: ltv\n", []string{
			`c.yaml:3: input.delimiter: "ab": want one character, tab or whitespace`,
			"c.yaml:4: input.map.customer: unknown canonical column",
			"c.yaml:2: input.max_reject: 1.5: must be a fraction between 0 and 1",
			`c.yaml:5: time_zone: "Mars/Olympus"`,
			`c.yaml:7: clv.model: "ltv": want one of auto, bgnbd, mbgnbd, paretonbd`,
		}},
		{"db scheme hides the password", "db: oracle://u:secret@h/db\n", []string{`c.yaml:1: db: want sqlite:PATH, PATH.db, postgres://… or mysql://… (got "oracle://u:xxxxx@h/db")`}},
		{"metrics", "metrics:\n  textfile: /tmp/m.txt\n  pushgateway: pushgw:9091\n", []string{
			`c.yaml:3: metrics.pushgateway: "pushgw:9091": want an http:// or https:// URL`,
			`c.yaml:2: metrics.textfile: "/tmp/m.txt": node_exporter reads only files ending in .prom`,
		}},
		// issue 14 item 6: on main 4294967396 wrapped to 100 in the 32-bit lifecycle rules and 200.9 became 200.
		{"integer out of range", "lifecycle:\n  churn_days: 4294967396\n", []string{"c.yaml:2: lifecycle.churn_days: 4294967396: at most 36500 (100 years)"}},
		{"fraction for an integer", "lifecycle:\n  churn_days: 200.9\n", []string{"c.yaml:2: lifecycle.churn_days: 200.9: want a whole number"}},
		{"exponent for an integer", "clv:\n  horizon_days: 1e2\n", []string{"c.yaml:2: clv.horizon_days: 1e2: want a whole number"}},
		{"integer beyond int64", "outcomes:\n  max_nights: 99999999999999999999\n", []string{"c.yaml:2: outcomes.max_nights: 99999999999999999999: too large"}},
		{"fraction from the environment", "lifecycle:\n  dormant_days: ${DAYS}\n", []string{"c.yaml:2: lifecycle.dormant_days: 90.5: want a whole number"}},
		{"clv months", "clv:\n  clv_months: 5000\n", []string{"c.yaml:2: clv.clv_months: 5000: must be > 0 and at most 1200"}},
		{"two documents", "table: a\n---\ntable: b\n", []string{"c.yaml: (document): one YAML document expected"}},
		{"subscriptions", "subscriptions:\n  renewal_due_days: -1\n  at_risk: 1.5\n  model: weibull\n  annual_discount_rate: 0\n  trial_days: 0\n", []string{
			"c.yaml:6: subscriptions.trial_days: 0: must be > 0",
			"c.yaml:2: subscriptions.renewal_due_days: -1: must be ≥ 0",
			"c.yaml:3: subscriptions.at_risk: 1.5: must be in (0, 1]",
			`c.yaml:4: subscriptions.model: "weibull": want one of sbg, bdw`,
			"c.yaml:5: subscriptions.annual_discount_rate: 0: must be in (0, 1)",
		}},
		{"map of the optional columns is fine, others not", "input:\n  map: {subscription_id: Contract, period_end: PaidUntil, event_id: Line, contract: X}\n", []string{
			"c.yaml:2: input.map.contract: unknown canonical column (want customer_id, event_time, event_type, amount, event_id, subscription_id or period_end)",
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := config.Parse("c.yaml", []byte(tc.src), env("DAYS", "90.5"))
			require.Error(t, err)
			assert.ErrorIs(t, err, config.ErrInvalid)
			msg := err.Error()
			assert.NotContains(t, msg, "secret")
			for _, w := range tc.want {
				assert.Contains(t, msg, w)
			}
			if len(tc.want) > 1 {
				assert.Len(t, strings.Split(msg, "\n"), len(tc.want), msg)
			}
			var ce *config.Error
			require.True(t, errors.As(err, &ce))
			assert.Equal(t, "c.yaml", ce.File)
		})
	}
}

func TestEmptyFileIsDefaults(t *testing.T) {
	for _, src := range []string{"", "# nothing\n", "~\n"} {
		c, err := config.Parse("e.yaml", []byte(src), env())
		require.NoError(t, err, "%q", src)
		assert.Equal(t, config.Default().Gates, c.Gates)
	}
}

func ExampleParse() {
	src := []byte(`db: postgres://churnpipe:${PGPASSWORD}@db:5432/crm
gates:
  psi_warn: 0.2
  psi_block: 0.15
`)
	lookup := func(k string) (string, bool) { return map[string]string{"PGPASSWORD": "s3cret"}[k], k == "PGPASSWORD" }
	_, err := config.Parse("churnpipe.yaml", src, lookup)
	fmt.Println(err)
	// Output:
	// churnpipe.yaml:4: gates.psi_block: must be > gates.psi_warn (0.15 ≤ 0.2)
}

// An operator's own RFM table replaces the default; a malformed rule names
// its list position and line.
func TestRFMSegments(t *testing.T) {
	src := `rfm:
  segments:
    - {segment: Champions, r: "5", f: 5, m: "4-5"}
    - {segment: Lost, r: "1"}
`
	_, err := config.Parse("r.yaml", []byte(src), env())
	require.ErrorIs(t, err, config.ErrInvalid)
	assert.Contains(t, err.Error(), "r.yaml:4: rfm.segments[1]: want segment, r, f and m")

	c, err := config.Parse("r.yaml", []byte("rfm:\n  segments:\n    - {segment: Champions, r: \"5\", f: 5, m: \"4-5\"}\n"), env())
	require.NoError(t, err)
	assert.Equal(t, []config.RFMSegment{{Segment: "Champions", R: "5", F: "5", M: "4-5"}}, c.RFM.Segments)

	_, err = config.Parse("r.yaml", []byte("rfm:\n  segments: Champions\n"), env())
	require.ErrorIs(t, err, config.ErrInvalid)
	assert.Contains(t, err.Error(), "r.yaml:2: rfm.segments: want a list")
}
