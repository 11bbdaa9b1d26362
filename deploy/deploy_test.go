package deploy_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/churnpipe/churnpipe/jobs"
	"github.com/churnpipe/churnpipe/jobs/config"
)

// nightlyArgs and retrainArgs are the command lines every example runs.
var (
	nightlyArgs = []string{"nightly", "--config", "/etc/churnpipe/churnpipe.yaml", "--log-format", "json"}
	retrainArgs = []string{"retrain", "--config", "/etc/churnpipe/churnpipe.yaml", "--log-format", "json"}
)

// yamlDocs decodes every document of a YAML file.
func yamlDocs(t *testing.T, name string) []map[string]any {
	t.Helper()
	b, err := os.ReadFile(name)
	require.NoError(t, err)
	dec := yaml.NewDecoder(bytes.NewReader(b))
	var docs []map[string]any
	for {
		var d map[string]any
		err := dec.Decode(&d)
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err, name)
		docs = append(docs, d)
	}
	return docs
}

// get walks a decoded YAML value by keys and list indexes.
func get(t *testing.T, v any, path ...any) any {
	t.Helper()
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			require.True(t, ok, "%v: not a mapping at %q", path, k)
			v, ok = m[k]
			require.True(t, ok, "%v: no key %q", path, k)
		case int:
			l, ok := v.([]any)
			require.True(t, ok && k < len(l), "%v: no item %d", path, k)
			v = l[k]
		}
	}
	return v
}

var cronField = regexp.MustCompile(`^(\*|\d+(-\d+)?)(/\d+)?(,(\d+(-\d+)?))*$`)

// checkCron checks a 5-field cron schedule: each field a number, range,
// list or *, within its bounds.
func checkCron(t *testing.T, s string) []string {
	t.Helper()
	f := strings.Fields(s)
	require.Len(t, f, 5, "schedule %q", s)
	max := []int{59, 23, 31, 12, 7}
	for i, x := range f {
		require.Regexp(t, cronField, x, "schedule %q field %d", s, i+1)
		for _, n := range regexp.MustCompile(`\d+`).FindAllString(strings.SplitN(x, "/", 2)[0], -1) {
			v, _ := strconv.Atoi(n)
			assert.LessOrEqual(t, v, max[i], "schedule %q field %d", s, i+1)
		}
	}
	return f
}

func TestKubernetesCronJobs(t *testing.T) {
	cases := []struct {
		file     string
		name     string
		schedule string
		args     []string
	}{
		{"cronjob.yaml", "churnpipe-nightly", "15 2 * * *", nightlyArgs},
		{"cronjob-retrain.yaml", "churnpipe-retrain", "0 4 * * 0", retrainArgs},
	}
	var cfgMap map[string]any
	for _, d := range yamlDocs(t, "cronjob.yaml") {
		if d["kind"] == "ConfigMap" {
			cfgMap = d
		}
	}
	require.NotNil(t, cfgMap, "cronjob.yaml holds the ConfigMap")
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			var cj map[string]any
			for _, d := range yamlDocs(t, tc.file) {
				if d["kind"] == "CronJob" {
					require.Nil(t, cj, "one CronJob per file")
					cj = d
				}
			}
			require.NotNil(t, cj)
			assert.Equal(t, "batch/v1", cj["apiVersion"])
			assert.Equal(t, tc.name, get(t, cj, "metadata", "name"))
			assert.Equal(t, tc.schedule, get(t, cj, "spec", "schedule"))
			checkCron(t, get(t, cj, "spec", "schedule").(string))
			assert.Equal(t, "Forbid", get(t, cj, "spec", "concurrencyPolicy"))
			job := get(t, cj, "spec", "jobTemplate", "spec")
			assert.IsType(t, 0, get(t, job, "backoffLimit"))
			assert.Positive(t, get(t, job, "activeDeadlineSeconds"))
			pod := get(t, job, "template", "spec")
			assert.Equal(t, "Never", get(t, pod, "restartPolicy"), "podFailurePolicy needs restartPolicy Never")
			assert.Equal(t, "churnpipe", get(t, pod, "containers", 0, "name"))
			assert.Equal(t, "churnpipe", get(t, job, "podFailurePolicy", "rules", 0, "onExitCodes", "containerName"))
			codes := get(t, job, "podFailurePolicy", "rules", 0, "onExitCodes", "values").([]any)
			assert.Contains(t, codes, jobs.ExitUsage)
			assert.NotContains(t, codes, jobs.ExitInternal, "a crash is retried")
			assert.NotContains(t, codes, jobs.ExitSink, "an unavailable database is retried")

			var args []string
			for _, a := range get(t, pod, "containers", 0, "args").([]any) {
				args = append(args, a.(string))
			}
			assert.Equal(t, tc.args, args)

			// Secrets come from a Secret, never as literal values.
			envNames := map[string]bool{}
			for _, e := range get(t, pod, "containers", 0, "env").([]any) {
				m := e.(map[string]any)
				name := m["name"].(string)
				envNames[name] = true
				if regexp.MustCompile(`(?i)pass|dsn|db|secret|token`).MatchString(name) {
					assert.NotContains(t, m, "value", "%s must not be a literal", name)
					assert.NotNil(t, get(t, m, "valueFrom", "secretKeyRef", "name"))
				}
			}

			// --config names a file of the mounted ConfigMap, and that file is a
			// valid configuration once the container's environment is set.
			cfgPath := args[2]
			var mount string
			for _, vm := range get(t, pod, "containers", 0, "volumeMounts").([]any) {
				m := vm.(map[string]any)
				if m["name"] == "config" {
					mount = m["mountPath"].(string)
				}
			}
			require.Equal(t, filepath.Dir(cfgPath), mount)
			var cmName string
			for _, v := range get(t, pod, "volumes").([]any) {
				m := v.(map[string]any)
				if m["name"] == "config" {
					cmName = get(t, m, "configMap", "name").(string)
				}
			}
			require.Equal(t, get(t, cfgMap, "metadata", "name"), cmName)
			text, ok := get(t, cfgMap, "data").(map[string]any)[filepath.Base(cfgPath)].(string)
			require.True(t, ok, "ConfigMap has %s", filepath.Base(cfgPath))
			c, err := config.Parse(cfgPath, []byte(text), func(k string) (string, bool) {
				if envNames[k] {
					return "postgres://churnpipe@postgres.crm:5432/crm", true
				}
				return "", false
			})
			require.NoError(t, err, "every ${VAR} of the configuration is in the container's env")
			assert.True(t, strings.HasPrefix(c.DB, "postgres://"))
			assert.True(t, strings.HasPrefix(c.Input.Path, get(t, pod, "containers", 0, "workingDir").(string)))
		})
	}
}

// unit parses a systemd unit file: section → key → values (in order).
func unit(t *testing.T, name string) map[string]map[string][]string {
	t.Helper()
	f, err := os.Open(name)
	require.NoError(t, err)
	defer f.Close()
	out := map[string]map[string][]string{}
	sec := ""
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		l := strings.TrimSpace(sc.Text())
		switch {
		case l == "" || l[0] == '#' || l[0] == ';':
		case l[0] == '[':
			require.True(t, strings.HasSuffix(l, "]"), "%s:%d", name, n)
			sec = l[1 : len(l)-1]
			require.NotContains(t, out, sec, "%s:%d: section twice", name, n)
			out[sec] = map[string][]string{}
		default:
			k, v, ok := strings.Cut(l, "=")
			require.True(t, ok, "%s:%d: not key=value", name, n)
			require.NotEmpty(t, sec, "%s:%d: key before any section", name, n)
			out[sec][strings.TrimSpace(k)] = append(out[sec][strings.TrimSpace(k)], strings.TrimSpace(v))
		}
	}
	require.NoError(t, sc.Err())
	return out
}

func one(t *testing.T, u map[string]map[string][]string, sec, key string) string {
	t.Helper()
	require.Contains(t, u, sec)
	require.Len(t, u[sec][key], 1, "[%s] %s", sec, key)
	return u[sec][key][0]
}

func TestSystemdUnits(t *testing.T) {
	cases := []struct {
		name     string
		calendar string
		args     []string
	}{
		{"churnpipe-nightly", "*-*-* 02:15:00", nightlyArgs},
		{"churnpipe-retrain", "Sun *-*-* 04:00:00", retrainArgs},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			svc := unit(t, tc.name+".service")
			assert.NotEmpty(t, one(t, svc, "Unit", "Description"))
			assert.Equal(t, "oneshot", one(t, svc, "Service", "Type"))
			assert.NotEmpty(t, one(t, svc, "Service", "User"))
			execStart := strings.Fields(one(t, svc, "Service", "ExecStart"))
			assert.True(t, filepath.IsAbs(execStart[0]), "ExecStart needs an absolute path")
			assert.Equal(t, tc.args, execStart[1:])
			assert.True(t, strings.HasPrefix(one(t, svc, "Service", "EnvironmentFile"), "-/"), "optional env file for secrets")
			assert.NotContains(t, svc, "Install", "a timer starts the service")

			tm := unit(t, tc.name+".timer")
			assert.Equal(t, tc.calendar, one(t, tm, "Timer", "OnCalendar"))
			assert.Equal(t, "true", one(t, tm, "Timer", "Persistent"))
			assert.Equal(t, tc.name+".service", one(t, tm, "Timer", "Unit"))
			assert.Equal(t, "timers.target", one(t, tm, "Install", "WantedBy"))

			if _, err := exec.LookPath("systemd-analyze"); err != nil {
				t.Log("systemd-analyze not installed: calendar and unit syntax not checked by systemd")
				return
			}
			out, err := exec.Command("systemd-analyze", "calendar", tc.calendar).CombinedOutput()
			require.NoError(t, err, "%s", out)
			assert.Contains(t, string(out), "Normalized form: "+tc.calendar)
			out, _ = exec.Command("systemd-analyze", "verify", "./"+tc.name+".timer", "./"+tc.name+".service").CombinedOutput()
			for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
				if l != "" && !strings.Contains(l, "is not executable") { // the binary is not installed here
					t.Errorf("systemd-analyze verify: %s", l)
				}
			}
		})
	}
}

func TestCrontab(t *testing.T) {
	f, err := os.Open("crontab")
	require.NoError(t, err)
	defer f.Close()
	var entries [][]string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if l == "" || l[0] == '#' || regexp.MustCompile(`^[A-Z_]+=`).MatchString(l) {
			continue
		}
		fields := strings.Fields(l)
		require.Greater(t, len(fields), 6, "%q: 5 time fields, a user, a command", l)
		checkCron(t, strings.Join(fields[:5], " "))
		assert.Equal(t, "churnpipe", fields[5], "the /etc/cron.d format has a user field")
		assert.NotContains(t, l, "%", "cron turns %% into newlines")
		assert.NotContains(t, l, "flock", "churnpipe locks the table itself")
		entries = append(entries, fields)
	}
	require.Len(t, entries, 2)
	assert.Equal(t, []string{"15", "2", "*", "*", "*"}, entries[0][:5], "nightly at 02:15")
	assert.Contains(t, strings.Join(entries[0], " "), "/usr/local/bin/churnpipe "+strings.Join(nightlyArgs, " "))
	assert.Equal(t, "0", entries[1][4][:1], "retraining on Sunday")
	assert.Contains(t, strings.Join(entries[1], " "), "/usr/local/bin/churnpipe "+strings.Join(retrainArgs, " "))
}

// The README documents every exit code of package jobs.
func TestReadmeExitCodes(t *testing.T) {
	b, err := os.ReadFile("README.md")
	require.NoError(t, err)
	for _, c := range []int{jobs.ExitOK, jobs.ExitInternal, jobs.ExitUsage, jobs.ExitRejected, jobs.ExitGateBlocked, jobs.ExitSink, jobs.ExitLocked,
		jobs.ExitModel, jobs.ExitOutput, jobs.ExitRetrainRecommended, jobs.ExitInterrupted} {
		assert.True(t, strings.Contains(string(b), fmt.Sprintf("\n| %d | ", c)), "README documents exit code %d", c)
	}
	for _, f := range []string{"crontab", "churnpipe-nightly.service", "churnpipe-retrain.service", "cronjob.yaml", "cronjob-retrain.yaml", "churnpipe.example.yaml"} {
		assert.True(t, strings.Contains(string(b), "`"+f+"`"), "README explains %s", f)
		_, err := os.Stat(f)
		assert.NoError(t, err)
	}
}

// The examples' command lines are accepted by the churnpipe binary: each
// command exists and knows each flag. Builds the binary (a few seconds).
func TestCommandLinesAccepted(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "churnpipe")
	out, err := exec.Command("go", "build", "-o", bin, "../cmd/churnpipe").CombinedOutput()
	require.NoError(t, err, "%s", out)
	var missing []string
	for _, args := range [][]string{nightlyArgs, retrainArgs} {
		cmd := exec.Command(bin, args[0], "-h")
		help, _ := cmd.CombinedOutput()
		if !bytes.Contains(help, []byte("Usage: churnpipe "+args[0])) {
			missing = append(missing, "command "+args[0])
			continue
		}
		for _, a := range args[1:] {
			if strings.HasPrefix(a, "--") && !bytes.Contains(help, []byte("-"+strings.TrimPrefix(a, "--")+" ")) {
				missing = append(missing, args[0]+" "+a)
			}
		}
	}
	if len(missing) > 0 {
		t.Errorf("the examples use %s, which the CLI does not accept", strings.Join(missing, ", "))
	}
}

// TestShardedJob checks the sharded-night manifests: an Indexed Job whose
// completions match the N of --shard and of the finalize step.
func TestShardedJob(t *testing.T) {
	docs := yamlDocs(t, "sharded-job.yaml")
	require.Len(t, docs, 2)
	var shards, finalize map[string]any
	for _, d := range docs {
		switch get(t, d, "metadata", "name") {
		case "churnpipe-shards":
			shards = d
		case "churnpipe-finalize":
			finalize = d
		}
	}
	require.NotNil(t, shards)
	require.NotNil(t, finalize)
	assert.Equal(t, "Indexed", get(t, shards, "spec", "completionMode"))
	n := fmt.Sprint(get(t, shards, "spec", "completions"))
	wargs := containerArgs(t, shards)
	assert.Contains(t, wargs, "$(SHARD_INDEX)/"+n)
	fargs := containerArgs(t, finalize)
	i := slices.Index(fargs, "--finalize-shards")
	require.GreaterOrEqual(t, i, 0)
	assert.Equal(t, n, fargs[i+1])
}

func containerArgs(t *testing.T, job map[string]any) []string {
	t.Helper()
	cs, ok := get(t, job, "spec", "template", "spec", "containers").([]any)
	require.True(t, ok)
	require.Len(t, cs, 1)
	raw, ok := cs[0].(map[string]any)["args"].([]any)
	require.True(t, ok)
	out := make([]string, len(raw))
	for i, a := range raw {
		out[i] = fmt.Sprint(a)
	}
	return out
}
