package jobs

import (
	"context"
	"errors"

	"github.com/churnpipe/churnpipe/data"
	"github.com/churnpipe/churnpipe/data/store"
	"github.com/churnpipe/churnpipe/models/churn"
	"github.com/churnpipe/churnpipe/models/registry"
	"github.com/churnpipe/churnpipe/pipeline"
)

// Process exit codes, documented in the README ("Operating churnpipe").
const (
	ExitOK          = 0 // published (or, for other commands, succeeded)
	ExitInternal    = 1 // a bug or an unexpected failure
	ExitUsage       = 2 // bad flags or configuration
	ExitRejected    = 3 // input rejected: more bad rows than --max-reject, unreadable input, or too little history to train
	ExitGateBlocked = 4 // a quality gate blocked publishing
	ExitSink        = 5 // the prediction store is unavailable
	ExitLocked      = 6 // another run holds the lock on the target table
	ExitModel       = 7 // the churn model registry is missing, has no champion, or is corrupt
	ExitOutput      = 8 // a local output (quarantine file, report, features file) cannot be written: disk full, permissions
	// ExitRetrainRecommended: retrain --check found the champion's realized
	// AUC or calibration behind its test figures (prediction_outcomes).
	ExitRetrainRecommended = 10
	ExitInterrupted        = 130 // SIGINT, SIGTERM or SIGHUP: the run stopped, the table is unchanged
)

// UsageError marks an error in flags or configuration.
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// ExitCode maps an error of a job to its process exit code.
func ExitCode(err error) int {
	var ue *UsageError
	var pe *data.ParseError
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &ue), errors.Is(err, store.ErrUnsupportedDSN), errors.Is(err, store.ErrInvalidTarget):
		return ExitUsage
	case errors.Is(err, store.ErrLocked):
		return ExitLocked
	case errors.Is(err, ErrRetrainRecommended):
		return ExitRetrainRecommended
	case errors.Is(err, context.Canceled):
		return ExitInterrupted
	case errors.Is(err, ErrNotPromoted), errors.Is(err, pipeline.ErrGateBlocked):
		return ExitGateBlocked
	case errors.Is(err, pipeline.ErrNoBuyerModel):
		return ExitUsage // report / score --features on a cancel-only version
	case errors.Is(err, pipeline.ErrRegistry), errors.Is(err, registry.ErrChecksum), errors.Is(err, registry.ErrInvalid),
		errors.Is(err, registry.ErrSchemaMismatch):
		return ExitModel
	case errors.Is(err, registry.ErrNotFound):
		return ExitUsage // models show vNOTTHERE, report --model vNOTTHERE
	case errors.Is(err, data.ErrOutput):
		return ExitOutput
	case errors.Is(err, pipeline.ErrSink):
		return ExitSink
	case errors.Is(err, data.ErrTooManyRejects), errors.Is(err, data.ErrMissingColumn), errors.Is(err, churn.ErrTooFewData), errors.Is(err, data.ErrCorrupt),
		errors.Is(err, pipeline.ErrNoCustomers), errors.Is(err, pipeline.ErrInput), errors.Is(err, data.ErrPartition), errors.Is(err, pipeline.ErrSpendModel), errors.Is(err, pipeline.ErrShards),
		errors.As(err, &pe):
		return ExitRejected
	}
	return ExitInternal
}

// ErrNotPromoted is returned when a promotion rule refuses a model.
var ErrNotPromoted = errors.New("not promoted")
