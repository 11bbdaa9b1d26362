package churnreport

import (
	"fmt"
	"html/template"
	"io"
	"math"
	"strconv"
)

// metricInfo is the display name and one-line explanation of a metric.
type metricInfo struct{ key, name, help string }

// knownMetrics are listed first, in this order, with their explanations.
var knownMetrics = []metricInfo{
	{"auc", "ROC AUC", "Probability that a random churner gets a higher score than a random retained customer; 0.5 = random ranking, 1 = perfect."},
	{"pr_auc", "PR AUC (average precision)", "Area under the precision–recall curve; random ranking scores the churn rate, 1 = perfect."},
	{"brier", "Brier score", "Mean squared gap between probability and outcome, (1/n) Σ (p − y)²; lower is better, 0 = perfect."},
	{"log_loss", "Log loss", "Mean negative log-likelihood of the outcomes in nats; lower is better, heavily penalises confident mistakes."},
	{"ece", "ECE", "Average gap between predicted and observed churn rate, 10 equal-width bins weighted by their size; 0 = perfectly calibrated."},
	{"lift_top10", "Top-decile lift", "Churn rate among the 10 % highest scores divided by the overall churn rate; 1 = random targeting."},
	{"recency_auc", "ROC AUC, recency baseline", "ROC AUC of days since the last purchase used as the churn score."},
	{"bgnbd_auc", "ROC AUC, BG/NBD baseline", "ROC AUC of the BG/NBD probability of no purchase in the horizon used as the churn score."},
	{"test_churn_rate", "Churn rate", "Share of test customers who churned: the precision of random targeting."},
	{"stage_accuracy", "Stage accuracy", "Share of customers whose lifecycle stage at the horizon end is predicted exactly."},
	{"stage_macro_f1", "Stage macro-F1", "Unweighted mean of the per-stage F1 scores; rare stages count as much as common ones."},
	{"stage_baseline_accuracy", "Stage accuracy, “stays the same” baseline", "Accuracy of predicting that every customer keeps today's stage."},
	{"stage_baseline_macro_f1", "Stage macro-F1, “stays the same” baseline", "Macro-F1 of predicting that every customer keeps today's stage."},
	{"test_customers", "Test customers", "Customers scored on the test snapshot."},
	{"train_customers", "Training rows", "Customer-snapshot rows the model was trained on."},
}

// metricRow is one row of the metrics table.
type metricRow struct{ Key, Name, Value, Help string }

// metricRows returns the rows of the metrics table: known metrics in the
// order of knownMetrics, then the others by name.
func metricRows(m map[string]float64) []metricRow {
	var rows []metricRow
	known := make(map[string]bool, len(knownMetrics))
	for _, k := range knownMetrics {
		known[k.key] = true
		if v, ok := m[k.key]; ok {
			rows = append(rows, metricRow{k.key, k.name, formatValue(v), k.help})
		}
	}
	for _, key := range sortedKeys(m) {
		if !known[key] {
			rows = append(rows, metricRow{key, key, formatValue(m[key]), ""})
		}
	}
	return rows
}

// formatValue prints whole numbers of at least 1 with thousands separators,
// other finite values with 4 decimals and NaN or ±Inf as n/a.
func formatValue(v float64) string {
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return "n/a"
	case v == math.Trunc(v) && math.Abs(v) >= 1 && math.Abs(v) < 1e15:
		return commas(int(v))
	default:
		return strconv.FormatFloat(v, 'f', 4, 64)
	}
}

type scoreRow struct{ Name, AUC, AP, Lift string }

type figureView struct {
	File, Title, Caption string
	W, H                 int
}

type page struct {
	Title      string
	Warnings   []string // the model loses to a baseline, in words
	Verdict    string
	Facts      [][2]string
	Metrics    []metricRow
	Scores     []scoreRow
	Figures    []figureView
	NoFeatures bool
	NoStages   bool
}

func writeHTML(w io.Writer, d *data, figs []figure) error {
	in := d.in
	title := "Churn model report"
	if in.ModelVersion != "" {
		title += " — " + in.ModelVersion
	}
	if in.TestSnapshot != "" {
		title += ", test snapshot " + in.TestSnapshot
	}
	pg := page{Title: title, Metrics: metricRows(in.Metrics),
		NoFeatures: in.Importance == nil, NoStages: d.conf == nil}
	add := func(k, v string) {
		if v != "" {
			pg.Facts = append(pg.Facts, [2]string{k, v})
		}
	}
	add("Model version", in.ModelVersion)
	add("Model kind", in.ModelKind)
	add("Test snapshot", in.TestSnapshot)
	if in.HorizonDays > 0 {
		add("Churn horizon", fmt.Sprintf("%d days: churned = no purchase in the %d days after the snapshot", in.HorizonDays, in.HorizonDays))
	}
	add("Test customers", commas(d.n))
	add("Churners", fmt.Sprintf("%s (churn rate %.2f %%)", commas(d.pos), 100*d.rate))
	for _, sc := range d.scores {
		pg.Scores = append(pg.Scores, scoreRow{sc.name, formatValue(sc.auc), formatValue(sc.ap), fmt.Sprintf("%.2f×", sc.lift10)})
	}
	pg.Verdict = in.Verdict
	if in.LosesToBaseline {
		pg.Warnings = append(pg.Warnings, "The candidate model loses to a baseline on the training run's test snapshots: "+in.Verdict)
	}
	if len(d.scores) > 0 {
		m := d.scores[0]
		for _, sc := range d.scores[1:] {
			if sc.baseline && sc.auc >= m.auc {
				pg.Warnings = append(pg.Warnings, fmt.Sprintf("On this test snapshot the model (ROC AUC %s) loses to the %s (ROC AUC %s).",
					formatValue(m.auc), sc.name, formatValue(sc.auc)))
			}
		}
	}
	for _, f := range figs {
		pg.Figures = append(pg.Figures, figureView{f.file, f.title, f.caption, f.wPx, f.hPx})
	}
	return pageTmpl.Execute(w, pg)
}

var pageTmpl = template.Must(template.New("page").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>
body { font-family: "Liberation Sans", Arial, Helvetica, sans-serif; color: #222; margin: 0 auto; padding: 1.5em 2em 3em; max-width: 1100px; line-height: 1.45; }
h1 { font-size: 1.6em; margin: 0 0 0.6em; }
h2 { font-size: 1.25em; margin: 1.8em 0 0.5em; border-bottom: 1px solid #ddd; padding-bottom: 0.2em; }
table { border-collapse: collapse; margin: 0.5em 0 1em; }
th, td { padding: 0.35em 0.8em; border-bottom: 1px solid #e4e4e4; text-align: left; vertical-align: top; }
th { background: #f3f6f9; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
table.facts th { background: none; font-weight: 600; padding-left: 0; }
code { font-size: 0.9em; color: #555; }
figure { margin: 1.2em 0 2em; }
figure img { max-width: 100%; height: auto; border: 1px solid #e4e4e4; }
figcaption { font-size: 0.95em; color: #444; margin-top: 0.4em; max-width: 60em; }
p.note { color: #666; font-size: 0.95em; }
p.warn { color: #8b0000; background: #fff0f0; border: 1px solid #e0a0a0; padding: 0.5em; }
nav a { margin-right: 1em; }
</style>
</head>
<body>
<h1>{{.Title}}</h1>
{{- range .Warnings}}
<p class="warn"><strong>Warning:</strong> {{.}}</p>
{{- end}}
{{- if .Verdict}}
<p class="verdict">Against the baselines: {{.Verdict}}</p>
{{- end}}
<table class="facts">
{{- range .Facts}}
<tr><th>{{index . 0}}</th><td>{{index . 1}}</td></tr>
{{- end}}
</table>
<nav>Figures:{{range .Figures}} <a href="#{{.File}}">{{.Title}}</a>{{end}}</nav>

<h2>Metrics on the test snapshot</h2>
{{- if .Metrics}}
<table class="metrics">
<tr><th>Metric</th><th>Value</th><th>What it means</th></tr>
{{- range .Metrics}}
<tr><td>{{if ne .Name .Key}}{{.Name}}<br>{{end}}<code>{{.Key}}</code></td><td class="num">{{.Value}}</td><td>{{.Help}}</td></tr>
{{- end}}
</table>
{{- else}}
<p class="note">No metrics were supplied.</p>
{{- end}}

<h2>Model against the baseline scores</h2>
<table class="scores">
<tr><th>Score</th><th>ROC AUC</th><th>Average precision</th><th>Top-10 % lift</th></tr>
{{- range .Scores}}
<tr><td>{{.Name}}</td><td class="num">{{.AUC}}</td><td class="num">{{.AP}}</td><td class="num">{{.Lift}}</td></tr>
{{- end}}
</table>
<p class="note">Computed by the report from the test-snapshot labels and scores; a baseline ranks customers by its score, higher = riskier.</p>
{{range .Figures}}
<h2 id="{{.File}}">{{.Title}}</h2>
<figure>
<img src="{{.File}}" width="{{.W}}" height="{{.H}}" alt="{{.Title}}">
<figcaption>{{.Caption}}</figcaption>
</figure>
{{- end}}
{{- if .NoFeatures}}
<p class="note">No feature importance was supplied (for example a logistic-regression model); the importance figure is omitted.</p>
{{- end}}
{{- if .NoStages}}
<p class="note">No lifecycle-stage predictions were supplied; the stage confusion matrix is omitted.</p>
{{- end}}
</body>
</html>
`))
