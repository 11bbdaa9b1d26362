package pipeline

import (
	"context"
	"fmt"
	"os"
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

// quarantined is an input opened with the quarantine file its bad rows go to.
type quarantined struct {
	Source
	q    *data.Quarantine
	path string
}

// openQuarantined opens in (with the read options ro) and sends its bad
// rows to in.Quarantine, or to def when that is "". An input that cannot be
// opened is an error wrapping ErrInput, and leaves no quarantine file.
func openQuarantined(ctx context.Context, in Input, ro data.Options, def string, opt Options) (*quarantined, error) {
	path := in.Quarantine
	if path == "" {
		path = def
	}
	q := data.CreateQuarantineLazy(path) // no file (nor folder) unless a row is rejected
	ro.Alloc, ro.Quarantine = opt.Alloc, q
	src, err := openSource(ctx, in, ro)
	if err != nil {
		q.Close()
		os.Remove(path)
		return nil, fmt.Errorf("%w: %w", ErrInput, err)
	}
	if pc, ok := src.(interface{ PartialColumns() []string }); ok {
		for _, w := range pc.PartialColumns() {
			opt.Logger.Warn("input: " + w)
		}
	}
	return &quarantined{Source: src, q: q, path: path}, nil
}

// close releases the source and closes the quarantine file, removing it
// when no row went there. It returns the reader's counts, the quarantine
// path when rows went there, and the first of: readErr (wrapped in
// ErrInput), the quarantine's close error, the reject limit maxReject
// exceeded (data.ErrTooManyRejects, naming the quarantine file).
func (s *quarantined) close(readErr error, maxReject float64) (data.Stats, string, error) {
	ds := s.Stats()
	s.Release()
	cerr := s.q.Close()
	used := ""
	if s.q.Count() > 0 {
		used = s.path
	} else {
		os.Remove(s.path)
	}
	switch {
	case readErr != nil:
		return ds, used, fmt.Errorf("%w: %w", ErrInput, readErr)
	case cerr != nil:
		return ds, used, cerr
	}
	if err := data.CheckRejects(ds, maxReject); err != nil {
		return ds, used, fmt.Errorf("%w (see %s); %s", err, s.path, s.q.Summary(ds.RowsRead))
	}
	return ds, used, nil
}
