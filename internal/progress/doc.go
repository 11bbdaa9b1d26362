// Package progress draws a one-line progress report — count, total,
// percentage, rate and estimated time left — on a terminal, and nothing at
// all anywhere else (a log file, a pipe, a scheduler's capture), where the
// run summary and the structured log say what happened.
//
// The line is redrawn in place with a carriage return and "erase to end of
// line" (ESC [K), at most once per Interval (200 ms by default), so that
// counting millions of rows costs a mutex and a clock read per Add. The
// rate is count / elapsed seconds since New; the time left is
// (total − count) / rate.
package progress
