package metrics_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/churnpipe/churnpipe/internal/metrics"
)

// github.com/prometheus/common/expfmt is not in the module cache, so the
// test validates the output with this small parser of the text exposition
// format 0.0.4 (https://prometheus.io/docs/instrumenting/exposition_formats/):
// "# HELP name text", "# TYPE name type" before the family's samples,
// samples "name{label="value",…} value", label values escaped with \\ \" \n,
// no series twice.
type series struct {
	name   string
	labels map[string]string
	value  float64
}

func (s series) key() string {
	var ks []string
	for k, v := range s.labels {
		ks = append(ks, k+"="+v)
	}
	sort.Strings(ks)
	return s.name + "{" + strings.Join(ks, ",") + "}"
}

func parseText(t *testing.T, r io.Reader) (types map[string]string, out map[string]series) {
	t.Helper()
	types, out = map[string]string{}, map[string]series{}
	help := map[string]bool{}
	sc := bufio.NewScanner(r)
	line := 0
	for sc.Scan() {
		line++
		l := sc.Text()
		require.NotEmpty(t, l, "line %d: empty line", line)
		if strings.HasPrefix(l, "# HELP ") {
			f := strings.SplitN(l[7:], " ", 2)
			require.Len(t, f, 2, "line %d", line)
			require.False(t, help[f[0]], "line %d: second HELP for %s", line, f[0])
			help[f[0]] = true
			continue
		}
		if strings.HasPrefix(l, "# TYPE ") {
			f := strings.Fields(l[7:])
			require.Len(t, f, 2, "line %d", line)
			require.Contains(t, []string{"gauge", "counter", "untyped", "summary", "histogram"}, f[1])
			_, dup := types[f[0]]
			require.False(t, dup, "line %d: second TYPE for %s", line, f[0])
			types[f[0]] = f[1]
			continue
		}
		require.False(t, strings.HasPrefix(l, "#"), "line %d: unknown comment", line)
		s := series{labels: map[string]string{}}
		i := strings.IndexAny(l, "{ ")
		require.Positive(t, i, "line %d", line)
		s.name = l[:i]
		rest := l[i:]
		if rest[0] == '{' {
			rest = rest[1:]
			for rest[0] != '}' {
				eq := strings.Index(rest, `="`)
				require.Positive(t, eq, "line %d: label", line)
				name := rest[:eq]
				rest = rest[eq+2:]
				var val strings.Builder
				for {
					require.NotEmpty(t, rest, "line %d: unterminated label value", line)
					c := rest[0]
					rest = rest[1:]
					if c == '"' {
						break
					}
					if c == '\\' {
						switch rest[0] {
						case '\\', '"':
							val.WriteByte(rest[0])
						case 'n':
							val.WriteByte('\n')
						default:
							t.Fatalf("line %d: bad escape \\%c", line, rest[0])
						}
						rest = rest[1:]
						continue
					}
					require.NotEqual(t, byte('\n'), c)
					val.WriteByte(c)
				}
				_, dup := s.labels[name]
				require.False(t, dup, "line %d: label %s twice", line, name)
				s.labels[name] = val.String()
				if rest[0] == ',' {
					rest = rest[1:]
				}
			}
			rest = rest[1:]
		}
		require.True(t, strings.HasPrefix(rest, " "), "line %d: no value", line)
		v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
		require.NoError(t, err, "line %d", line)
		s.value = v
		_, typed := types[s.name]
		require.True(t, typed, "line %d: sample of %s before its TYPE", line, s.name)
		_, dup := out[s.key()]
		require.False(t, dup, "line %d: series %s twice", line, s.key())
		out[s.key()] = s
	}
	require.NoError(t, sc.Err())
	return types, out
}

func value(t *testing.T, m map[string]series, key string) float64 {
	t.Helper()
	s, ok := m[key]
	require.True(t, ok, "series %s missing", key)
	return s.value
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
	want := "# HELP x_total back\\\\slash and\\nnewline\n# TYPE x_total counter\n" +
		"x_total{path=\"C:\\\\tmp \\\"q\\\"\\nz\"} +Inf\nx_total{path=\"b\"} 1e-300\nx_total -Inf\n"
	assert.Equal(t, want, b.String())
	_, m := parseText(t, strings.NewReader(b.String()))
	assert.Equal(t, math.Inf(1), value(t, m, "x_total{path=C:\\tmp \"q\"\nz}"))

	assert.ErrorIs(t, metrics.Encode(io.Discard, []metrics.Family{{Name: "bad-name"}}), metrics.ErrInvalid)
	assert.ErrorIs(t, metrics.Encode(io.Discard, []metrics.Family{{Name: "ok", Samples: []metrics.Sample{{[]metrics.Label{{"__x", "v"}}, 1}}}}), metrics.ErrInvalid)
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
	var gotMethod, gotPath, gotType, gotBody string
	status := http.StatusOK
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		gotMethod, gotPath, gotType, gotBody = r.Method, r.URL.EscapedPath(), r.Header.Get("Content-Type"), string(b)
		w.WriteHeader(status)
		fmt.Fprint(w, "pushgateway says no")
	}))
	defer srv.Close()
	require.True(t, strings.HasPrefix(srv.URL, "http://127.0.0.1:"), srv.URL)

	require.NoError(t, metrics.Push(context.Background(), srv.Client(), srv.URL+"/", "churnpipe nightly", run))
	assert.Equal(t, http.MethodPut, gotMethod)
	assert.Equal(t, "/metrics/job/churnpipe%20nightly", gotPath)
	assert.Equal(t, metrics.ContentType, gotType)
	want, _ := run.Text()
	assert.Equal(t, string(want), gotBody)

	require.NoError(t, metrics.Push(context.Background(), srv.Client(), srv.URL, "a/b", run))
	assert.Equal(t, "/metrics/job@base64/YS9i", gotPath, "base64url of a/b")

	status = http.StatusBadRequest
	err := metrics.Push(context.Background(), srv.Client(), srv.URL, "churnpipe", run)
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
