package store

import (
	"os"
	"time"
)

// Process-level crash-safety tests (the nightly binary killed with SIGKILL
// at many points) set CHURNPIPE_TEST_PAUSE_AT=staged or =swapping: Publish
// then prints "PAUSED <point>" to stderr and sleeps at that point until the
// test kills the process. Unset, nothing changes.
func init() {
	point := os.Getenv("CHURNPIPE_TEST_PAUSE_AT")
	if point != "staged" && point != "swapping" {
		return
	}
	testHook = func(stage string) {
		if stage == point {
			os.Stderr.WriteString("PAUSED " + stage + "\n")
			time.Sleep(time.Hour)
		}
	}
}
