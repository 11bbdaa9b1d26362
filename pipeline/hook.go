package pipeline

import (
	"os"
	"time"
)

// Crash-safety tests (issue: kill the nightly process at many points) set
// CHURNPIPE_TEST_PAUSE_AT to a step name; the run then prints
// "PAUSED <step>" to stderr and sleeps there so the test can SIGKILL it.
// Steps: read, features, fit, score, publish (inside the store, between
// staging and swap, see data/store).
func pauseAt(step string) {
	if os.Getenv("CHURNPIPE_TEST_PAUSE_AT") != step {
		return
	}
	os.Stderr.WriteString("PAUSED " + step + "\n")
	time.Sleep(time.Hour)
}
