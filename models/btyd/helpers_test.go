package btyd

import (
	"errors"
	"testing"

	"github.com/churnpipe/churnpipe/models/btyd/internal/cdnow"
)

// loadCDNOW returns the CDNOW calibration summary derived from the raw rows,
// skipping the test when the shared data is absent.
func loadCDNOW(tb testing.TB) (*cdnow.Set, Data) {
	tb.Helper()
	set, err := cdnow.Load()
	if errors.Is(err, cdnow.ErrNoData) {
		tb.Skipf("CDNOW data not available (want ../shared/data/cdnow next to the repo root): %v", err)
	}
	if err != nil {
		tb.Fatalf("loading CDNOW: %v", err)
	}
	x, tx, T := set.Columns()
	return set, Data{X: x, Tx: tx, T: T}
}
