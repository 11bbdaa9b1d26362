package main

import (
	"bufio"
	"database/sql"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	_ "modernc.org/sqlite"
)

// TestNightlyCrashSafety is the crash test at process level: the
// churnpipe binary is killed with SIGKILL at every pause point of the
// nightly run (CHURNPIPE_TEST_PAUSE_AT: reading, features, fitting,
// scoring, before publishing, with staging written, inside the swap
// transaction). Each time the published table must still hold the previous
// night, the next run must succeed, and the ledger must show the killed run
// as failed ("abandoned") and the new one as succeeded.
func TestNightlyCrashSafety(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs it 15 times")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "churnpipe")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, "%s", out)

	hist := filepath.Join(dir, "history.parquet")
	dbPath := filepath.Join(dir, "p.db")
	dsn := "sqlite:" + dbPath
	runBin(t, bin, nil, "synth", "--customers", "400", "--start", "2024-01-01", "--end", "2024-12-31", "--seed", "11", "--out", hist)

	asOf := time.Date(2024, 12, 20, 0, 0, 0, 0, time.UTC)
	nightly := func(day time.Time) []string {
		return []string{"nightly", "--input", hist, "--as-of", day.Format(time.DateOnly), "--db", dsn}
	}
	runBin(t, bin, nil, nightly(asOf)...)
	db, err := sql.Open("sqlite", dbPath)
	require.NoError(t, err)
	defer db.Close()
	night := current(t, db)
	require.Equal(t, asOf.Format(time.DateOnly), night.asOf)
	require.Positive(t, night.count)

	for _, point := range []string{"read", "features", "fit", "score", "publish", "staged", "swapping"} {
		t.Run(point, func(t *testing.T) {
			next := asOf.AddDate(0, 0, 1)
			before := runIDs(t, db)

			cmd := exec.Command(bin, nightly(next)...)
			cmd.Env = append(os.Environ(), "CHURNPIPE_TEST_PAUSE_AT="+point)
			stderr, err := cmd.StderrPipe()
			require.NoError(t, err)
			require.NoError(t, cmd.Start())
			paused := make(chan struct{})
			var log strings.Builder
			go func() {
				sc := bufio.NewScanner(stderr)
				for sc.Scan() {
					log.WriteString(sc.Text() + "\n")
					if sc.Text() == "PAUSED "+point {
						close(paused)
						break
					}
				}
				for sc.Scan() {
				}
			}()
			select {
			case <-paused:
			case <-time.After(20 * time.Second):
				_ = cmd.Process.Kill()
				_ = cmd.Wait()
				t.Fatalf("no \"PAUSED %s\" on stderr within 20 s:\n%s", point, log.String())
			}
			require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
			err = cmd.Wait()
			var ee *exec.ExitError
			require.True(t, errors.As(err, &ee), "killed: %v", err)
			assert.Equal(t, "signal: killed", ee.Error())

			// The CRM still reads the previous night, whole.
			assert.Equal(t, night, current(t, db), "published table after SIGKILL at %s", point)
			killed := newRun(t, db, before)
			assert.Equal(t, "running", status(t, db, killed), "a killed run is left running until the next run")

			// The next run (no pause) succeeds and marks the killed run abandoned.
			before = runIDs(t, db)
			runBin(t, bin, nil, nightly(next)...)
			succeeded := newRun(t, db, before)
			assert.Equal(t, "succeeded", status(t, db, succeeded))
			var st, msg string
			require.NoError(t, db.QueryRow(`SELECT status, coalesce(error, '') FROM pipeline_runs WHERE run_id = ?`, killed).Scan(&st, &msg))
			assert.Equal(t, "failed", st)
			assert.Equal(t, "abandoned", msg)
			now := current(t, db)
			assert.Equal(t, next.Format(time.DateOnly), now.asOf)
			assert.Equal(t, succeeded, now.runID)
			assert.Positive(t, now.count)
			night, asOf = now, next
		})
	}
}

// runBin runs the binary and requires exit code 0.
func runBin(t *testing.T, bin string, env []string, args ...string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "churnpipe %s:\n%s", strings.Join(args, " "), out)
}

type night struct {
	count int
	asOf  string
	runID string
}

// current returns the published night; it requires one as_of and one run.
func current(t *testing.T, db *sql.DB) night {
	t.Helper()
	var n night
	var asOfs, runs int
	require.NoError(t, db.QueryRow(`SELECT count(*), coalesce(substr(min(as_of), 1, 10), ''), coalesce(min(run_id), ''),
		count(DISTINCT as_of), count(DISTINCT run_id) FROM customer_predictions`).Scan(&n.count, &n.asOf, &n.runID, &asOfs, &runs))
	require.Equal(t, 1, asOfs, "one night in the current table")
	require.Equal(t, 1, runs, "one run in the current table")
	return n
}

func runIDs(t *testing.T, db *sql.DB) map[string]bool {
	t.Helper()
	rows, err := db.Query(`SELECT run_id FROM pipeline_runs`)
	require.NoError(t, err)
	defer rows.Close()
	ids := map[string]bool{}
	for rows.Next() {
		var id string
		require.NoError(t, rows.Scan(&id))
		ids[id] = true
	}
	require.NoError(t, rows.Err())
	return ids
}

// newRun returns the one run id not in before.
func newRun(t *testing.T, db *sql.DB, before map[string]bool) string {
	t.Helper()
	var added []string
	for id := range runIDs(t, db) {
		if !before[id] {
			added = append(added, id)
		}
	}
	require.Len(t, added, 1, "one new run in the ledger")
	return added[0]
}

func status(t *testing.T, db *sql.DB, id string) string {
	t.Helper()
	var s string
	require.NoError(t, db.QueryRow(`SELECT status FROM pipeline_runs WHERE run_id = ?`, id).Scan(&s))
	return s
}
