// Package config reads the YAML configuration file of `churnpipe nightly
// --config FILE`.
//
// The file is YAML with the sections input, lifecycle, clv, churn_risk,
// gates, metrics and log, and the top-level keys db, table, schema,
// time_zone and registry; deploy/churnpipe.example.yaml documents every key
// with its default. Rules:
//
//   - Every key is optional: a missing key keeps its default (Default).
//   - An unknown key is an error naming the file, line and key path, so a
//     misspelt threshold never silently falls back to its default.
//   - ${NAME} in a value is replaced by the environment variable NAME (an
//     error if it is unset), ${NAME:-default} by NAME if set and non-empty,
//     else by default; $${ is a literal ${. Substitution happens after YAML
//     parsing, inside one scalar, so a secret containing ':' or '#' cannot
//     change the document's structure. Keys are never substituted.
//   - Validate checks ranges and relations ("gates.psi_block: must be >
//     gates.psi_warn") and reports every problem at once as
//     "config.yaml:12: gates.psi_block: …", each error wrapping ErrInvalid.
//
// The struct uses plain Go types only (strings, numbers, maps) and imports
// no other churnpipe package; package jobs maps it to the pipeline's options.
package config
