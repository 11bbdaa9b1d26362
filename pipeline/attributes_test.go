package pipeline

import (
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gonum.org/v1/gonum/mat"

	"github.com/churnpipe/churnpipe/models/churn"
)

func writeFile(t *testing.T, name, body string) string {
	p := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(p, []byte(body), 0o644))
	return p
}

func TestAttributesEncodeNAUnknownAndAbsent(t *testing.T) {
	// household_id as the first column (no customer_id): the dunnhumby layout.
	train := writeFile(t, "a.csv", "household_id,age,income,household_size\n1,65+,NA,2\n2,45-54,50-74K,NA\n3,65+,35-49K,1\n")
	a, err := LoadAttributes(train)
	require.NoError(t, err)
	spec := a.Spec()
	assert.Equal(t, "household_id", spec.Key)
	assert.Equal(t, []string{"attr_age=45-54", "attr_age=65+", "attr_income=35-49K", "attr_income=50-74K", "attr_household_size", churn.AttrMissing}, spec.Names())

	X := mat.NewDense(4, 1, []float64{10, 20, 30, 40})
	out, err := a.extend(X, []string{"1", "2", "3", "9"})
	require.NoError(t, err)
	row := func(i int) []float64 { return out.RawRowView(i) }
	assert.Equal(t, []float64{10, 0, 1}, row(0)[:3], "age 65+")
	assert.True(t, math.IsNaN(row(0)[3]) && math.IsNaN(row(0)[4]), "income NA: missing in every level column")
	assert.Equal(t, 2.0, row(0)[5])
	assert.True(t, math.IsNaN(row(1)[5]), "household_size NA")
	assert.Equal(t, 0.0, row(2)[6], "present")
	for j := 1; j < 6; j++ {
		assert.True(t, math.IsNaN(row(3)[j]), "customer 9 is not in the file")
	}
	assert.Equal(t, 1.0, row(3)[6])

	// At night: a category unseen in training scores 0 in every level; a missing column is an error.
	night := writeFile(t, "b.csv", "household_id,age,income,household_size\n1,19-24,35-49K,3\n")
	b, err := LoadAttributesFor(night, spec)
	require.NoError(t, err)
	out, err = b.extend(mat.NewDense(1, 1, []float64{1}), []string{"1"})
	require.NoError(t, err)
	assert.Equal(t, []float64{1, 0, 0, 1, 0, 3, 0}, out.RawRowView(0))
	bad := writeFile(t, "c.csv", "household_id,age\n1,65+\n")
	_, err = LoadAttributesFor(bad, spec)
	require.ErrorIs(t, err, ErrAttributes)
	assert.Contains(t, err.Error(), `no column "income"`)
	_, err = LoadAttributes(filepath.Join(t.TempDir(), "missing.csv"))
	require.ErrorIs(t, err, ErrAttributes)
	dup := writeFile(t, "d.csv", "customer_id,age\n1,65+\n1,45-54\n")
	_, err = LoadAttributes(dup)
	require.ErrorIs(t, err, ErrAttributes)
	assert.Contains(t, err.Error(), "row 3")
}
