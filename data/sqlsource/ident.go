package sqlsource

import (
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
)

// parseTable splits a table name into its dot-separated parts: each part is
// either bare, taken exactly as written (case and inner spaces kept,
// surrounding spaces trimmed), or double-quoted with "" standing for one
// quote, in which case a dot is part of the name. One part (table) or two
// (schema.table) are accepted.
func parseTable(s string) (pgx.Identifier, error) {
	var parts pgx.Identifier
	i := 0
	for {
		for i < len(s) && s[i] == ' ' {
			i++
		}
		var part string
		if i < len(s) && s[i] == '"' {
			var b strings.Builder
			j := i + 1
			closed := false
			for j < len(s) {
				if s[j] == '"' {
					if j+1 < len(s) && s[j+1] == '"' {
						b.WriteByte('"')
						j += 2
						continue
					}
					closed = true
					j++
					break
				}
				b.WriteByte(s[j])
				j++
			}
			if !closed {
				return nil, fmt.Errorf("table name %q: unterminated quoted identifier", s)
			}
			part = b.String()
			for j < len(s) && s[j] == ' ' {
				j++
			}
			if j < len(s) && s[j] != '.' {
				return nil, fmt.Errorf("table name %q: unexpected %q after a quoted identifier", s, s[j:])
			}
			i = j
		} else {
			j := strings.IndexByte(s[i:], '.')
			if j < 0 {
				j = len(s) - i
			}
			part = strings.TrimSpace(s[i : i+j])
			if strings.ContainsRune(part, '"') {
				return nil, fmt.Errorf("table name %q: a part with a '\"' must be quoted entirely (write \"\" for a quote)", s)
			}
			i += j
		}
		if part == "" {
			return nil, fmt.Errorf("table name %q: empty part", s)
		}
		if strings.IndexByte(part, 0) >= 0 {
			return nil, fmt.Errorf("table name %q contains NUL", s)
		}
		parts = append(parts, part)
		if i >= len(s) {
			break
		}
		i++ // the '.'
	}
	if len(parts) > 2 {
		return nil, fmt.Errorf("table name %q: want table or schema.table", s)
	}
	return parts, nil
}

// quoteIdent quotes one identifier.
func quoteIdent(name string) string { return pgx.Identifier{name}.Sanitize() }
