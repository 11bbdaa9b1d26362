// Package pipeline composes one churnpipe run from the parts below it:
// read the interaction history (data), build point-in-time features
// (features), assign lifecycle stages and RFM segments, fit and apply the
// models (models), and publish the prediction table atomically (data/store).
//
// A run is recorded in the pipeline_runs ledger from start to end: a failed
// run is recorded as failed and never touches the published table.
package pipeline
