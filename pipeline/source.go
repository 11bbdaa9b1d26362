package pipeline

import (
	"context"
	"fmt"
	"strings"

	"github.com/churnpipe/churnpipe/data"
	"github.com/churnpipe/churnpipe/data/sqlsource"
)

// IsDatabase reports whether an input path is a database URL rather than a
// file or folder.
func IsDatabase(path string) bool {
	p := strings.ToLower(path)
	return strings.HasPrefix(p, "postgres://") || strings.HasPrefix(p, "postgresql://")
}

// openSource opens the input: files through data.Open, a PostgreSQL URL
// through data/sqlsource (a table or a query, streamed).
func openSource(ctx context.Context, in Input, ro data.Options) (Source, error) {
	if !IsDatabase(in.Path) {
		if in.Table != "" || in.SQL != "" {
			return nil, fmt.Errorf("--input-table and --input-sql need a database --input (postgres://…), not %q", in.Path)
		}
		return data.Open(in.Path, ro)
	}
	if (in.Table == "") == (in.SQL == "") {
		return nil, fmt.Errorf("a database input needs exactly one of --input-table TABLE or --input-sql \"SELECT …\"")
	}
	return sqlsource.Open(ctx, in.Path, sqlsource.Options{
		Table: in.Table, Query: in.SQL, Map: ro.Map, TimeLayout: ro.TimeLayout, BatchSize: ro.BatchSize,
		Alloc: ro.Alloc, Quarantine: ro.Quarantine,
	})
}
