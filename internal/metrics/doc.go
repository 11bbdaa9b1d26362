// Package metrics writes the metrics of a churnpipe run in the Prometheus
// text exposition format (version 0.0.4): to a file for the node_exporter
// textfile collector, written to a temporary file in the same folder and
// renamed so that the collector never reads half a file, and optionally
// pushed to a Pushgateway with an HTTP PUT to URL/metrics/job/<job>, which
// replaces every metric of that job.
//
// Every metric is a gauge named churnpipe_run_*, labelled with the command
// (nightly, retrain…) so that several commands can share a textfile folder:
//
//	churnpipe_run_info{command,run_id,as_of,status}        1
//	churnpipe_run_last_timestamp_seconds{command}          end of the run, Unix seconds
//	churnpipe_run_start_timestamp_seconds{command}         start of the run
//	churnpipe_run_last_success_timestamp_seconds{command}  end of the last successful run (if known)
//	churnpipe_run_as_of_timestamp_seconds{command}         the scored day, Unix seconds
//	churnpipe_run_duration_seconds{command}                whole run
//	churnpipe_run_step_duration_seconds{command,step}      per step (read, features, fit, score, publish…)
//	churnpipe_run_rows_read / _rows_rejected / _rows_excluded / _rows_duplicate{command}
//	churnpipe_run_customers{command}
//	churnpipe_run_published_rows{command}
//	churnpipe_run_success{command}                         1 published, 0 otherwise
//	churnpipe_run_exit_code{command}
//	churnpipe_run_status{command,status}                   1 for the run's status, 0 for the others
//	churnpipe_run_gate_value{command,gate}                 the gate's measured value (e.g. PSI)
//	churnpipe_run_gate_status{command,gate}                0 pass, 1 warn, 2 block
//
// When the run evaluated published predictions (prediction_outcomes), per
// model version the newest evaluated night's realized figures:
//
//	churnpipe_outcome_churn_auc / _churn_brier / _churn_ece / _churn_lift10{command,model_version}
//	churnpipe_outcome_realized_churn_rate{command,model_version}
//	churnpipe_outcome_as_of_timestamp_seconds{command,model_version}
//	churnpipe_retrain_recommended{command}                 1 when the champion fell behind its test figures
//
// Alert on time() − churnpipe_run_last_success_timestamp_seconds > 26 h, on
// churnpipe_run_success == 0, on churnpipe_run_gate_status == 2 and on
// churnpipe_retrain_recommended == 1.
package metrics
