// Package pipeline composes one churnpipe run from the parts below it:
// read the interaction history (data), build point-in-time features
// (features), assign lifecycle stages and RFM segments, fit and apply the
// models (models), and publish the prediction table atomically (data/store).
//
// A run is recorded in the pipeline_runs ledger from start to end: a failed
// run is recorded as failed and never touches the published table.
//
// What changed (Changes): each night is compared with the previous published
// night (store.PreviousNight) — previous stage and risk, stage_since carried
// through history, percent ranks 100·(strictly lower)/(n−1) over buyers — and
// the customers who entered a warning state become customer_alerts rows.
//
// What happened (EvaluateOutcomes): after publishing, the nights at least one
// horizon old without prediction_outcomes are measured against the events
// since: a buyer churned when its purchase days did not grow over (D, D+h];
// AUC (Mann-Whitney, ties ½), Brier, ECE (10 right-closed bins), lift@10 %
// (ties by customer_id), sums of predicted and realized purchases and spend,
// predicted-stage accuracy, per model version and CLV decile. AdviseRetrain
// compares the champion's newest figures with its registry test figures.
package pipeline
