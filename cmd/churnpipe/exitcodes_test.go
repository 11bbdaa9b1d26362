package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/churnpipe/churnpipe/internal/testenv"
	"github.com/churnpipe/churnpipe/jobs"
)

// copyDir copies the regular files of src into dst (a registry).
func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	require.NoError(t, filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	}))
}

// TestOpsExitCodes is issue 14 item 11: every failure class the README
// documents exits with its code, through the built binary. On main a
// corrupt registry made report exit 2 (corrupt evaluation: 1) and models
// promote exit 0 (a champion nobody can load), and train on too little
// history exited 1.
func TestOpsExitCodes(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(testenv.Root(t), "testdata", "badinput", "good.csv")
	nul := filepath.Join(testenv.Root(t), "testdata", "badinput", "nul.csv") // one rejected row
	night := func(args ...string) (int, string) {
		return exe(t, dir, append([]string{"nightly", "--as-of", "2024-06-30", "--registry", ""}, args...)...)
	}
	check := func(what string, want int, code int, out string, has ...string) {
		t.Helper()
		assert.Equal(t, want, code, "%s: %s", what, out)
		for _, h := range has {
			assert.Contains(t, out, h, what)
		}
	}

	t.Run("usage", func(t *testing.T) {
		code, out := night("--input", nul, "--db", "sqlite:"+filepath.Join(dir, "q.db"), "--quarantine", filepath.Join(dir, "no", "such", "q.csv"))
		check("--quarantine in a missing folder", jobs.ExitUsage, code, out, "--quarantine")
		for _, dsn := range []string{
			"postgres://u:pw@127.0.0.1:notaport/db", "postgres://u:pw@127.0.0.1:5432/db?sslmode=bogus", "postgres://%zz@x/db",
			"mysql://u:pw@127.0.0.1:notaport/db", "mysql://u:pw@[::1/db", "host=127.0.0.1 password=pw", "pgsql://u:pw@h/db",
		} {
			code, out := night("--input", good, "--db", dsn)
			check("DSN "+dsn, jobs.ExitUsage, code, out)
		}
	})

	t.Run("sink", func(t *testing.T) {
		lockDir := filepath.Join(dir, "l.db.lock")
		require.NoError(t, os.Mkdir(lockDir, 0o755))
		code, out := night("--input", good, "--db", "sqlite:"+filepath.Join(dir, "l.db"))
		check("lock file that is a folder", jobs.ExitSink, code, out, "lock")

		ro := filepath.Join(dir, "ro")
		require.NoError(t, os.Mkdir(ro, 0o777))
		code, out = night("--input", good, "--db", "sqlite:"+filepath.Join(ro, "p.db"))
		require.Equal(t, 0, code, out)
		require.NoError(t, os.Chmod(ro, 0o555))
		defer os.Chmod(ro, 0o755)
		args := []string{"nightly", "--as-of", "2024-07-01", "--registry", "", "--input", good, "--db", "sqlite:" + filepath.Join(ro, "p.db"),
			"--quarantine", filepath.Join(dir, "ro-q.csv")}
		if os.Geteuid() == 0 { // root writes into a read-only folder: run as nobody
			setpriv, err := exec.LookPath("setpriv")
			if err != nil {
				t.Skip("running as root without setpriv: a read-only folder cannot be tried")
			}
			// nobody owns the files, as the operator's user would; the folder is root's, 0555.
			for _, d := range []string{filepath.Dir(dir), filepath.Dir(opsBinary(t))} {
				require.NoError(t, os.Chmod(d, 0o755))
			}
			require.NoError(t, os.Chmod(dir, 0o777))
			entries, err := os.ReadDir(ro)
			require.NoError(t, err)
			for _, e := range entries {
				require.NoError(t, os.Chown(filepath.Join(ro, e.Name()), 65534, 65534))
			}
			cmd := exec.Command(setpriv, append([]string{"--reuid=65534", "--regid=65534", "--clear-groups", opsBinary(t)}, args...)...)
			cmd.Dir = dir
			b, err := cmd.CombinedOutput()
			code = 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			} else {
				require.NoError(t, err, "%s", b)
			}
			out = string(b)
		} else {
			code, out = exe(t, dir, args...)
		}
		check("read-only database folder", jobs.ExitSink, code, out, "sqlite")
		assert.NotContains(t, out, "lock:", "the folder, not the lock file, is the failure")

		code, out = night("--input", nul, "--db", "sqlite:"+filepath.Join(dir, "full.db"), "--quarantine", "/dev/full")
		if _, err := os.Stat("/dev/full"); err == nil {
			check("quarantine on a full disk", jobs.ExitOutput, code, out, "quarantine")
		}
	})

	t.Run("registry", func(t *testing.T) {
		hist := filepath.Join(dir, "h.parquet")
		code, out := exe(t, dir, "synth", "--customers", "2000", "--start", "2023-01-01", "--end", "2024-12-31", "--out", hist)
		require.Equal(t, 0, code, out)
		reg := filepath.Join(dir, "reg")
		code, out = exe(t, dir, "train", "--input", hist, "--registry", reg, "--force")
		require.Equal(t, 0, code, out)

		short := filepath.Join(dir, "short.parquet")
		code, out = exe(t, dir, "synth", "--customers", "200", "--start", "2024-01-01", "--end", "2024-12-31", "--out", short)
		require.Equal(t, 0, code, out)
		code, out = exe(t, dir, "train", "--input", short, "--registry", filepath.Join(dir, "reg-short"))
		check("train on too little history", jobs.ExitRejected, code, out, "not enough data")

		code, out = exe(t, dir, "report", "--model", "v999999", "--out", filepath.Join(dir, "rep"), "--registry", reg)
		check("report of a missing version", jobs.ExitUsage, code, out, "v999999")

		for _, f := range []string{"manifest.json", "aliases.json", "versions/v000001.json", "evaluations/v000001.json"} {
			rc := filepath.Join(dir, "rc-"+strings.NewReplacer("/", "-", ".", "-").Replace(f))
			copyDir(t, reg, rc)
			require.NoError(t, os.WriteFile(filepath.Join(rc, filepath.FromSlash(f)), []byte("garbage{"), 0o644))
			cmds := [][]string{
				{"report", "--model", "champion", "--out", filepath.Join(rc, "..", filepath.Base(rc)+"-rep"), "--registry", rc},
			}
			if f != "evaluations/v000001.json" { // the evaluation is read by report only
				cmds = append(cmds,
					[]string{"nightly", "--input", hist, "--as-of", "2024-12-31", "--registry", rc, "--db", "sqlite:" + rc + ".db"},
					[]string{"models", "show", "champion", "--registry", rc},
					[]string{"models", "promote", "v000001", "--force", "--registry", rc},
					[]string{"retrain", "--check", "--input", hist, "--registry", rc, "--db", "sqlite:" + rc + "-check.db"})
			}
			for _, c := range cmds {
				code, out := exe(t, dir, c...)
				check("corrupt "+f+": "+strings.Join(c[:2], " "), jobs.ExitModel, code, out)
			}
		}
	})
}
