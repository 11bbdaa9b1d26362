// Package jobs holds churnpipe's entry points as a scheduler or a data
// scientist runs them — nightly, demo, features export — with their defaults
// and the mapping from errors to documented process exit codes.
package jobs
