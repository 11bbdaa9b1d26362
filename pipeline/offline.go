package pipeline

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/churnpipe/churnpipe/data"
	"github.com/churnpipe/churnpipe/features"
	"github.com/churnpipe/churnpipe/models/churn"
	"github.com/churnpipe/churnpipe/models/registry"
)

// ErrFeatureTable marks a feature table file that cannot be scored: wrong
// format, a missing column or a column of another type.
var ErrFeatureTable = errors.New("feature table")

// LoadModel loads registry model ref (a version like v000003, or an alias
// like champion) for scoring, with the checks of LoadChampion. Models
// trained with customer attributes cannot be scored offline.
func LoadModel(dir, ref string) (*Champion, error) {
	reg, err := registry.Open(dir)
	if err != nil {
		return nil, err
	}
	a, err := reg.Load(ref)
	if err != nil {
		return nil, err
	}
	m, err := ModelFromArtifact(a)
	if err != nil {
		return nil, err
	}
	if m.Attributes != nil {
		return nil, fmt.Errorf("%w: model %s was trained with customer attributes %v; score it in a nightly run with --attributes",
			ErrAttributes, a.Version, m.Attributes.Names())
	}
	if err := m.CheckSchema(churn.FeatureNames(ExtraNames)); err != nil {
		return nil, fmt.Errorf("model %s in %s: %w", a.Version, dir, err)
	}
	return &Champion{Model: m, Version: a.Version}, nil
}

// ReadFeatureTable reads a feature table written by `churnpipe features`
// (.parquet or .arrow) into one record with the columns of
// features.Schema(), in its order (caller releases). Extra columns are
// ignored; a missing column or one of another type is an error wrapping
// ErrFeatureTable that names the file and column.
func ReadFeatureTable(ctx context.Context, path string, mem memory.Allocator) (arrow.RecordBatch, error) {
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	var cols map[string]arrow.Array
	var release func()
	var err error
	switch strings.ToLower(filepath.Ext(path)) {
	case ".parquet":
		cols, release, err = readParquetColumns(ctx, path, mem)
	case ".arrow", ".ipc", ".feather":
		cols, release, err = readIPCColumns(path, mem)
	default:
		return nil, fmt.Errorf("%w: %s: want a .parquet or .arrow file (churnpipe features --out)", ErrFeatureTable, path)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrFeatureTable, path, err)
	}
	defer release()
	sch := features.Schema()
	arrs := make([]arrow.Array, sch.NumFields())
	n := -1
	for i, f := range sch.Fields() {
		a, ok := cols[f.Name]
		if !ok {
			return nil, fmt.Errorf("%w: %s: no column %q (export it with churnpipe features)", ErrFeatureTable, path, f.Name)
		}
		if !arrow.TypeEqual(a.DataType(), f.Type) {
			return nil, fmt.Errorf("%w: %s: column %q is %s, want %s", ErrFeatureTable, path, f.Name, a.DataType(), f.Type)
		}
		if !f.Nullable && a.NullN() > 0 {
			return nil, fmt.Errorf("%w: %s: column %q has %d nulls", ErrFeatureTable, path, f.Name, a.NullN())
		}
		if n >= 0 && a.Len() != n {
			return nil, fmt.Errorf("%w: %s: column %q has %d rows, others %d", ErrFeatureTable, path, f.Name, a.Len(), n)
		}
		n = a.Len()
		arrs[i] = a
	}
	return array.NewRecordBatch(sch, arrs, int64(n)), nil
}

// concat joins chunks into one array (caller releases).
func concat(chunks []arrow.Array, mem memory.Allocator) (arrow.Array, error) {
	if len(chunks) == 1 {
		chunks[0].Retain()
		return chunks[0], nil
	}
	return array.Concatenate(chunks, mem)
}

func readParquetColumns(ctx context.Context, path string, mem memory.Allocator) (map[string]arrow.Array, func(), error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	pf, err := file.NewParquetReader(f)
	if err != nil {
		return nil, nil, err
	}
	defer pf.Close()
	if err := data.CheckParquet(path, pf); err != nil {
		return nil, nil, err
	}
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{}, mem)
	if err != nil {
		return nil, nil, err
	}
	tbl, err := fr.ReadTable(ctx)
	if err != nil {
		return nil, nil, err
	}
	defer tbl.Release()
	out := map[string]arrow.Array{}
	rel := func() {
		for _, a := range out {
			a.Release()
		}
	}
	for i := 0; i < int(tbl.NumCols()); i++ {
		c := tbl.Column(i)
		a, err := concat(c.Data().Chunks(), mem)
		if err != nil {
			rel()
			return nil, nil, err
		}
		out[c.Name()] = a
	}
	return out, rel, nil
}

func readIPCColumns(path string, mem memory.Allocator) (map[string]arrow.Array, func(), error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	if err := data.CheckArrowFile(f, path); err != nil {
		return nil, nil, err
	}
	r, err := ipc.NewFileReader(f, ipc.WithAllocator(mem))
	if err != nil {
		return nil, nil, err
	}
	defer r.Close()
	sch := r.Schema()
	chunks := make([][]arrow.Array, sch.NumFields())
	var recs []arrow.RecordBatch
	defer func() {
		for _, rec := range recs {
			rec.Release()
		}
	}()
	for k := 0; k < r.NumRecords(); k++ {
		rec, err := r.RecordBatch(k)
		if err != nil {
			return nil, nil, err
		}
		rec.Retain()
		recs = append(recs, rec)
		for j := range chunks {
			chunks[j] = append(chunks[j], rec.Column(j))
		}
	}
	out := map[string]arrow.Array{}
	rel := func() {
		for _, a := range out {
			a.Release()
		}
	}
	for j, f := range sch.Fields() {
		if len(chunks[j]) == 0 {
			continue
		}
		a, err := concat(chunks[j], mem)
		if err != nil {
			rel()
			return nil, nil, err
		}
		out[f.Name] = a
	}
	return out, rel, nil
}

// FeatureAsOf returns the as-of day of a feature table: first_purchase_date
// + first_to_asof_days, which every buyer must agree on. It fails for a
// table without buyers or whose buyers disagree (a mix of days).
func FeatureAsOf(feat arrow.RecordBatch) (time.Time, error) {
	fc, err := newFeatureCols(feat)
	if err != nil {
		return time.Time{}, err
	}
	var day arrow.Date32
	found := false
	for i := 0; i < fc.id.Len(); i++ {
		if !fc.firstPurchase.IsValid(i) {
			continue
		}
		d := fc.firstPurchase.Value(i) + arrow.Date32(fc.T.Value(i))
		if found && d != day {
			return time.Time{}, fmt.Errorf("%w: customers %q and others imply different as-of days (%s, %s): one feature table holds one day",
				ErrFeatureTable, fc.id.Value(i), d.ToTime().Format(time.DateOnly), day.ToTime().Format(time.DateOnly))
		}
		day, found = d, true
	}
	if !found {
		return time.Time{}, fmt.Errorf("%w: no buyer: the as-of day cannot be derived (give it)", ErrFeatureTable)
	}
	return day.ToTime().UTC(), nil
}

// ScoreTable scores a feature table offline: the rules, the CLV models
// fitted on the table itself (as a nightly run does), and the churn model
// ch (may be nil). The record has the prediction table's columns (caller
// releases).
func ScoreTable(feat arrow.RecordBatch, asOf time.Time, ch *Champion, clv CLVOptions, opt Options) (arrow.RecordBatch, *CLVModels, error) {
	var models Models
	models.Champion = ch
	if !clv.Disabled {
		m, err := FitCLV(feat, clv)
		if err != nil {
			return nil, nil, err
		}
		models.CLV = m
	}
	rec, _, err := Score(feat, asOf, models, opt)
	return rec, models.CLV, err
}
