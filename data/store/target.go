package store

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// ErrInvalidTarget: Options.Table or Options.Schema, or the DSN's
// search_path, do not name one table the sink can hold under exactly that
// name (a dotted table on SQLite, a schema given twice with two values, a
// name PostgreSQL or MySQL would truncate).
var ErrInvalidTarget = errors.New("store: invalid target table or schema")

// Identifier limits: PostgreSQL truncates identifiers longer than
// NAMEDATALEN−1 = 63 bytes (silently, with a NOTICE), MySQL/MariaDB refuses
// names over 64 characters.
const (
	pgMaxIdentBytes = 63
	myMaxIdentChars = 64
)

// derivedSuffixes are what the store appends to the target table's name for
// the tables and indexes it creates: the history and staging tables and the
// indexes of migrations v1, v3 and v4. The longest decides the longest
// table name (MaxTableBytes).
var derivedSuffixes = []string{
	"",
	"_history",
	"_staging",
	longestDerived,
	"_lifecycle_stage_idx",
	"_value_tier_idx",
	"_segment_idx",
}

// longestDerived is the longest of derivedSuffixes (TestDerivedSuffixes).
const longestDerived = "_history_customer_id_idx"

// longestSuffix is the length of the longest of derivedSuffixes.
var longestSuffix = func() int {
	n := 0
	for _, s := range derivedSuffixes {
		n = max(n, len(s))
	}
	return n
}()

// MaxTableBytes is the longest target table name PostgreSQL stores
// untruncated together with every table and index derived from it
// (TABLE_history_customer_id_idx: 63 bytes): 39 bytes. On MySQL/MariaDB
// the limit is 40 characters (64 for TABLE_history_customer_id_idx).
var MaxTableBytes = pgMaxIdentBytes - longestSuffix

// splitTable splits a dotted "schema.table" into its parts; schema is ""
// for an undotted name.
func splitTable(name string) (schema, table string, err error) {
	i := strings.IndexByte(name, '.')
	if i < 0 {
		return "", name, nil
	}
	schema, table = name[:i], name[i+1:]
	if schema == "" || table == "" || strings.IndexByte(table, '.') >= 0 {
		return "", "", fmt.Errorf("%w: table %q: want TABLE or SCHEMA.TABLE", ErrInvalidTarget, name)
	}
	return schema, table, nil
}

// resolveTarget decides the schema (PostgreSQL) or database (MySQL) and
// table of a sink from Options.Schema, a dotted Options.Table and, for
// PostgreSQL, the DSN's search_path (pathSchema, "" when unset). Two sources
// that name different schemas are refused, not ranked. def is the schema
// when none names one ("public"; MySQL: the DSN's database).
func resolveTarget(kind string, opt Options, pathSchema, pathSource, def string) (schema, table string, err error) {
	dotted, table, err := splitTable(opt.Table)
	if err != nil {
		return "", "", err
	}
	schema = opt.Schema
	if dotted != "" {
		if schema != "" && schema != dotted {
			return "", "", fmt.Errorf("%w: table %q names schema %q, but the schema is set to %q: give one of them", ErrInvalidTarget, opt.Table, dotted, schema)
		}
		schema = dotted
	}
	if pathSchema != "" {
		if schema != "" && schema != pathSchema {
			return "", "", fmt.Errorf("%w: the DSN's %s puts unqualified tables in schema %q, but the target schema is %q (--schema, schema: or a dotted --table): "+
				"remove search_path from the DSN or make them agree", ErrInvalidTarget, pathSource, pathSchema, schema)
		}
		schema = pathSchema
	}
	if schema == "" {
		schema = def
	}
	if err := checkIdentLengths(kind, schema, table); err != nil {
		return "", "", err
	}
	return schema, table, nil
}

// checkIdentLengths refuses names the database would truncate or reject:
// the schema, and the table with every suffix the store appends.
func checkIdentLengths(kind, schema, table string) error {
	if table == "" {
		return fmt.Errorf("%w: empty table name", ErrInvalidTarget)
	}
	switch kind {
	case "postgres":
		if len(schema) > pgMaxIdentBytes {
			return fmt.Errorf("%w: schema %q is %d bytes; PostgreSQL keeps %d", ErrInvalidTarget, schema, len(schema), pgMaxIdentBytes)
		}
		if len(table)+longestSuffix > pgMaxIdentBytes {
			return fmt.Errorf("%w: table %q is %d bytes; PostgreSQL truncates names over %d bytes and the store creates %s%s, so the table name may have at most %d bytes",
				ErrInvalidTarget, table, len(table), pgMaxIdentBytes, table, longestDerived, MaxTableBytes)
		}
	case "mysql":
		if n := utf8.RuneCountInString(schema); n > myMaxIdentChars {
			return fmt.Errorf("%w: database %q is %d characters; MySQL allows %d", ErrInvalidTarget, schema, n, myMaxIdentChars)
		}
		if n := utf8.RuneCountInString(table); n+longestSuffix > myMaxIdentChars {
			return fmt.Errorf("%w: table %q is %d characters; MySQL allows %d and the store creates %s%s, so the table name may have at most %d characters",
				ErrInvalidTarget, table, n, myMaxIdentChars, table, longestDerived, myMaxIdentChars-longestSuffix)
		}
	}
	return nil
}

// pgSearchPath returns the first schema of a search_path setting found in
// the DSN's run-time parameters (search_path=…, or options=-c search_path=…),
// and where it was found; "" when none is set. A search_path whose first
// entry is "$user" or empty is refused: the store cannot tell which schema
// PostgreSQL would create the tables in.
func pgSearchPath(params map[string]string) (schema, source string, err error) {
	val, ok := params["search_path"]
	source = "search_path"
	if !ok {
		val, ok = optionsSearchPath(params["options"])
		source = "options=-c search_path"
	}
	if !ok {
		return "", "", nil
	}
	first := strings.TrimSpace(strings.SplitN(val, ",", 2)[0])
	if len(first) >= 2 && first[0] == '"' && first[len(first)-1] == '"' {
		first = strings.ReplaceAll(first[1:len(first)-1], `""`, `"`)
	} else {
		first = strings.ToLower(first) // PostgreSQL folds unquoted names
	}
	if first == "" || first == "$user" {
		return "", "", fmt.Errorf("%w: the DSN's %s=%q does not name one schema: give the schema with --schema (or schema: in the configuration) and drop search_path",
			ErrInvalidTarget, source, val)
	}
	return first, source + "=" + val, nil
}

// optionsSearchPath finds "-c search_path=X", "-csearch_path=X" or
// "--search_path=X" in a libpq options string (backslash escapes a space).
func optionsSearchPath(opts string) (string, bool) {
	var words []string
	var cur strings.Builder
	for i := 0; i < len(opts); i++ {
		switch c := opts[i]; {
		case c == '\\' && i+1 < len(opts):
			i++
			cur.WriteByte(opts[i])
		case c == ' ' || c == '\t':
			if cur.Len() > 0 {
				words = append(words, cur.String())
				cur.Reset()
			}
		default:
			cur.WriteByte(c)
		}
	}
	if cur.Len() > 0 {
		words = append(words, cur.String())
	}
	val, found := "", false
	for i, w := range words {
		var kv string
		switch {
		case w == "-c" && i+1 < len(words):
			kv = words[i+1]
		case strings.HasPrefix(w, "-c"):
			kv = w[2:]
		case strings.HasPrefix(w, "--"):
			kv = w[2:]
		}
		if k, v, ok := strings.Cut(kv, "="); ok && strings.ReplaceAll(k, "-", "_") == "search_path" {
			val, found = v, true // the last setting wins, as in PostgreSQL
		}
	}
	return val, found
}
