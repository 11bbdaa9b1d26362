package metrics_test

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/churnpipe/churnpipe/internal/metrics"
)

// parseText reads the text exposition format back with
// prometheus/common/expfmt's parser (a different code path from the
// encoder): it fails on malformed lines, a second HELP or TYPE, and samples
// before their TYPE. Series are keyed name{label=value,…}, labels sorted.
func parseText(t *testing.T, r io.Reader) (types map[string]string, out map[string]float64) {
	t.Helper()
	p := expfmt.NewTextParser(model.LegacyValidation)
	mfs, err := p.TextToMetricFamilies(r)
	require.NoError(t, err)
	types, out = map[string]string{}, map[string]float64{}
	for name, mf := range mfs {
		types[name] = strings.ToLower(mf.GetType().String())
		for _, m := range mf.GetMetric() {
			var ks []string
			for _, l := range m.GetLabel() {
				ks = append(ks, l.GetName()+"="+l.GetValue())
			}
			sort.Strings(ks)
			key := name + "{" + strings.Join(ks, ",") + "}"
			_, dup := out[key]
			require.False(t, dup, "series %s twice", key)
			switch {
			case m.Gauge != nil:
				out[key] = m.GetGauge().GetValue()
			case m.Counter != nil:
				out[key] = m.GetCounter().GetValue()
			default:
				out[key] = m.GetUntyped().GetValue()
			}
		}
	}
	return types, out
}

func value(t *testing.T, m map[string]float64, key string) float64 {
	t.Helper()
	v, ok := m[key]
	require.True(t, ok, "series %s missing", key)
	return v
}

var (
	start = time.Date(2024, 7, 1, 2, 15, 0, 0, time.UTC)
	run   = metrics.Run{
		Command: "nightly", RunID: "20240701T021500Z-3f9a1c2b", AsOf: time.Date(2024, 6, 30, 0, 0, 0, 0, time.UTC),
		Status: "blocked", ExitCode: 4, Start: start, End: start.Add(83*time.Second + 500*time.Millisecond),
		LastSuccess: start.Add(-24 * time.Hour),
		Steps:       []metrics.Step{{"read", 12 * time.Second}, {"fit", 1500 * time.Millisecond}},
		RowsRead:    1000, RowsRejected: 3, RowsExcluded: 10, Customers: 120,
		Gates: []metrics.Gate{{"score_psi", 0.31, "block"}, {"rows_drop", math.NaN(), "pass"}, {"feature_psi", 0.12, "warn"}},
	}
)

func TestRunText(t *testing.T) {
	text, err := run.Text()
	require.NoError(t, err)
	types, m := parseText(t, strings.NewReader(string(text)))
	for name, typ := range types {
		assert.True(t, strings.HasPrefix(name, "churnpipe_run_"), name)
		assert.Equal(t, "gauge", typ)
	}
	n := `{command=nightly}`
	// Unix seconds of 2024-07-01T02:15:00Z = 19905 days·86400 + 8100 s (date -d … +%s).
	assert.Equal(t, 1719800100.0, value(t, m, "churnpipe_run_start_timestamp_seconds"+n))
	assert.Equal(t, 1719800100.0+83.5, value(t, m, "churnpipe_run_last_timestamp_seconds"+n))
	assert.Equal(t, 1719800100.0-86400, value(t, m, "churnpipe_run_last_success_timestamp_seconds"+n))
	assert.Equal(t, 1719705600.0, value(t, m, "churnpipe_run_as_of_timestamp_seconds"+n))
	assert.Equal(t, 83.5, value(t, m, "churnpipe_run_duration_seconds"+n))
	assert.Equal(t, 12.0, value(t, m, "churnpipe_run_step_duration_seconds{command=nightly,step=read}"))
	assert.Equal(t, 1.5, value(t, m, "churnpipe_run_step_duration_seconds{command=nightly,step=fit}"))
	assert.Equal(t, 1000.0, value(t, m, "churnpipe_run_rows_read"+n))
	assert.Equal(t, 3.0, value(t, m, "churnpipe_run_rows_rejected"+n))
	assert.Equal(t, 10.0, value(t, m, "churnpipe_run_rows_excluded"+n))
	assert.Equal(t, 0.0, value(t, m, "churnpipe_run_rows_duplicate"+n))
	assert.Equal(t, 120.0, value(t, m, "churnpipe_run_customers"+n))
	assert.Equal(t, 0.0, value(t, m, "churnpipe_run_published_rows"+n))
	assert.Equal(t, 0.0, value(t, m, "churnpipe_run_success"+n))
	assert.Equal(t, 4.0, value(t, m, "churnpipe_run_exit_code"+n))
	assert.Equal(t, 1.0, value(t, m, "churnpipe_run_status{command=nightly,status=blocked}"))
	assert.Equal(t, 0.0, value(t, m, "churnpipe_run_status{command=nightly,status=succeeded}"))
	assert.Equal(t, 0.0, value(t, m, "churnpipe_run_status{command=nightly,status=failed}"))
	assert.Equal(t, 1.0, value(t, m, "churnpipe_run_info{as_of=2024-06-30,command=nightly,run_id=20240701T021500Z-3f9a1c2b,status=blocked}"))
	assert.Equal(t, 0.31, value(t, m, "churnpipe_run_gate_value{command=nightly,gate=score_psi}"))
	assert.True(t, math.IsNaN(value(t, m, "churnpipe_run_gate_value{command=nightly,gate=rows_drop}")))
	assert.Equal(t, 2.0, value(t, m, "churnpipe_run_gate_status{command=nightly,gate=score_psi}"))
	assert.Equal(t, 1.0, value(t, m, "churnpipe_run_gate_status{command=nightly,gate=feature_psi}"))
	assert.Equal(t, 0.0, value(t, m, "churnpipe_run_gate_status{command=nightly,gate=rows_drop}"))
}

func TestEncodeEscapingAndValues(t *testing.T) {
	var b strings.Builder
	err := metrics.Encode(&b, []metrics.Family{{
		Name: "x_total", Help: "back\\slash and\nnewline", Type: "counter",
		Samples: []metrics.Sample{
			{[]metrics.Label{{"path", "C:\\tmp \"q\"\nz"}}, math.Inf(1)},
			{[]metrics.Label{{"path", "b"}}, 1e-300},
			{nil, math.Inf(-1)},
		},
	}})
	require.NoError(t, err)
	// Escaping of the text format 0.0.4; series sorted by label values
	// (client_golang's order, the unlabelled one first).
	want := "# HELP x_total back\\\\slash and\\nnewline\n# TYPE x_total counter\n" +
		"x_total -Inf\nx_total{path=\"C:\\\\tmp \\\"q\\\"\\nz\"} +Inf\nx_total{path=\"b\"} 1e-300\n"
	assert.Equal(t, want, b.String())
	_, m := parseText(t, strings.NewReader(b.String()))
	assert.Equal(t, math.Inf(1), value(t, m, "x_total{path=C:\\tmp \"q\"\nz}"))

	for _, bad := range [][]metrics.Family{
		{{Name: "bad-name", Samples: []metrics.Sample{{nil, 1}}}},
		{{Name: "ok", Samples: []metrics.Sample{{[]metrics.Label{{"__x", "v"}}, 1}}}},
		{{Name: "ok", Samples: []metrics.Sample{{[]metrics.Label{{"a", "v"}}, 1}, {[]metrics.Label{{"a", "v"}}, 2}}}},
		{{Name: "ok", Samples: []metrics.Sample{{[]metrics.Label{{"a-b", "v"}}, 1}}}},
	} {
		assert.ErrorIs(t, metrics.Encode(io.Discard, bad), metrics.ErrInvalid, "%+v", bad)
	}
}

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "churnpipe_nightly.prom")
	require.NoError(t, os.WriteFile(path, []byte("old\n"), 0o600))
	require.NoError(t, metrics.WriteFile(path, run))
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	want, err := run.Text()
	require.NoError(t, err)
	assert.Equal(t, string(want), string(b))
	fi, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o644), fi.Mode().Perm(), "node_exporter must read it")
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, ents, 1, "no temporary file left")

	err = metrics.WriteFile(filepath.Join(dir, "no", "such", "dir.prom"), run)
	assert.Error(t, err)
}

func TestPush(t *testing.T) {
	var gotMethod, gotPath, gotType, gotBody, gotAuth string
	status := http.StatusOK
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		gotMethod, gotPath, gotType, gotBody = r.Method, r.URL.EscapedPath(), r.Header.Get("Content-Type"), string(b)
		gotAuth = r.Header.Get("Authorization")
		w.WriteHeader(status)
		fmt.Fprint(w, "pushgateway says no")
	}))
	defer srv.Close()
	require.True(t, strings.HasPrefix(srv.URL, "http://127.0.0.1:"), srv.URL)

	require.NoError(t, metrics.Push(context.Background(), srv.Client(), srv.URL+"/", "churnpipe nightly", run))
	assert.Empty(t, gotAuth)
	assert.Equal(t, http.MethodPut, gotMethod)
	assert.Equal(t, "/metrics/job/churnpipe+nightly", gotPath, "client_golang query-escapes the job")
	assert.Equal(t, metrics.ContentType, gotType)
	want, _ := run.Text()
	assert.Equal(t, string(want), gotBody)

	err := metrics.Push(context.Background(), srv.Client(), srv.URL, "a/b", run)
	require.NoError(t, err)
	assert.Equal(t, "/metrics/job@base64/YS9i", gotPath, "base64url of a/b")

	// Credentials in the URL go as basic auth and stay out of errors.
	withUser := strings.Replace(srv.URL, "http://", "http://ops:s3cret@", 1)
	require.NoError(t, metrics.Push(context.Background(), srv.Client(), withUser, "churnpipe", run))
	assert.Equal(t, "Basic b3BzOnMzY3JldA==", gotAuth, "base64 of ops:s3cret")

	status = http.StatusBadRequest
	err = metrics.Push(context.Background(), srv.Client(), withUser, "churnpipe", run)
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "s3cret")

	err = metrics.Push(context.Background(), srv.Client(), srv.URL, "churnpipe", run)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "400")
	assert.Contains(t, err.Error(), "pushgateway says no")

	srv.Close()
	assert.Error(t, metrics.Push(context.Background(), nil, srv.URL, "churnpipe", run), "server gone")
}

func ExampleEncode() {
	_ = metrics.Encode(os.Stdout, []metrics.Family{{
		Name: "churnpipe_run_customers", Help: "Customers scored by the last run.",
		Samples: []metrics.Sample{{Labels: []metrics.Label{{"command", "nightly"}}, Value: 2357}},
	}})
	// Output:
	// # HELP churnpipe_run_customers Customers scored by the last run.
	// # TYPE churnpipe_run_customers gauge
	// churnpipe_run_customers{command="nightly"} 2357
}

func BenchmarkRunText(b *testing.B) {
	for range b.N {
		_, _ = run.Text()
	}
}
