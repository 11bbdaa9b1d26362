// Package registry keeps versioned model artifacts in a directory, with
// checksums, a manifest, aliases and a promotion rule.
//
// Layout of a registry directory:
//
//	manifest.json          every version: file, SHA-256, kind, schema hash,
//	                       training window, metrics, created_at
//	aliases.json           alias → version ("champion", "challenger"), and
//	                       the history of every alias change
//	versions/v000001.json  one Artifact per version, immutable
//	cancel_tests/v000001.json.gz  the test rows of the version's cancel
//	                       model (SaveCancelTests), re-scored by promotion
//
// Every file is written to a temporary file in the same directory, synced
// and renamed over the target, so readers never see a partial file. Load
// recomputes the SHA-256 of the artifact file and fails with ErrChecksum
// if it differs from the manifest. A Registry serialises its own writes;
// concurrent writers in different processes are not supported.
//
// Promote is the promotion rule as a pure function: a candidate replaces
// the champion only if both were evaluated on the same test snapshot, the
// candidate's AUC is at most Rule.MaxAUCDrop below the champion's and its
// ECE is at most Rule.MaxECE, unless forced; forced promotions are
// recorded as such in the alias history. PromoteVersion applies it to
// whole versions: the buyer models by Promote, and, whenever both hold a
// subscribers' cancel model, the cancel models by the same bounds with
// both scored on the candidate's cancel test rows (CompareCancel);
// Registry.Promote loads those rows. Aliases follow MLflow's model
// registry, which replaced stages with aliases.
//
// SchemaHash fingerprints the ordered feature names and types; LoadFor
// refuses an artifact trained on a different schema with an error wrapping
// ErrSchemaMismatch.
package registry
