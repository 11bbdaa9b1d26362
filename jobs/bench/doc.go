// Package bench runs the nightly job on a synthetic benchmark tier and
// measures it.
//
// Run writes the tier's interaction history (data/synth.Tier: S = 10,000
// customers and ~1 M events, M = 1 M customers and ~50 M events, L = 10 M
// customers and ~500 M events, over 2024-01-01 … 2025-12-31, seed 1) to a
// zstd Parquet file in Config.Dir, reusing it when it already exists, then
// runs pipeline.Nightly as of the tier's last day (2025-12-31) with the
// default CLV models (BG/NBD + Gamma-Gamma) and no churn model, publishing
// into a fresh SQLite file in Config.Dir (or Config.DB).
//
// Figures are wall-clock seconds (time.Since) and bytes:
//
//	seconds.read_features  read the Parquet file and build the feature table
//	seconds.fit            fit BG/NBD and Gamma-Gamma
//	seconds.score          rules, RFM, CLV scoring, prediction record
//	seconds.publish        write the prediction table (staging + swap)
//	seconds.read           optional (Config.ReadPass): a separate pure read
//	                       pass over the same file, no features; then
//	                       seconds.features = read_features − read
//	seconds.features_in_memory  optional (Config.FeaturePass): features.Builder
//	                       alone on the history held in memory
//	total_seconds          the whole pipeline.Nightly call
//	events_per_second      events read / total_seconds
//	peak_rss_bytes         VmHWM of /proc/self/status at the end
//
// The high-water mark is reset (write "5" to /proc/self/clear_refs, Linux
// ≥ 4.0) after the history is generated and after the optional read pass, so
// peak_rss_bytes is the peak of the nightly run alone; peak_rss_reset says
// whether the reset worked (if not, the peak covers the whole process).
package bench
