package store

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Environment of the crash child (TestCrashChild re-executed by TestCrashSafety).
const (
	crashEnv       = "CHURNPIPE_STORE_CRASH_CHILD" // the pause point: "staged" or "swapping"
	crashDSNEnv    = "CHURNPIPE_STORE_CRASH_DSN"
	crashSchemaEnv = "CHURNPIPE_STORE_CRASH_SCHEMA"
	crashMarker    = "CHURNPIPE_STORE_PAUSED"
	crashRunID     = "killed-run"
	crashRows      = 30_000
)

// TestCrashChild is the child process of TestCrashSafety: it takes the lock,
// starts a run and publishes a large night, pausing forever at the point
// named by $CHURNPIPE_STORE_CRASH_CHILD after printing a marker. It does
// nothing in a normal test run.
func TestCrashChild(t *testing.T) {
	point := os.Getenv(crashEnv)
	if point == "" {
		t.Skip("child process of TestCrashSafety")
	}
	testHook = func(stage string) {
		if stage == point {
			fmt.Printf("\n%s %s\n", crashMarker, stage)
			os.Stdout.Sync()
			time.Sleep(time.Hour) // until SIGKILL
		}
	}
	ctx := context.Background()
	s, err := Open(ctx, os.Getenv(crashDSNEnv), Options{Schema: os.Getenv(crashSchemaEnv)})
	require.NoError(t, err)
	_, err = s.TryLock(ctx)
	require.NoError(t, err)
	require.NoError(t, s.StartRun(ctx, &Run{ID: crashRunID, AsOf: date(2024, 9, 2)}))
	publishNight(t, s, date(2024, 9, 2), crashRunID, syntheticNight(crashRows, 1))
	t.Fatal("the publish should have been killed")
}

// TestCrashSafety kills a publishing process with SIGKILL between staging and
// swap and inside the swap transaction: the previous night must be intact
// and the killed run is marked failed ("abandoned") by the next StartRun.
func TestCrashSafety(t *testing.T) {
	for _, point := range []string{"staged", "swapping"} {
		t.Run(point, func(t *testing.T) {
			eachBackend(t, func(t *testing.T, b backend) {
				ctx := context.Background()
				s, dsn, opt := openFresh(t, b, "")
				prev := date(2024, 9, 1)
				publishNight(t, s, prev, "prev", syntheticNight(1234, 0))
				require.NoError(t, s.Close())

				cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
				cmd.Env = append(os.Environ(), crashEnv+"="+point, crashDSNEnv+"="+dsn, crashSchemaEnv+"="+opt.Schema)
				out, err := cmd.StdoutPipe()
				require.NoError(t, err)
				cmd.Stderr = cmd.Stdout
				require.NoError(t, cmd.Start())
				paused := make(chan bool, 1)
				var lines []string
				go func() {
					sc := bufio.NewScanner(out)
					for sc.Scan() {
						lines = append(lines, sc.Text())
						if strings.HasPrefix(sc.Text(), crashMarker) {
							paused <- true
							return
						}
					}
					paused <- false
				}()
				select {
				case ok := <-paused:
					if !ok {
						cmd.Wait()
						t.Fatalf("child exited without pausing:\n%s", strings.Join(lines, "\n"))
					}
				case <-time.After(60 * time.Second):
					cmd.Process.Kill()
					t.Fatal("child did not pause within 60 s")
				}
				require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
				_ = cmd.Wait()

				s2, err := Open(ctx, dsn, opt)
				require.NoError(t, err)
				defer s2.Close()
				r := query(t, s2, "SELECT count(*), count(DISTINCT as_of), min(as_of), min(run_id) FROM "+cur(s2))[0]
				assert.Equal(t, []any{int64(1234), int64(1), "2024-09-01", "prev"}, []any{r[0], r[1], dayStr(r[2]), r[3]},
					"the previous night is intact")
				assert.Equal(t, int64(1234), one(t, s2, "SELECT count(*) FROM "+hist(s2)))
				assert.Equal(t, int64(0), one(t, s2, "SELECT count(*) FROM "+tbl(s2, tMetrics)+" WHERE as_of <> ?", dateArg(s2, prev)))
				killed, ok, err := s2.LastRun(ctx, StatusRunning)
				require.NoError(t, err)
				require.True(t, ok)
				require.Equal(t, crashRunID, killed.ID)

				// The dead child's lock is gone (PostgreSQL notices the closed socket shortly).
				var rel func() error
				require.Eventually(t, func() bool {
					rel, err = s2.TryLock(ctx)
					require.True(t, err == nil || errors.Is(err, ErrLocked), "%v", err)
					return err == nil
				}, 10*time.Second, 50*time.Millisecond)
				defer rel()
				next := &Run{AsOf: date(2024, 9, 2)}
				require.NoError(t, s2.StartRun(ctx, next))
				r = query(t, s2, "SELECT status, error FROM "+tbl(s2, tRuns)+" WHERE run_id = ?", crashRunID)[0]
				assert.Equal(t, []any{StatusFailed, "abandoned"}, r)
				last, _, err := s2.LastRun(ctx, StatusRunning)
				require.NoError(t, err)
				assert.Equal(t, next.ID, last.ID, "only the new run is running")

				// And the next publish works over the debris (staging table left by the child).
				publishNight(t, s2, date(2024, 9, 2), next.ID, syntheticNight(100, 2))
				assert.Equal(t, int64(100), one(t, s2, "SELECT count(*) FROM "+cur(s2)))
			})
		})
	}
}
