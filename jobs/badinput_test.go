package jobs_test

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/churnpipe/churnpipe/features/lifecycle"
	"github.com/churnpipe/churnpipe/internal/testenv"
	"github.com/churnpipe/churnpipe/jobs"
	"github.com/churnpipe/churnpipe/pipeline"
)

// The bad-input corpus (testdata/badinput, written by gen.go) against the
// issue's contract: each file gives a clear error (file, line, column,
// reason) or a counted quarantine, the documented exit code, and leaves the
// previously published night intact when the run fails.

var (
	goodAsOf = time.Date(2024, 6, 30, 0, 0, 0, 0, time.UTC)
	badAsOf  = time.Date(2024, 7, 1, 0, 0, 0, 0, time.UTC)
)

const goodCustomers = 30 // good.csv: c01…c30

// quarantineRow is one row of a quarantine CSV.
type quarantineRow struct{ file, line, column, reason string }

func readQuarantine(t *testing.T, path string) []quarantineRow {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	require.NoError(t, err)
	require.Equal(t, []string{"source_file", "line", "column", "reason", "raw"}, recs[0])
	var out []quarantineRow
	for _, r := range recs[1:] {
		out = append(out, quarantineRow{filepath.Base(r[0]), r[1], r[2], r[3]})
	}
	return out
}

// rowsAfter counts the rows of a CSV whose event_time (RFC 3339 or a day)
// falls after the day asOf: the rows the features must exclude.
func rowsAfter(t *testing.T, path string, asOf time.Time) int64 {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Scan() // header
	var n int64
	for sc.Scan() {
		fields := strings.Split(sc.Text(), ",")
		ts, err := time.Parse(time.RFC3339, fields[1])
		if err != nil {
			continue
		}
		if !ts.Before(asOf.AddDate(0, 0, 1)) {
			n++
		}
	}
	return n
}

type published struct {
	count int
	asOf  string
	runID string
}

func publishedNight(t *testing.T, db *sql.DB) published {
	t.Helper()
	var p published
	require.NoError(t, db.QueryRow(`SELECT count(*), min(as_of), min(run_id) FROM customer_predictions`).Scan(&p.count, &p.asOf, &p.runID))
	var distinct int
	require.NoError(t, db.QueryRow(`SELECT count(DISTINCT as_of) + count(DISTINCT run_id) FROM customer_predictions`).Scan(&distinct))
	require.Equal(t, 2, distinct, "one night, one run in the current table")
	return p
}

// goodNight publishes good.csv at goodAsOf into a fresh SQLite file once and
// returns a copy of it for each caller.
func goodNight(t *testing.T, corpus string) (dbPath string, before published) {
	t.Helper()
	dir := t.TempDir()
	dbPath = filepath.Join(dir, "p.db")
	_, err := jobs.Nightly(context.Background(), jobs.NightlyConfig{NightlyConfig: pipeline.NightlyConfig{
		Input: pipeline.Input{Path: filepath.Join(corpus, "good.csv"), MaxReject: 0.01},
		AsOf:  goodAsOf, DB: "sqlite:" + dbPath,
	}}, pipeline.Options{})
	require.NoError(t, err, "the good night publishes")
	db := openDB(t, dbPath)
	before = publishedNight(t, db)
	require.Equal(t, goodCustomers, before.count)
	require.True(t, strings.HasPrefix(before.asOf, "2024-06-30"), before.asOf)
	require.NoError(t, db.Close())
	return dbPath, before
}

func copyDB(t *testing.T, src string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "p.db")
	for _, suffix := range []string{"", "-wal", "-shm"} {
		in, err := os.Open(src + suffix)
		if os.IsNotExist(err) && suffix != "" {
			continue
		}
		require.NoError(t, err)
		out, err := os.Create(dst + suffix)
		require.NoError(t, err)
		_, err = io.Copy(out, in)
		require.NoError(t, err)
		require.NoError(t, out.Close())
		in.Close()
	}
	return dst
}

func TestBadInputCorpus(t *testing.T) {
	corpus := filepath.Join(testenv.Root(t), "testdata", "badinput")
	goodDB, before := goodNight(t, corpus)

	type contract struct {
		code     int
		rejected int64    // -1: not checked
		errHas   []string // the error names file, line, column, reason
		// quarantine: the first rows of the quarantine file as "file:line:column";
		// nil = not checked. The file holds exactly rejected rows.
		quarantine []string
		check      func(t *testing.T, res pipeline.NightlyResult) []string // extra contract checks; returns violations
	}
	cases := []struct {
		file      string
		asOf      time.Time
		maxReject float64
		force     bool // --force-publish
		want      contract
		todo      string // current behaviour misses the contract: skipped, see the report
	}{
		{file: "truncated.csv", maxReject: 0.01, want: contract{code: jobs.ExitOK, rejected: 1, quarantine: []string{"truncated.csv:242:"}}},
		{file: "truncated.csv", maxReject: 0, want: contract{code: jobs.ExitRejected, rejected: 1,
			errHas: []string{"1 of 241 rows"}, quarantine: []string{"truncated.csv:242:"}}},
		{file: "truncated.parquet", maxReject: 0.01, want: contract{code: jobs.ExitRejected, rejected: -1, errHas: []string{"truncated.parquet"}}},
		// issue 14 item 7: on main arrow-go allocated 32 GiB for the stored schema's body: fatal out of memory, exit 2.
		{file: "corrupt_arrow_schema.parquet", maxReject: 0.01, want: contract{code: jobs.ExitRejected, rejected: -1,
			errHas: []string{"corrupt_arrow_schema.parquet", "corrupt file", "ARROW:schema", "body length"}}},
		{file: "corrupt_footer_schema.arrow", maxReject: 0.01, want: contract{code: jobs.ExitRejected, rejected: -1,
			errHas: []string{"corrupt_footer_schema.arrow", "corrupt Arrow file"}}},
		{file: "wrong_types.parquet", maxReject: 0.01, want: contract{code: jobs.ExitRejected, rejected: -1, errHas: []string{"wrong_types.parquet", "event_time", "float64"}}},
		{file: "wrong_types.csv", maxReject: 0.01, want: contract{code: jobs.ExitRejected, rejected: 240,
			errHas: []string{"240 of 240 rows", "event_time 240 (first: ", "wrong_types.csv line 2", "--time-layout"}, quarantine: []string{"wrong_types.csv:2:event_time"}}},
		{file: "missing_header.csv", maxReject: 0.01, want: contract{code: jobs.ExitRejected, rejected: -1,
			errHas: []string{"missing_header.csv", "customer_id"}}},
		{file: "dup_header.csv", maxReject: 0.01, want: contract{code: jobs.ExitRejected, rejected: -1,
			errHas: []string{"dup_header.csv", "amount"}}},
		// issue 14 item 2: on main the stray quote swallowed lines 170–241 as one rejected row, exit 0.
		{file: "stray_quote.csv", maxReject: 0.01, want: contract{code: jobs.ExitRejected, rejected: -1,
			errHas: []string{"stray_quote.csv:170:", "broken quote"}}},
		{file: "bom.csv", maxReject: 0, want: contract{code: jobs.ExitOK, rejected: 0}},
		{file: "crlf.csv", maxReject: 0, want: contract{code: jobs.ExitOK, rejected: 0}},
		// Encoded exports are read as the plain file: every row, nothing rejected.
		{file: "gzip.csv.gz", maxReject: 0, want: contract{code: jobs.ExitOK, rejected: 0, check: readsLikeGood}},
		{file: "cr_only.csv", maxReject: 0, want: contract{code: jobs.ExitOK, rejected: 0, check: readsLikeGood}},
		// Excel "Unicode Text" is UTF-16 (decoded) and tab-separated: with the
		// default delimiter the header is one field, and the error says which flag to use.
		{file: "excel_unicode.txt", maxReject: 0.01, want: contract{code: jobs.ExitRejected, rejected: -1,
			errHas: []string{"excel_unicode.txt", "customer_id", "--delimiter tab"}}},
		// event_id NULL on every row: missing, so nothing is a re-delivery (main:
		// the 30 \N amounts rejected, and 180 of the other 210 rows dropped as re-deliveries).
		{file: "sql_export.csv", maxReject: 0, want: contract{code: jobs.ExitOK, rejected: 0,
			check: func(t *testing.T, res pipeline.NightlyResult) []string {
				v := readsLikeGood(t, res)
				if res.Run.RowsDuplicate != 0 {
					v = append(v, fmt.Sprintf("%d rows dropped as duplicates", res.Run.RowsDuplicate))
				}
				return v
			}}},
		{file: "semicolon.csv", maxReject: 0.01, want: contract{code: jobs.ExitRejected, rejected: -1,
			errHas: []string{"semicolon.csv", "customer_id", "--delimiter ';'"}}},
		{file: "nul.csv", maxReject: 0.01, want: contract{code: jobs.ExitOK, rejected: 1, quarantine: []string{"nul.csv:242:customer_id"}}},
		{file: "nonutf8_ids.csv", maxReject: 0.01, want: contract{code: jobs.ExitOK, rejected: 1, quarantine: []string{"nonutf8_ids.csv:242:customer_id"}}},
		// issue 14 item 10: an id longer than data.MaxIDLength is a rejected row, not a night that fails at publish.
		{file: "long_ids.csv", maxReject: 0.01, want: contract{code: jobs.ExitOK, rejected: 1, quarantine: []string{"long_ids.csv:242:customer_id"},
			check: func(t *testing.T, res pipeline.NightlyResult) []string {
				if res.Ingest.RowsLongID != 1 || res.Run.Details["rows_rejected_long_id"] != int64(1) {
					return []string{fmt.Sprintf("long ids counted %d, details %v", res.Ingest.RowsLongID, res.Run.Details["rows_rejected_long_id"])}
				}
				return nil
			}}},
		// 3 of 244 rejected (1.2 %); the 2150 row is valid but after the as-of day.
		{file: "times.csv", maxReject: 0.02, want: contract{code: jobs.ExitOK, rejected: 3,
			quarantine: []string{"times.csv:242:event_time", "times.csv:243:event_time", "times.csv:244:event_time"},
			check: func(t *testing.T, res pipeline.NightlyResult) []string {
				want := rowsAfter(t, filepath.Join(corpus, "good.csv"), badAsOf) + 1
				if res.Ingest.RowsExcluded != want {
					return []string{fmt.Sprintf("rows after the as-of day: %d, want %d", res.Ingest.RowsExcluded, want)}
				}
				return nil
			}}},
		{file: "times.csv", maxReject: 0.01, want: contract{code: jobs.ExitRejected, rejected: 3, errHas: []string{"3 of 244 rows"},
			quarantine: []string{"times.csv:242:event_time", "times.csv:243:event_time", "times.csv:244:event_time"}}},
		{file: "duplicates.csv", maxReject: 0.01, want: contract{code: jobs.ExitOK, rejected: 0,
			check: func(t *testing.T, res pipeline.NightlyResult) []string {
				var v []string
				// No event_id: identical rows are kept (they may be lines of
				// one order) and counted, never dropped.
				if res.Run.RowsDuplicate != 0 || res.Run.RowsIdentical != 5 {
					v = append(v, fmt.Sprintf("rows_duplicate %d, rows_identical %d; want 0 and 5 (kept and counted)", res.Run.RowsDuplicate, res.Run.RowsIdentical))
				}
				if res.Ingest.RowsUsed != 245-rowsAfter(t, filepath.Join(corpus, "good.csv"), badAsOf) {
					v = append(v, fmt.Sprintf("rows used %d: every row, the repeated ones included, must be used", res.Ingest.RowsUsed))
				}
				return v
			}},
		},
		// 4 of 244 rejected (1.6 %): over the default limit, under 2 %.
		{file: "amounts.csv", maxReject: 0.01, want: contract{code: jobs.ExitRejected, rejected: 4, errHas: []string{"4 of 244 rows", "limit 1.00 %"},
			quarantine: []string{"amounts.csv:242:amount", "amounts.csv:243:amount", "amounts.csv:244:amount", "amounts.csv:245:amount"}}},
		{file: "amounts.csv", maxReject: 0.02, want: contract{code: jobs.ExitOK, rejected: 4,
			quarantine: []string{"amounts.csv:242:amount", "amounts.csv:243:amount", "amounts.csv:244:amount", "amounts.csv:245:amount"}}},
		{file: "header_only.csv", maxReject: 0.01, want: contract{code: jobs.ExitRejected, rejected: 0, errHas: []string{"no customer", "0 rows read"}}},
		// Single class: everybody churned. Scoring still publishes, every stage "churned".
		// Its history (2021–2022) is not the published night's (2023–2024): the feed
		// gates block it (time_span, day_rows), so the operator forces it.
		{file: "all_churned.csv", maxReject: 0.01, force: true, want: contract{code: jobs.ExitOK, rejected: 0,
			check: func(t *testing.T, res pipeline.NightlyResult) []string {
				if res.Stages[lifecycle.Churned] != goodCustomers {
					return []string{fmt.Sprintf("stages %v, want all %d churned", res.Stages, goodCustomers)}
				}
				return nil
			}}},
		{file: "good.csv", asOf: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), maxReject: 0.01, want: contract{code: jobs.ExitRejected, rejected: 0,
			errHas: []string{"no customer has an event on or before 2020-01-01", "240 after the as-of day"}}},
	}
	for _, tc := range cases {
		asOf := tc.asOf
		if asOf.IsZero() {
			asOf = badAsOf
		}
		name := fmt.Sprintf("%s/max_reject=%g", tc.file, tc.maxReject)
		t.Run(name, func(t *testing.T) {
			dbPath := copyDB(t, goodDB)
			res, err := jobs.Nightly(context.Background(), jobs.NightlyConfig{NightlyConfig: pipeline.NightlyConfig{
				Input: pipeline.Input{Path: filepath.Join(corpus, tc.file), MaxReject: tc.maxReject},
				AsOf:  asOf, DB: "sqlite:" + dbPath, ForcePublish: tc.force,
			}}, pipeline.Options{})
			var violations []string
			fail := func(format string, args ...any) { violations = append(violations, fmt.Sprintf(format, args...)) }

			if got := jobs.ExitCode(err); got != tc.want.code {
				fail("exit code %d, want %d (err: %v)", got, tc.want.code, err)
			}
			if tc.want.code != jobs.ExitOK && err != nil {
				for _, s := range tc.want.errHas {
					if !strings.Contains(err.Error(), s) {
						fail("error %q does not say %q", err, s)
					}
				}
			}
			if tc.want.rejected >= 0 && res.Ingest.RowsRejected != tc.want.rejected {
				fail("rows rejected %d, want %d", res.Ingest.RowsRejected, tc.want.rejected)
			}
			if tc.want.quarantine != nil {
				if res.Ingest.Quarantine == "" {
					fail("no quarantine file")
				} else {
					var got []string
					for _, q := range readQuarantine(t, res.Ingest.Quarantine) {
						got = append(got, q.file+":"+q.line+":"+q.column)
						if q.reason == "" {
							fail("quarantine row %s:%s without a reason", q.file, q.line)
						}
					}
					if tc.want.rejected >= 0 && int64(len(got)) != tc.want.rejected {
						fail("%d quarantine rows, want %d", len(got), tc.want.rejected)
					}
					if len(got) < len(tc.want.quarantine) || strings.Join(got[:len(tc.want.quarantine)], " ") != strings.Join(tc.want.quarantine, " ") {
						fail("quarantine rows %.200v, want %v first", got, tc.want.quarantine)
					}
				}
			}
			if tc.want.check != nil {
				violations = append(violations, tc.want.check(t, res)...)
			}

			db := openDB(t, dbPath)
			after := publishedNight(t, db)
			if tc.want.code != jobs.ExitOK {
				// The previous night is intact, and the ledger says why this run failed.
				if after != before {
					fail("published table changed: %+v, was %+v", after, before)
				}
				if res.Run.ID != "" {
					var status, msg string
					require.NoError(t, db.QueryRow(`SELECT status, coalesce(error, '') FROM pipeline_runs WHERE run_id = ?`, res.Run.ID).Scan(&status, &msg))
					if status != "failed" || msg == "" {
						fail("ledger: status %q error %q, want failed with the error", status, msg)
					}
				}
			} else if err == nil {
				if after.count != res.Ingest.Customers || !strings.HasPrefix(after.asOf, asOf.Format(time.DateOnly)) || after.runID != res.Run.ID {
					fail("published %+v, want %d customers of %s", after, res.Ingest.Customers, asOf.Format(time.DateOnly))
				}
			}

			switch {
			case len(violations) == 0 && tc.todo != "":
				t.Logf("TODO(lead) now met, remove the mark: %s", tc.todo)
			case len(violations) > 0 && tc.todo != "":
				t.Skipf("TODO(lead): %s\n  now: %s", tc.todo, strings.Join(violations, "\n  now: "))
			default:
				for _, v := range violations {
					t.Error(v)
				}
			}
		})
	}
}

// readsLikeGood: the night read good.csv's 240 rows and 30 customers.
func readsLikeGood(t *testing.T, res pipeline.NightlyResult) []string {
	if res.Run.RowsRead != 240 || res.Run.Customers != 30 {
		return []string{fmt.Sprintf("read %d rows, %d customers; good.csv has 240 and 30", res.Run.RowsRead, res.Run.Customers)}
	}
	return nil
}
