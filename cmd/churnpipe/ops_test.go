package main

import (
	"bufio"
	"database/sql"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/churnpipe/churnpipe/jobs"
)

// Issue 14: the operator's view. These tests run the built binary, as cron
// and systemd do, and look at everything it leaves behind: exit code,
// stdout, stderr and the ledger.

var (
	opsBinOnce sync.Once
	opsBinPath string
	opsBinErr  error
)

// opsBinary builds the churnpipe binary once for the tests of this file.
func opsBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary")
	}
	opsBinOnce.Do(func() {
		dir, err := os.MkdirTemp("", "churnpipe-ops-bin")
		if err != nil {
			opsBinErr = err
			return
		}
		opsBinPath = filepath.Join(dir, "churnpipe")
		out, err := exec.Command("go", "build", "-o", opsBinPath, ".").CombinedOutput()
		if err != nil {
			opsBinErr = errors.New(string(out))
		}
	})
	require.NoError(t, opsBinErr)
	return opsBinPath
}

// exe runs the binary in dir and returns its exit code and combined output.
func exe(t *testing.T, dir string, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(opsBinary(t), args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CHURNPIPE_DB=", "CHURNPIPE_INPUT=")
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), string(out)
	}
	require.NoError(t, err, "%s", out)
	return 0, string(out)
}

// churnScored counts the rows of the current table with a churn probability.
func churnScored(t *testing.T, dbPath string) (scored, rows int) {
	t.Helper()
	db, err := sql.Open("sqlite", dbPath)
	require.NoError(t, err)
	defer db.Close()
	require.NoError(t, db.QueryRow(`SELECT count(churn_probability), count(*) FROM customer_predictions`).Scan(&scored, &rows))
	return scored, rows
}

// TestOpsRegistryOneLocation is item 1: the deploy/ set-up (a configuration
// whose registry is left at "", nightly and retrain run from the same
// working folder) scores with the model retrain trains — on main the night
// had 0 churn probabilities and exit 0. A configured registry that is
// missing, mistyped or whose champion points at a missing version fails the
// night with exit code 7; a night without churn scores after one with them
// is blocked by the churn_columns gate (exit 4) unless forced.
func TestOpsRegistryOneLocation(t *testing.T) {
	dir := t.TempDir()
	hist := filepath.Join(dir, "history.parquet")
	code, out := exe(t, dir, "synth", "--customers", "1500", "--start", "2023-01-01", "--end", "2024-12-31", "--seed", "5", "--out", hist)
	require.Equal(t, 0, code, out)
	cfg := filepath.Join(dir, "churnpipe.yaml")
	require.NoError(t, os.WriteFile(cfg, []byte("input:\n  path: "+hist+"\ndb: sqlite:"+filepath.Join(dir, "p.db")+
		"\nregistry: \"\"\n"), 0o644))

	code, out = exe(t, dir, "retrain", "--config", cfg, "--as-of", "2024-12-31", "--force") // promoted whatever its ECE
	require.Equal(t, 0, code, out)
	code, out = exe(t, dir, "nightly", "--config", cfg, "--as-of", "2024-12-30")
	require.Equal(t, 0, code, out)
	scored, rows := churnScored(t, filepath.Join(dir, "p.db"))
	require.Positive(t, rows)
	assert.Positive(t, scored, "the nightly run of the deploy set-up scores with the model retrain trained")

	t.Run("mistyped --registry", func(t *testing.T) {
		code, out := exe(t, dir, "nightly", "--config", cfg, "--as-of", "2024-12-30", "--registry", filepath.Join(dir, "churnpipe-modles"))
		assert.Equal(t, jobs.ExitModel, code, out)
		assert.Contains(t, out, "churnpipe-modles")
		assert.NoDirExists(t, filepath.Join(dir, "churnpipe-modles"), "a mistyped registry is not created")
	})
	t.Run("configured registry missing", func(t *testing.T) {
		c2 := filepath.Join(dir, "missing.yaml")
		require.NoError(t, os.WriteFile(c2, []byte("input:\n  path: "+hist+"\ndb: sqlite:"+filepath.Join(dir, "p.db")+
			"\nregistry: "+filepath.Join(dir, "nowhere")+"\n"), 0o644))
		code, out := exe(t, dir, "nightly", "--config", c2, "--as-of", "2024-12-30")
		assert.Equal(t, jobs.ExitModel, code, out)
	})
	t.Run("champion points at a missing version", func(t *testing.T) {
		reg := filepath.Join(dir, "broken-models")
		require.NoError(t, os.CopyFS(reg, os.DirFS(filepath.Join(dir, "churnpipe-models"))))
		require.NoError(t, os.RemoveAll(filepath.Join(reg, "versions")))
		require.NoError(t, os.WriteFile(filepath.Join(reg, "manifest.json"), []byte(`{"versions": []}`), 0o644))
		code, out := exe(t, dir, "nightly", "--config", cfg, "--as-of", "2024-12-30", "--registry", reg)
		assert.Equal(t, jobs.ExitModel, code, out)
	})
	t.Run("churn scoring off after a scored night", func(t *testing.T) {
		c3 := filepath.Join(dir, "off.yaml")
		require.NoError(t, os.WriteFile(c3, []byte("input:\n  path: "+hist+"\ndb: sqlite:"+filepath.Join(dir, "p.db")+
			"\nchurn_scoring: false\n"), 0o644))
		code, out := exe(t, dir, "nightly", "--config", c3, "--as-of", "2024-12-31")
		assert.Equal(t, jobs.ExitGateBlocked, code, out)
		assert.Contains(t, out, "churn_columns")
		scored, _ := churnScored(t, filepath.Join(dir, "p.db"))
		assert.Positive(t, scored, "the scored night stays")
		code, out = exe(t, dir, "nightly", "--config", c3, "--as-of", "2024-12-31", "--force-publish")
		assert.Equal(t, 0, code, out)
		scored, _ = churnScored(t, filepath.Join(dir, "p.db"))
		assert.Zero(t, scored, "forced: churn scoring is off")
	})
}

// dsnForms are the connection strings of item 8 that printed their
// password on main, and the well-formed ones.
var dsnForms = []struct{ name, dsn string }{
	{"url", "postgres://churn:S3cr3tPW@127.0.0.1:1/crm?sslmode=disable&connect_timeout=2"},
	{"keyword/value", "host=127.0.0.1 port=1 user=churn password=S3cr3tPW dbname=crm connect_timeout=2"},
	{"keyword/value quoted", "host=127.0.0.1 port=1 password='S3cr3tPW' dbname=crm"},
	{"scheme without colon", "postgres//churn:S3cr3tPW@127.0.0.1:1/crm"},
	{"unknown scheme", "pgsql://churn:S3cr3tPW@127.0.0.1:1/crm"},
	{"mysql driver form", "churn:S3cr3tPW@tcp(127.0.0.1:1)/crm"},
	{"mysql url", "mysql://churn:S3cr3tPW@127.0.0.1:1/crm?timeout=2s"},
	{"password parameter", "postgres://churn@127.0.0.1:1/crm?password=S3cr3tPW&sslmode=disable&connect_timeout=2"},
}

// TestOpsSecretsNeverPrinted is item 8: every DSN form, given as --db and
// as --input, never shows its password on stdout or stderr (text and JSON
// logs) nor in pipeline_runs.error.
func TestOpsSecretsNeverPrinted(t *testing.T) {
	dir := t.TempDir()
	const secret = "S3cr3tPW"
	for _, f := range dsnForms {
		t.Run(f.name, func(t *testing.T) {
			for _, logf := range []string{"text", "json"} {
				code, out := exe(t, dir, "nightly", "--input", filepath.Join(dir, "none.csv"), "--as-of", "2024-06-30",
					"--db", f.dsn, "--log-format", logf, "--db-retry-seconds", "1")
				assert.NotZero(t, code)
				assert.NotContains(t, out, secret, "--db %s", logf)

				dbPath := filepath.Join(dir, strings.ReplaceAll(f.name, " ", "_")+"-"+logf+".db")
				code, out = exe(t, dir, "nightly", "--input", f.dsn, "--input-table", "events", "--as-of", "2024-06-30",
					"--db", "sqlite:"+dbPath, "--log-format", logf)
				assert.NotZero(t, code)
				assert.NotContains(t, out, secret, "--input %s", logf)
				if _, err := os.Stat(dbPath); err == nil {
					db, err := sql.Open("sqlite", dbPath)
					require.NoError(t, err)
					var msgs []string
					rows, err := db.Query(`SELECT coalesce(error, '') || coalesce(details, '') FROM pipeline_runs`)
					require.NoError(t, err)
					for rows.Next() {
						var m string
						require.NoError(t, rows.Scan(&m))
						msgs = append(msgs, m)
					}
					require.NoError(t, rows.Err())
					rows.Close()
					db.Close()
					assert.NotContains(t, strings.Join(msgs, "\n"), secret, "ledger")
				}
			}
		})
	}
}

// TestOpsLedgerTellsTheTruthAfterCommit is item 5: the process is killed
// (SIGKILL) after the publishing transaction committed and before the final
// ledger update. On main the live night was then marked failed
// ("abandoned") by the next run; now success is recorded inside the
// publishing transaction, so the newest succeeded run is the night in the
// table.
func TestOpsLedgerTellsTheTruthAfterCommit(t *testing.T) {
	bin := opsBinary(t)
	dir := t.TempDir()
	hist := filepath.Join(dir, "history.parquet")
	code, out := exe(t, dir, "synth", "--customers", "300", "--start", "2024-01-01", "--end", "2024-12-31", "--seed", "3", "--out", hist)
	require.Equal(t, 0, code, out)
	dbPath := filepath.Join(dir, "p.db")
	nightly := func(day string) []string {
		return []string{"nightly", "--input", hist, "--as-of", day, "--db", "sqlite:" + dbPath}
	}
	code, out = exe(t, dir, nightly("2024-12-20")...)
	require.Equal(t, 0, code, out)
	db, err := sql.Open("sqlite", dbPath)
	require.NoError(t, err)
	defer db.Close()
	before := runIDs(t, db)

	cmd := exec.Command(bin, nightly("2024-12-21")...)
	cmd.Env = append(os.Environ(), "CHURNPIPE_TEST_PAUSE_AT=published")
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	paused := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if sc.Text() == "PAUSED published" {
				close(paused)
				break
			}
		}
		for sc.Scan() {
		}
	}()
	select {
	case <-paused:
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatal(`no "PAUSED published" on stderr within 30 s`)
	}
	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	_ = cmd.Wait()

	killed := newRun(t, db, before)
	now := current(t, db)
	require.Equal(t, "2024-12-21", now.asOf, "the commit happened: the new night is live")
	assert.Equal(t, killed, now.runID)
	assert.Equal(t, "succeeded", status(t, db, killed), "the ledger says so, although the process died before its final update")

	code, out = exe(t, dir, nightly("2024-12-22")...)
	require.Equal(t, 0, code, out)
	assert.Equal(t, "succeeded", status(t, db, killed), "the next run does not mark a published night abandoned")
}

// TestOpsSmallerItems is item 12: churnpipe version exists; the --db help
// of nightly and retrain names sqlite:, postgres:// and mysql://; models
// show of a missing version or alias is a usage error (exit 2, was 1);
// report --model with a mistyped registry names the path it looked in and
// creates no folder (exit 7); a run without rejected rows creates no
// quarantine/ folder.
func TestOpsSmallerItems(t *testing.T) {
	dir := t.TempDir()
	code, out := exe(t, dir, "version")
	assert.Equal(t, 0, code, out)
	assert.Contains(t, out, "churnpipe ")

	// Every command taking --db names the three kinds of store.
	for _, cmd := range []string{"nightly", "retrain"} {
		code, out = exe(t, dir, cmd, "-h")
		assert.Equal(t, 0, code, out)
		for _, scheme := range []string{"sqlite:", "postgres://", "mysql://"} {
			assert.Contains(t, out, scheme, "%s --db help", cmd)
		}
	}

	code, out = exe(t, dir, "report", "--model", "champion", "--out", filepath.Join(dir, "rep"), "--registry", filepath.Join(dir, "modles"))
	assert.Equal(t, jobs.ExitModel, code, out)
	assert.Contains(t, out, filepath.Join(dir, "modles"))
	assert.NoDirExists(t, filepath.Join(dir, "modles"))

	hist := filepath.Join(dir, "h.parquet")
	// 2,000 customers over two years: enough buyers for train (200 were not, and the check was skipped).
	code, out = exe(t, dir, "synth", "--customers", "2000", "--start", "2023-01-01", "--end", "2024-12-31", "--out", hist)
	require.Equal(t, 0, code, out)
	code, out = exe(t, dir, "train", "--input", hist, "--registry", filepath.Join(dir, "reg"), "--force")
	require.Equal(t, 0, code, out)
	for _, v := range []string{"v999999", "vNOTTHERE"} {
		code, out = exe(t, dir, "models", "show", v, "--registry", filepath.Join(dir, "reg"))
		assert.Equal(t, jobs.ExitUsage, code, out)
		assert.Contains(t, out, v)
	}
	code, out = exe(t, dir, "nightly", "--input", hist, "--as-of", "2024-12-31", "--db", "sqlite:"+filepath.Join(dir, "p.db"), "--registry", "")
	require.Equal(t, 0, code, out)
	assert.NoDirExists(t, filepath.Join(dir, "quarantine"), "no rejected row, no quarantine folder")
}

// TestOpsOperatorInputs is item 6: typos and odd values an operator gives
// must not silently mean something else. On main the configuration's
// integers wrapped (churn_days 4294967396 = 100) or truncated (200.9 =
// 200), amounts in Go-only syntax (1_000, 0x1p4) were read as 1000 and 16,
// and a zone abbreviation in --time-layout (EDT) was read as UTC — all
// exit 0. The SQLite path, file: URI and --as-of checks and the gate
// warning in the summary were fixed earlier; they are kept here.
func TestOpsOperatorInputs(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.csv")
	require.NoError(t, os.WriteFile(good, []byte("customer_id,event_time,event_type,amount\n"+
		"c1,2024-03-01T10:00:00Z,purchase,10\nc2,2024-03-02T10:00:00Z,purchase,20\nc3,2024-03-03T10:00:00Z,purchase,30\n"), 0o644))
	db := "sqlite:" + filepath.Join(dir, "p.db")

	t.Run("sqlite folder missing", func(t *testing.T) {
		code, out := exe(t, dir, "nightly", "--input", good, "--as-of", "2024-06-30", "--db", "sqlite:"+filepath.Join(dir, "no", "such", "p.db"), "--registry", "")
		assert.Equal(t, jobs.ExitUsage, code, out)
		assert.Contains(t, out, "creates the database file, not its folder")
		assert.NoDirExists(t, filepath.Join(dir, "no"))
	})
	t.Run("sqlite file: URI", func(t *testing.T) {
		code, out := exe(t, dir, "nightly", "--input", good, "--as-of", "2024-06-30", "--db", "sqlite:file:"+filepath.Join(dir, "x", "p.db")+"?mode=ro", "--registry", "")
		assert.Equal(t, jobs.ExitUsage, code, out)
		assert.Contains(t, out, "not a file: URI")
		assert.NoDirExists(t, filepath.Join(dir, "file:"))
		assert.NoDirExists(t, filepath.Join(dir, "x"))
	})
	t.Run("as-of out of range", func(t *testing.T) {
		code, out := exe(t, dir, "nightly", "--input", good, "--as-of", "0001-01-01", "--db", db, "--registry", "")
		assert.Equal(t, jobs.ExitUsage, code, out)
		assert.Contains(t, out, "between 1900-01-01 and 2200-12-31")
	})
	t.Run("config integers", func(t *testing.T) {
		for val, want := range map[string]string{"4294967396": "4294967396: at most 36500", "200.9": "200.9: want a whole number"} {
			cfg := filepath.Join(dir, "c.yaml")
			require.NoError(t, os.WriteFile(cfg, []byte("input:\n  path: "+good+"\ndb: "+db+"\nregistry: \"\"\nlifecycle:\n  churn_days: "+val+"\n"), 0o644))
			code, out := exe(t, dir, "nightly", "--config", cfg, "--as-of", "2024-06-30")
			assert.Equal(t, jobs.ExitUsage, code, out)
			assert.Contains(t, out, cfg+":6: lifecycle.churn_days: "+want)
		}
	})
	t.Run("amounts in Go syntax are quarantined", func(t *testing.T) {
		in := filepath.Join(dir, "amounts.csv")
		require.NoError(t, os.WriteFile(in, []byte("customer_id,event_time,event_type,amount\n"+
			"c1,2024-03-01T10:00:00Z,purchase,10\nc2,2024-03-02T10:00:00Z,purchase,1_000\nc3,2024-03-03T10:00:00Z,purchase,0x1p4\n"+
			"c4,2024-03-04T10:00:00Z,purchase,1e+2\n"), 0o644))
		q := filepath.Join(dir, "amounts-rejects.csv")
		code, out := exe(t, dir, "nightly", "--input", in, "--as-of", "2024-06-30", "--db", "sqlite:"+filepath.Join(dir, "a.db"),
			"--registry", "", "--max-reject", "0.6", "--quarantine", q)
		require.Equal(t, 0, code, out)
		b, err := os.ReadFile(q)
		require.NoError(t, err, out)
		assert.Contains(t, string(b), `invalid amount ""1_000"": not a plain decimal number`)
		assert.Contains(t, string(b), `invalid amount ""0x1p4"": not a plain decimal number`)
		assert.Equal(t, 3, strings.Count(string(b), "\n"), "header and two rows: 1e+2 is a plain decimal")
	})
	t.Run("zone abbreviation in --time-layout", func(t *testing.T) {
		in := filepath.Join(dir, "zones.csv")
		require.NoError(t, os.WriteFile(in, []byte("customer_id,event_time,event_type,amount\n"+
			"c1,2024-03-01 10:00 UTC,purchase,10\nc2,2024-03-02 10:00 EDT,purchase,20\nc3,2024-03-03 10:00 GMT,purchase,30\n"), 0o644))
		q := filepath.Join(dir, "zones-rejects.csv")
		code, out := exe(t, dir, "nightly", "--input", in, "--as-of", "2024-06-30", "--db", "sqlite:"+filepath.Join(dir, "z.db"),
			"--registry", "", "--time-layout", "2006-01-02 15:04 MST", "--max-reject", "0.5", "--quarantine", q)
		require.Equal(t, 0, code, out)
		b, err := os.ReadFile(q)
		require.NoError(t, err, out)
		assert.Contains(t, string(b), `zone abbreviation ""EDT"" cannot be resolved`)
		assert.Equal(t, 2, strings.Count(string(b), "\n"), "header and the EDT row")
		code, out = exe(t, dir, "nightly", "--input", in, "--as-of", "2024-06-30", "--db", "sqlite:"+filepath.Join(dir, "z.db"),
			"--registry", "", "--time-layout", "2006-01-02 15:04 MST")
		assert.Equal(t, jobs.ExitRejected, code, out, "the default 1 % reject limit: the EDT row fails the night")
	})
	t.Run("gate warnings logged and in the summary", func(t *testing.T) {
		hist := filepath.Join(dir, "h.parquet")
		code, out := exe(t, dir, "synth", "--customers", "300", "--start", "2024-01-01", "--end", "2024-12-31", "--seed", "3", "--out", hist)
		require.Equal(t, 0, code, out)
		gdb := "sqlite:" + filepath.Join(dir, "g.db")
		code, out = exe(t, dir, "nightly", "--input", hist, "--as-of", "2024-12-30", "--db", gdb, "--registry", "")
		require.Equal(t, 0, code, out)
		// Two days later nothing happened on the as-of day: asof_day_rows warns.
		code, out = exe(t, dir, "nightly", "--input", hist, "--as-of", "2025-01-01", "--db", gdb, "--registry", "")
		require.Equal(t, 0, code, out)
		assert.Contains(t, out, "gates: warn")
		assert.Contains(t, out, "warn asof_day_rows: ")
		assert.Contains(t, out, `msg="quality gate warning"`)
	})
}

// TestOpsDryRunAndBackfill is item 4. On main a dry run migrated the
// database and recorded "succeeded" (so the newest succeeded run was not the
// night in the table), and a night older than the current one replaced it.
func TestOpsDryRunAndBackfill(t *testing.T) {
	dir := t.TempDir()
	hist := filepath.Join(dir, "h.parquet")
	code, out := exe(t, dir, "synth", "--customers", "300", "--start", "2024-01-01", "--end", "2024-12-31", "--seed", "4", "--out", hist)
	require.Equal(t, 0, code, out)
	dbPath := filepath.Join(dir, "p.db")
	night := func(asOf string, extra ...string) (int, string) {
		return exe(t, dir, append([]string{"nightly", "--input", hist, "--as-of", asOf, "--db", "sqlite:" + dbPath, "--registry", ""}, extra...)...)
	}
	query := func(q string) string {
		db, err := sql.Open("sqlite", dbPath)
		require.NoError(t, err)
		defer db.Close()
		var s string
		require.NoError(t, db.QueryRow(q).Scan(&s), q)
		return s
	}

	code, out = night("2024-12-30", "--dry-run")
	require.Equal(t, 0, code, out)
	assert.Contains(t, out, "status dry_run")
	assert.NoFileExists(t, dbPath, "a dry run creates no database")

	code, out = night("2024-12-30")
	require.Equal(t, 0, code, out)
	migrations := query(`SELECT group_concat(version) FROM schema_migrations`)
	code, out = night("2024-12-31", "--dry-run")
	require.Equal(t, 0, code, out)
	assert.Equal(t, "1 succeeded", query(`SELECT count(*) || ' ' || group_concat(status) FROM pipeline_runs`), "a dry run records nothing")
	// A database an older churnpipe migrated stays as it is.
	db, err := sql.Open("sqlite", dbPath)
	require.NoError(t, err)
	_, err = db.Exec(`DELETE FROM schema_migrations WHERE version = (SELECT max(version) FROM schema_migrations)`)
	require.NoError(t, err)
	require.NoError(t, db.Close())
	older := query(`SELECT group_concat(version) FROM schema_migrations`)
	require.NotEqual(t, migrations, older)
	code, out = night("2024-12-31", "--dry-run")
	require.Equal(t, 0, code, out)
	assert.Contains(t, out, "not migrated")
	assert.Equal(t, older, query(`SELECT group_concat(version) FROM schema_migrations`), "a dry run does not migrate")
	assert.Equal(t, "1", query(`SELECT count(*) FROM pipeline_runs`))

	// Backfill: 2024-12-20 after 2024-12-30 goes to history only (forced past
	// the drift gates, which compare with the later current night).
	code, out = night("2024-12-20", "--force-publish")
	require.Equal(t, 0, code, out)
	assert.Contains(t, out, "status backfilled")
	assert.Equal(t, "2024-12-30", query(`SELECT DISTINCT as_of FROM customer_predictions`), "the current night stays")
	assert.Equal(t, "2024-12-20,2024-12-30", query(`SELECT group_concat(as_of) FROM (SELECT DISTINCT as_of FROM customer_predictions_history ORDER BY as_of)`))
	assert.NotEqual(t, "0", query(`SELECT count(*) FROM stage_transitions WHERE as_of = '2024-12-20'`))
	assert.Equal(t, "2024-12-30", query(`SELECT as_of FROM pipeline_runs WHERE status = 'succeeded' ORDER BY started_at DESC LIMIT 1`),
		"the newest succeeded run is the night in the table")
	assert.Equal(t, "backfilled", query(`SELECT status FROM pipeline_runs WHERE as_of = '2024-12-20'`))

	code, out = night("2024-12-20", "--force-publish", "--replace-current")
	require.Equal(t, 0, code, out)
	assert.Contains(t, out, "status succeeded")
	assert.Equal(t, "2024-12-20", query(`SELECT DISTINCT as_of FROM customer_predictions`), "--replace-current replaces the current night")
}
