package metrics

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// ContentType is the media type of the text exposition format.
const ContentType = "text/plain; version=0.0.4; charset=utf-8"

// Label is a name="value" pair.
type Label struct{ Name, Value string }

// Sample is one line of a metric family.
type Sample struct {
	Labels []Label
	Value  float64
}

// Family is a metric family: # HELP, # TYPE and its samples.
type Family struct {
	Name, Help, Type string // Type "gauge", "counter" or "untyped"; "" = gauge
	Samples          []Sample
}

var (
	metricName = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*$`)
	labelName  = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)
)

// ErrInvalid is wrapped by Encode for an invalid metric or label name.
var ErrInvalid = errors.New("metrics: invalid name")

// Encode writes families in the text exposition format. Label values are
// escaped (\\, \", \n), values written with the shortest exact decimal form,
// NaN and ±Inf as NaN, +Inf, -Inf. Families are written in the given order.
func Encode(w io.Writer, fams []Family) error {
	bw := bufio.NewWriter(w)
	for _, f := range fams {
		if !metricName.MatchString(f.Name) {
			return fmt.Errorf("%w: metric %q", ErrInvalid, f.Name)
		}
		typ := f.Type
		if typ == "" {
			typ = "gauge"
		}
		if f.Help != "" {
			fmt.Fprintf(bw, "# HELP %s %s\n", f.Name, escapeHelp(f.Help))
		}
		fmt.Fprintf(bw, "# TYPE %s %s\n", f.Name, typ)
		for _, s := range f.Samples {
			bw.WriteString(f.Name)
			if len(s.Labels) > 0 {
				bw.WriteByte('{')
				for i, l := range s.Labels {
					if !labelName.MatchString(l.Name) || strings.HasPrefix(l.Name, "__") {
						return fmt.Errorf("%w: label %q of %s", ErrInvalid, l.Name, f.Name)
					}
					if i > 0 {
						bw.WriteByte(',')
					}
					fmt.Fprintf(bw, "%s=\"%s\"", l.Name, escapeLabel(l.Value))
				}
				bw.WriteByte('}')
			}
			bw.WriteByte(' ')
			bw.WriteString(formatValue(s.Value))
			bw.WriteByte('\n')
		}
	}
	return bw.Flush()
}

var (
	helpEscaper  = strings.NewReplacer(`\`, `\\`, "\n", `\n`)
	labelEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `\"`)
)

func escapeHelp(s string) string  { return helpEscaper.Replace(s) }
func escapeLabel(s string) string { return labelEscaper.Replace(s) }

func formatValue(v float64) string {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// Step is the duration of one step of a run.
type Step struct {
	Name     string
	Duration time.Duration
}

// Gate is the outcome of one quality gate.
type Gate struct {
	Name   string
	Value  float64 // NaN when the gate was skipped
	Status string  // "pass", "warn" or "block"
}

// Run is what a run reports.
type Run struct {
	Command     string // "nightly" (default), "retrain"…
	RunID       string
	AsOf        time.Time // the scored day; zero = not written
	Status      string    // "succeeded", "failed", "blocked", "dry_run"…
	ExitCode    int
	Start, End  time.Time
	LastSuccess time.Time // end of the last successful run (this one if it succeeded); zero = not written
	Steps       []Step

	RowsRead, RowsRejected, RowsExcluded, RowsDuplicate int64
	Customers, Published                                int64
	Gates                                               []Gate
	// Outcomes are the realized figures of the newest evaluated night per
	// model version (prediction_outcomes); RetrainRecommended is set when
	// the champion's fell behind its test figures.
	Outcomes           []Outcome
	RetrainRecommended bool
}

// Outcome is how one model version's predictions of a night turned out.
type Outcome struct {
	ModelVersion            string
	AsOf                    time.Time // the evaluated night
	AUC, Brier, ECE, Lift10 float64
	RealizedChurnRate       float64
}

// Statuses lists the values of churnpipe_run_status's status label that are
// always written (1 for the run's, 0 for the others).
var Statuses = []string{"succeeded", "failed", "blocked"}

func unix(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

// Families returns the run's metrics (see the package documentation).
func (r Run) Families() []Family {
	cmd := r.Command
	if cmd == "" {
		cmd = "nightly"
	}
	base := []Label{{"command", cmd}}
	with := func(extra ...Label) []Label { return append(append([]Label(nil), base...), extra...) }
	one := func(name, help string, v float64) Family {
		return Family{Name: "churnpipe_run_" + name, Help: help, Samples: []Sample{{base, v}}}
	}
	fams := []Family{
		{Name: "churnpipe_run_info", Help: "Identity of the last run (always 1).",
			Samples: []Sample{{with(Label{"run_id", r.RunID}, Label{"as_of", dayOrEmpty(r.AsOf)}, Label{"status", r.Status}), 1}}},
		one("last_timestamp_seconds", "End of the last run, Unix seconds.", unix(r.End)),
		one("start_timestamp_seconds", "Start of the last run, Unix seconds.", unix(r.Start)),
	}
	if !r.LastSuccess.IsZero() {
		fams = append(fams, one("last_success_timestamp_seconds", "End of the last successful run, Unix seconds.", unix(r.LastSuccess)))
	}
	if !r.AsOf.IsZero() {
		fams = append(fams, one("as_of_timestamp_seconds", "The day the last run scored (midnight UTC), Unix seconds.", unix(r.AsOf)))
	}
	fams = append(fams, one("duration_seconds", "Duration of the last run in seconds.", r.End.Sub(r.Start).Seconds()))
	if len(r.Steps) > 0 {
		f := Family{Name: "churnpipe_run_step_duration_seconds", Help: "Duration of each step of the last run in seconds."}
		for _, s := range r.Steps {
			f.Samples = append(f.Samples, Sample{with(Label{"step", s.Name}), s.Duration.Seconds()})
		}
		fams = append(fams, f)
	}
	fams = append(fams,
		one("rows_read", "Input rows read by the last run, rejected ones included.", float64(r.RowsRead)),
		one("rows_rejected", "Input rows quarantined by the last run.", float64(r.RowsRejected)),
		one("rows_excluded", "Input rows after the as-of day, excluded by the last run.", float64(r.RowsExcluded)),
		one("rows_duplicate", "Exact duplicate input rows dropped by the last run.", float64(r.RowsDuplicate)),
		one("customers", "Customers scored by the last run.", float64(r.Customers)),
		one("published_rows", "Rows published to the prediction table by the last run (0 if nothing was published).", float64(r.Published)),
		one("success", "1 if the last run published (or succeeded), 0 otherwise.", b2f(r.Status == "succeeded")),
		one("exit_code", "Process exit code of the last run.", float64(r.ExitCode)),
	)
	st := Family{Name: "churnpipe_run_status", Help: "Status of the last run: 1 for its status, 0 for the others."}
	statuses := append([]string(nil), Statuses...)
	if r.Status != "" && !contains(statuses, r.Status) {
		statuses = append(statuses, r.Status)
	}
	for _, s := range statuses {
		st.Samples = append(st.Samples, Sample{with(Label{"status", s}), b2f(s == r.Status)})
	}
	fams = append(fams, st)
	if len(r.Gates) > 0 {
		gv := Family{Name: "churnpipe_run_gate_value", Help: "Value measured by each quality gate (NaN if skipped)."}
		gs := Family{Name: "churnpipe_run_gate_status", Help: "Quality gate status: 0 pass, 1 warn, 2 block."}
		gates := append([]Gate(nil), r.Gates...)
		sort.SliceStable(gates, func(i, j int) bool { return gates[i].Name < gates[j].Name })
		for _, g := range gates {
			gv.Samples = append(gv.Samples, Sample{with(Label{"gate", g.Name}), g.Value})
			gs.Samples = append(gs.Samples, Sample{with(Label{"gate", g.Name}), gateStatus(g.Status)})
		}
		fams = append(fams, gv, gs)
	}
	return append(fams, r.outcomeFamilies(with)...)
}

// outcomeFamilies are the churnpipe_outcome_* gauges (labelled with the
// model version) and churnpipe_retrain_recommended.
func (r Run) outcomeFamilies(with func(...Label) []Label) []Family {
	if len(r.Outcomes) == 0 {
		return nil
	}
	names := []struct {
		name, help string
		v          func(Outcome) float64
	}{
		{"churnpipe_outcome_churn_auc", "Realized churn AUC of the newest night at least one horizon old.", func(o Outcome) float64 { return o.AUC }},
		{"churnpipe_outcome_churn_brier", "Realized Brier score of that night's churn probabilities.", func(o Outcome) float64 { return o.Brier }},
		{"churnpipe_outcome_churn_ece", "Realized expected calibration error (10 bins) of that night.", func(o Outcome) float64 { return o.ECE }},
		{"churnpipe_outcome_churn_lift10", "Realized lift of the riskiest 10 % of that night's buyers.", func(o Outcome) float64 { return o.Lift10 }},
		{"churnpipe_outcome_realized_churn_rate", "Share of that night's buyers without a purchase in the horizon.", func(o Outcome) float64 { return o.RealizedChurnRate }},
		{"churnpipe_outcome_as_of_timestamp_seconds", "The evaluated night (midnight UTC), Unix seconds.", func(o Outcome) float64 { return unix(o.AsOf) }},
	}
	var fams []Family
	for _, n := range names {
		f := Family{Name: n.name, Help: n.help}
		for _, o := range r.Outcomes {
			f.Samples = append(f.Samples, Sample{with(Label{"model_version", o.ModelVersion}), n.v(o)})
		}
		fams = append(fams, f)
	}
	return append(fams, Family{Name: "churnpipe_retrain_recommended",
		Help:    "1 when the champion's realized AUC or calibration fell behind its test figures by the configured margin.",
		Samples: []Sample{{with(), b2f(r.RetrainRecommended)}}})
}

func dayOrEmpty(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.DateOnly)
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func contains(s []string, x string) bool {
	for _, v := range s {
		if v == x {
			return true
		}
	}
	return false
}

func gateStatus(s string) float64 {
	switch s {
	case "warn":
		return 1
	case "block":
		return 2
	}
	return 0
}

// Text returns the run's metrics in the text format.
func (r Run) Text() ([]byte, error) {
	var b bytes.Buffer
	err := Encode(&b, r.Families())
	return b.Bytes(), err
}

// WriteFile writes the run's metrics to path (e.g.
// /var/lib/node_exporter/textfile/churnpipe_nightly.prom) atomically: a
// temporary file in the same folder, synced, made world-readable and
// renamed over path.
func WriteFile(path string, r Run) error {
	text, err := r.Text()
	if err != nil {
		return err
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp*")
	if err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	tmp := f.Name()
	_, err = f.Write(text)
	if err == nil {
		err = f.Sync()
	}
	if err == nil {
		err = f.Chmod(0o644)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("metrics: write %s: %w", path, err)
	}
	return nil
}

// PushURL returns the Pushgateway URL of job's group: base + "/metrics/job/"
// + job, the job name path-escaped, or base64url-encoded
// ("/metrics/job@base64/…") when it contains a '/'.
func PushURL(base, job string) string {
	base = strings.TrimRight(base, "/")
	if strings.Contains(job, "/") || job == "" {
		return base + "/metrics/job@base64/" + base64.RawURLEncoding.EncodeToString([]byte(job))
	}
	return base + "/metrics/job/" + url.PathEscape(job)
}

// Push PUTs the run's metrics to the Pushgateway at base (e.g.
// http://pushgateway:9091), replacing the metrics of group job. client nil
// means a client with a 10 s timeout. A status other than 2xx is an error
// that quotes the start of the response body.
func Push(ctx context.Context, client *http.Client, base, job string, r Run) error {
	text, err := r.Text()
	if err != nil {
		return err
	}
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	u := PushURL(base, job)
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, u, bytes.NewReader(text))
	if err != nil {
		return fmt.Errorf("metrics: push: %w", err)
	}
	req.Header.Set("Content-Type", ContentType)
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("metrics: push to %s: %w", redact(u), err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("metrics: push to %s: %s: %s", redact(u), resp.Status, strings.TrimSpace(string(body)))
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	return nil
}

func redact(u string) string {
	if p, err := url.Parse(u); err == nil {
		return p.Redacted()
	}
	return u
}
