// Package retry runs an operation again after transient failures, with
// exponential backoff, seeded jitter, and bounds on both the number of
// attempts and the total time.
//
// The wait before attempt k+1 (k = 1, 2, …) is
//
//	d_k = min(Max, Initial · Multiplier^(k−1))
//	wait_k = d_k · (1 − Jitter·u_k),   u_k ~ U[0, 1) from a PCG seeded with Seed
//
// so waits are deterministic for a given seed, never longer than d_k and
// never shorter than (1−Jitter)·d_k. A wait that would end after
// MaxElapsed (measured from the first attempt) is not started: Do gives up
// at once. Only errors for which Retryable returns true are retried; any
// other error, and the error of the last attempt, is returned. Context
// cancellation stops the waiting immediately.
package retry
