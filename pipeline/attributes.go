package pipeline

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"gonum.org/v1/gonum/mat"

	"github.com/churnpipe/churnpipe/data"
	"github.com/churnpipe/churnpipe/models/churn"
)

// ErrAttributes wraps every error about a customer-attribute file.
var ErrAttributes = errors.New("pipeline: customer attributes")

// maxLevels caps the one-hot levels of a categorical attribute: the most
// frequent levels are kept, rarer ones score 0 in every level column.
const maxLevels = 20

// Attributes are the static customer attributes of a file (CSV or Parquet),
// keyed by customer_id (or, without such a column, by the first column),
// and the spec that turns them into design-matrix columns.
type Attributes struct {
	Path   string
	spec   *churn.AttrSpec
	values map[string]map[string]string // customer → column → value ("" = missing)
}

// isNA reports the spellings of a missing value.
func isNA(v string) bool {
	switch strings.TrimSpace(v) {
	case "", "NA", "N/A", "na", "n/a", "NaN", "nan", "null", "NULL", "None":
		return true
	}
	return false
}

// LoadAttributes reads an attribute file and infers its spec: a column is
// numeric when every non-missing value parses as a number, categorical
// otherwise.
func LoadAttributes(path string) (*Attributes, error) {
	header, rows, err := readTable(path)
	if err != nil {
		return nil, err
	}
	key := slices.Index(header, "customer_id")
	if key < 0 {
		key = 0
	}
	a := &Attributes{Path: path, spec: &churn.AttrSpec{Key: header[key]}, values: map[string]map[string]string{}}
	for r, row := range rows {
		id := strings.TrimSpace(row[key])
		if id == "" {
			return nil, fmt.Errorf("%w: %s row %d: empty key column %q", ErrAttributes, path, r+2, header[key])
		}
		if _, dup := a.values[id]; dup {
			return nil, fmt.Errorf("%w: %s row %d: customer %q appears twice", ErrAttributes, path, r+2, id)
		}
		m := make(map[string]string, len(header))
		for j, v := range row {
			if j != key && !isNA(v) {
				m[header[j]] = strings.TrimSpace(v)
			}
		}
		a.values[id] = m
	}
	for j, name := range header {
		if j == key {
			continue
		}
		numeric := true
		counts := map[string]int{}
		for _, m := range a.values {
			v, ok := m[name]
			if !ok {
				continue
			}
			counts[v]++
			if _, err := strconv.ParseFloat(v, 64); err != nil {
				numeric = false
			}
		}
		if len(counts) == 0 {
			continue // all missing: nothing to learn
		}
		c := churn.AttrColumn{Name: name, Kind: churn.AttrNumeric}
		if !numeric {
			c.Kind = churn.AttrCategorical
			for l := range counts {
				c.Levels = append(c.Levels, l)
			}
			sort.Slice(c.Levels, func(x, y int) bool {
				if counts[c.Levels[x]] != counts[c.Levels[y]] {
					return counts[c.Levels[x]] > counts[c.Levels[y]]
				}
				return c.Levels[x] < c.Levels[y]
			})
			if len(c.Levels) > maxLevels {
				c.Levels = c.Levels[:maxLevels]
			}
			slices.Sort(c.Levels)
		}
		a.spec.Columns = append(a.spec.Columns, c)
	}
	return a, nil
}

// LoadAttributesFor reads an attribute file for a model that expects spec:
// the file must have every attribute column of the spec (categories unseen
// in training are scored as none of the training levels).
func LoadAttributesFor(path string, spec *churn.AttrSpec) (*Attributes, error) {
	a, err := LoadAttributes(path)
	if err != nil {
		return nil, err
	}
	header, _, _ := readTable(path)
	for _, c := range spec.Columns {
		if !slices.Contains(header, c.Name) {
			return nil, fmt.Errorf("%w: %s has no column %q, which the model expects (its attributes: %v)",
				ErrAttributes, path, c.Name, spec.Names())
		}
	}
	a.spec = spec
	return a, nil
}

// Spec returns the attribute spec.
func (a *Attributes) Spec() *churn.AttrSpec { return a.spec }

// extend returns X with the attribute columns of the customers ids appended.
func (a *Attributes) extend(X *mat.Dense, ids []string) (*mat.Dense, error) {
	r, c := X.Dims()
	names := a.spec.Names()
	out := mat.NewDense(r, c+len(names), nil)
	parse := func(s string) (float64, error) { return strconv.ParseFloat(s, 64) }
	for i := 0; i < r; i++ {
		row := out.RawRowView(i)
		copy(row, X.RawRowView(i))
		vals, ok := a.values[ids[i]]
		enc, err := a.spec.Encode(vals, ok, parse)
		if err != nil {
			return nil, fmt.Errorf("%w: %s customer %q: %w", ErrAttributes, a.Path, ids[i], err)
		}
		for j, v := range enc {
			if math.IsInf(v, 0) {
				return nil, fmt.Errorf("%w: %s customer %q: infinite value in %s", ErrAttributes, a.Path, ids[i], names[j])
			}
		}
		copy(row[c:], enc)
	}
	return out, nil
}

// join appends the attribute columns to a snapshot's design matrix.
func (a *Attributes) join(s *Snapshot) error {
	X, err := a.extend(s.X, s.IDs)
	if err == nil {
		s.X = X
	}
	return err
}

// readTable reads a CSV or Parquet file as strings: the header and rows.
func readTable(path string) ([]string, [][]string, error) {
	if strings.EqualFold(filepath.Ext(path), ".parquet") {
		return readParquetTable(path)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrAttributes, err)
	}
	defer f.Close()
	text, gz, err := data.DecodeText(f, path)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrAttributes, err)
	}
	if gz != nil {
		defer gz.Close()
	}
	cr := csv.NewReader(text)
	header, err := cr.Read()
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %s: reading the header: %w", ErrAttributes, path, err)
	}
	for j := range header {
		header[j] = strings.TrimSpace(strings.TrimPrefix(header[j], "\ufeff"))
	}
	var rows [][]string
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, nil, fmt.Errorf("%w: %s: %w", ErrAttributes, path, err) // a csv.ParseError names the line
		}
		rows = append(rows, rec)
	}
	return header, rows, nil
}

func readParquetTable(path string) ([]string, [][]string, error) {
	pf, err := file.OpenParquetFile(path, false)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %s: %w", ErrAttributes, path, err)
	}
	defer pf.Close()
	if err := data.CheckParquet(path, pf); err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrAttributes, err)
	}
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %s: %w", ErrAttributes, path, err)
	}
	tbl, err := fr.ReadTable(context.Background())
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %s: %w", ErrAttributes, path, err)
	}
	defer tbl.Release()
	n := int(tbl.NumRows())
	header := make([]string, tbl.NumCols())
	rows := make([][]string, n)
	for i := range rows {
		rows[i] = make([]string, len(header))
	}
	for j := range header {
		header[j] = tbl.Schema().Field(j).Name
		r := 0
		for _, chunk := range tbl.Column(j).Data().Chunks() {
			for i := 0; i < chunk.Len(); i++ {
				if !chunk.IsNull(i) {
					rows[r][j] = chunk.ValueStr(i)
				}
				r++
			}
		}
	}
	return header, rows, nil
}
