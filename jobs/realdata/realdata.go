package realdata

import (
	"context"
	"database/sql"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx" for the checks
	_ "modernc.org/sqlite"             // database/sql driver "sqlite"

	"github.com/churnpipe/churnpipe/data"
	"github.com/churnpipe/churnpipe/data/store"
	"github.com/churnpipe/churnpipe/jobs"
	"github.com/churnpipe/churnpipe/models/churn"
	"github.com/churnpipe/churnpipe/pipeline"
)

// History is one real history of the suite and its documented as-of day.
type History struct {
	Name string
	Rel  string // path under the data folder
	AsOf time.Time
}

func day(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

// Histories are the suite's histories (the canonical-layout files of
// ../shared/data) and their as-of days: the day before each one's last day.
var Histories = []History{
	{"cdnow_sample", "cdnow/cdnow_sample_interactions.csv", day("1998-06-29")},
	{"cdnow_master", "cdnow_master/cdnow_master_interactions.csv", day("1998-06-29")},
	{"dunnhumby", "dunnhumby/completejourney_sample_interactions.csv", day("2017-12-30")},
}

// Config says where the data are and how to run.
type Config struct {
	// Dir is the shared data folder (../shared/data).
	Dir string
	// Work is the folder for the registries, databases and quarantines;
	// "" = a temporary folder, removed at the end.
	Work string
	// Postgres, when set, is a PostgreSQL URL: each history is also
	// published into a fresh schema there (dropped at the end).
	Postgres string
	// Quick trains a small model (2 snapshots; logistic and recency
	// candidates) instead of the production default: the suite's checks are
	// about the data path, and CI runs them on every push.
	Quick bool
	// Only, when non-empty, restricts the run to these history names.
	Only []string
}

// Row is the outcome of one history on one sink.
type Row struct {
	History string `json:"history"`
	AsOf    string `json:"as_of"`
	Sink    string `json:"sink"` // sqlite or postgres

	RowsRead      int64 `json:"rows_read"`
	RowsRejected  int64 `json:"rows_rejected"`
	RowsExcluded  int64 `json:"rows_excluded"`  // after the as-of day
	RowsDuplicate int64 `json:"rows_duplicate"` // dropped re-deliveries (event_id)
	RowsIdentical int64 `json:"rows_identical"` // kept, counted
	RowsKept      int64 `json:"rows_kept"`      // used by the night
	// InputRows is the number of data rows of the file, counted here.
	InputRows int64 `json:"input_rows"`

	Customers  int64 `json:"customers"` // published rows
	Buyers     int64 `json:"buyers"`    // with at least one purchase day
	ChurnRows  int64 `json:"churn_filled"`
	PAliveRows int64 `json:"p_alive_filled"`

	NetInCents       int64 `json:"net_in_cents"`       // Σ purchases − returns on or before the as-of day, from the file
	HistoricOutCents int64 `json:"historic_out_cents"` // Σ historic_value published
	MaxDecimals      int   `json:"max_decimals"`       // most decimals of a published money value

	Status   string   `json:"status"`
	ExitCode int      `json:"exit_code"`
	Gates    string   `json:"gates"`  // gate: status of the non-passing ones, "all pass" otherwise
	Forced   bool     `json:"forced"` // published with --force-publish (never, in this suite)
	Warnings []string `json:"warnings,omitempty"`

	ModelKind  string  `json:"model_kind"`
	TestAUC    float64 `json:"test_auc"`
	RecencyAUC float64 `json:"recency_auc"`
	BTYDAUC    float64 `json:"btyd_auc"`
	ECE        float64 `json:"ece"`
	Verdict    string  `json:"verdict"`

	TrainSeconds float64 `json:"train_seconds"`
	NightSeconds float64 `json:"night_seconds"`
	Err          string  `json:"error,omitempty"`
}

// Run runs the suite. A history whose file is absent is an error (callers
// that may lack the data check Dir first).
func Run(ctx context.Context, cfg Config, opt pipeline.Options) ([]Row, error) {
	work := cfg.Work
	if work == "" {
		d, err := os.MkdirTemp("", "churnpipe-realdata-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(d)
		work = d
	}
	var rows []Row
	for _, h := range Histories {
		if len(cfg.Only) > 0 && !contains(cfg.Only, h.Name) {
			continue
		}
		path := filepath.Join(cfg.Dir, h.Rel)
		if _, err := os.Stat(path); err != nil {
			return rows, fmt.Errorf("realdata: %s: %w", h.Name, err)
		}
		rs, err := runHistory(ctx, cfg, h, path, filepath.Join(work, h.Name), opt)
		rows = append(rows, rs...)
		if err != nil {
			return rows, err
		}
	}
	return rows, nil
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

func runHistory(ctx context.Context, cfg Config, h History, path, dir string, opt pipeline.Options) ([]Row, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	in, err := netInput(path, h.AsOf)
	if err != nil {
		return nil, err
	}
	reg := filepath.Join(dir, "registry")
	tc := jobs.TrainConfig{Input: pipeline.Input{Path: path, MaxReject: 0.01, Quarantine: filepath.Join(dir, "q-train.csv")},
		TrainConfig: pipeline.TrainConfig{AsOf: h.AsOf, Registry: reg, Seed: 1}}
	if cfg.Quick {
		tc.TrainSnapshots, tc.Train = 2, churn.TrainOptions{Candidates: []string{"logit", "recency"}}
	}
	t0 := time.Now()
	rep, err := jobs.Train(ctx, tc, opt)
	if err != nil {
		return nil, fmt.Errorf("realdata: %s: train: %w", h.Name, err)
	}
	trainSec := time.Since(t0).Seconds()

	type sink struct {
		name, dsn string
		st        store.Options
		cleanup   func()
	}
	sinks := []sink{{name: "sqlite", dsn: "sqlite:" + filepath.Join(dir, "predictions.db")}}
	if cfg.Postgres != "" {
		schema := fmt.Sprintf("churnpipe_real_%s_%d", h.Name, time.Now().UnixNano()%1e9)
		sinks = append(sinks, sink{name: "postgres", dsn: cfg.Postgres, st: store.Options{Schema: schema},
			cleanup: func() { dropSchema(cfg.Postgres, schema) }})
	}
	var rows []Row
	for _, s := range sinks {
		if s.cleanup != nil {
			defer s.cleanup()
		}
		row := Row{History: h.Name, AsOf: h.AsOf.Format(time.DateOnly), Sink: s.name, InputRows: in.rows, NetInCents: in.net,
			ModelKind: rep.ModelKind, TestAUC: rep.AUC, RecencyAUC: rep.Baselines.RecencyAUC, BTYDAUC: rep.Baselines.BGNBDAUC, ECE: rep.ECE,
			Verdict: rep.Verdict, TrainSeconds: trainSec}
		nc := jobs.NightlyConfig{NightlyConfig: pipeline.NightlyConfig{
			Input: pipeline.Input{Path: path, MaxReject: 0.01, Quarantine: filepath.Join(dir, "q-"+s.name+".csv")},
			AsOf:  h.AsOf, DB: s.dsn, Store: s.st, Registry: reg}}
		t1 := time.Now()
		res, nerr := jobs.Nightly(ctx, nc, opt)
		row.NightSeconds = time.Since(t1).Seconds()
		row.Status, row.ExitCode = res.Run.Status, jobs.ExitCode(nerr)
		row.RowsRead, row.RowsRejected, row.RowsExcluded = res.Run.RowsRead, res.Run.RowsRejected, res.Run.RowsExcluded
		row.RowsDuplicate, row.RowsIdentical, row.RowsKept = res.Run.RowsDuplicate, res.Run.RowsIdentical, res.Ingest.RowsUsed
		row.Gates, row.Warnings = gateSummary(res)
		row.Forced = res.Gates.Forced
		if nerr != nil {
			row.Err = nerr.Error()
			rows = append(rows, row)
			continue
		}
		if err := published(s.dsn, s.st, &row); err != nil {
			return append(rows, row), fmt.Errorf("realdata: %s: read back %s: %w", h.Name, s.name, err)
		}
		rows = append(rows, row)
	}
	return rows, nil
}

func gateSummary(res pipeline.NightlyResult) (string, []string) {
	var bad, warn []string
	for _, r := range res.Gates.Results {
		if r.Status != "pass" && r.Status != "" {
			bad = append(bad, r.Name+": "+r.Status)
			warn = append(warn, r.Name+": "+r.Message)
		}
	}
	if len(bad) == 0 {
		return "all pass", nil
	}
	return strings.Join(bad, ", "), warn
}

// input is what the file itself says, read independently of the product.
type input struct {
	rows int64 // data rows
	net  int64 // cents
}

// netInput re-reads a canonical CSV history (customer_id, event_time,
// event_type, amount) with encoding/csv and sums, in integer cents, the
// purchases minus the returns on or before asOf — the rule of the feature
// table's net_spend: a negative purchase is a return; other event types
// carry no money.
func netInput(path string, asOf time.Time) (input, error) {
	var in input
	f, err := os.Open(path)
	if err != nil {
		return in, err
	}
	defer f.Close()
	r := csv.NewReader(f)
	head, err := r.Read()
	if err != nil {
		return in, fmt.Errorf("%s: header: %w", path, err)
	}
	col := map[string]int{}
	for i, n := range head {
		col[strings.TrimSpace(strings.TrimPrefix(n, "\ufeff"))] = i
	}
	for _, c := range []string{data.ColCustomerID, data.ColEventTime, data.ColEventType, data.ColAmount} {
		if _, ok := col[c]; !ok {
			return in, fmt.Errorf("%s: no column %q", path, c)
		}
	}
	last := asOf.AddDate(0, 0, 1)
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return in, fmt.Errorf("%s: %w", path, err)
		}
		in.rows++
		ts := rec[col[data.ColEventTime]]
		t, err := time.Parse(time.RFC3339, ts)
		if err != nil {
			if t, err = time.Parse(time.DateOnly, ts); err != nil {
				return in, fmt.Errorf("%s: line %d: event_time %q", path, in.rows+1, ts)
			}
		}
		if !t.Before(last) {
			continue
		}
		a := strings.TrimSpace(rec[col[data.ColAmount]])
		if a == "" {
			continue
		}
		v, err := strconv.ParseFloat(a, 64)
		if err != nil {
			return in, fmt.Errorf("%s: line %d: amount %q", path, in.rows+1, a)
		}
		cents := int64(math.Round(v * 100))
		switch strings.ToLower(strings.TrimSpace(rec[col[data.ColEventType]])) {
		case data.EventPurchase:
			in.net += cents // negative = a return booked as a purchase
		case data.EventReturn:
			in.net -= abs(cents)
		}
	}
	return in, nil
}

func abs(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

// published reads the night back from the sink.
func published(dsn string, st store.Options, row *Row) error {
	driver, conn, table := "sqlite", strings.TrimPrefix(dsn, "sqlite:"), `"customer_predictions"`
	if strings.HasPrefix(dsn, "postgres") {
		driver, conn, table = "pgx", dsn, pgx.Identifier{st.Schema, "customer_predictions"}.Sanitize()
	}
	db, err := sql.Open(driver, conn)
	if err != nil {
		return err
	}
	defer db.Close()
	q := `SELECT count(*), count(CASE WHEN purchase_days > 0 THEN 1 END), count(churn_probability), count(p_alive) FROM ` + table
	if err := db.QueryRow(q).Scan(&row.Customers, &row.Buyers, &row.ChurnRows, &row.PAliveRows); err != nil {
		return err
	}
	rs, err := db.Query(`SELECT historic_value, predicted_clv_12m, expected_avg_spend FROM ` + table)
	if err != nil {
		return err
	}
	defer rs.Close()
	for rs.Next() {
		var v [3]sql.NullFloat64
		if err := rs.Scan(&v[0], &v[1], &v[2]); err != nil {
			return err
		}
		if v[0].Valid {
			row.HistoricOutCents += int64(math.Round(v[0].Float64 * 100))
		}
		for _, x := range v {
			if x.Valid {
				row.MaxDecimals = max(row.MaxDecimals, decimals(x.Float64))
			}
		}
	}
	return rs.Err()
}

// decimals returns the number of decimals of x's shortest representation.
func decimals(x float64) int {
	s := strconv.FormatFloat(x, 'f', -1, 64)
	if i := strings.IndexByte(s, '.'); i >= 0 {
		return len(s) - i - 1
	}
	return 0
}

func dropSchema(dsn, schema string) {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return
	}
	defer db.Close()
	_, _ = db.Exec("DROP SCHEMA IF EXISTS " + pgx.Identifier{schema}.Sanitize() + " CASCADE")
}

// ErrNoData is returned by Available when the data folder is missing.
var ErrNoData = errors.New("realdata: shared data folder not found")

// Available reports whether dir holds the suite's histories.
func Available(dir string) error {
	for _, h := range Histories {
		if _, err := os.Stat(filepath.Join(dir, h.Rel)); err != nil {
			return fmt.Errorf("%w: %s: %v", ErrNoData, h.Rel, err)
		}
	}
	return nil
}

// Markdown renders rows as the README's table.
func Markdown(rows []Row) string {
	var b strings.Builder
	b.WriteString("| history (as-of) | sink | rows read / kept (identical kept, duplicates dropped) | customers (buyers) | net amount in | Σ historic_value out | gates | churn filled | model (test AUC; recency, BTYD) | ECE | status |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "| %s (%s) | %s | %d / %d (%d, %d) | %d (%d) | %s | %s | %s | %d of %d buyers | %s %.4f; %.4f, %.4f | %.3f | %s (exit %d) |\n",
			r.History, r.AsOf, r.Sink, r.RowsRead, r.RowsKept, r.RowsIdentical, r.RowsDuplicate, r.Customers, r.Buyers,
			cents(r.NetInCents), cents(r.HistoricOutCents), r.Gates, r.ChurnRows, r.Buyers,
			r.ModelKind, r.TestAUC, r.RecencyAUC, r.BTYDAUC, r.ECE, r.Status, r.ExitCode)
	}
	return b.String()
}

func cents(c int64) string {
	sign := ""
	if c < 0 {
		sign, c = "-", -c
	}
	return fmt.Sprintf("%s%d.%02d", sign, c/100, c%100)
}
