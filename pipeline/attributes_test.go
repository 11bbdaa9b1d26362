package pipeline

import (
	"bytes"
	"compress/gzip"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf16"

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

// TestAttributesEncodedFiles: an attribute export that is gzip-compressed
// or UTF-16 (Excel "Unicode Text") or has classic-Mac line ends loads to
// the same attributes as the plain UTF-8 file, as event files do.
func TestAttributesEncodedFiles(t *testing.T) {
	body := "household_id,age,income\n1,65+,NA\n2,45-54,50-74K\n3,65+,35-49K\n"
	plain, err := LoadAttributes(writeFile(t, "a.csv", body))
	require.NoError(t, err)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, err = zw.Write([]byte(body))
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	u16 := []byte{0xff, 0xfe}
	for _, u := range utf16.Encode([]rune(body)) {
		u16 = append(u16, byte(u), byte(u>>8))
	}
	X := mat.NewDense(4, 1, []float64{1, 2, 3, 4})
	ids := []string{"1", "2", "3", "9"}
	want, err := plain.extend(X, ids)
	require.NoError(t, err)
	for name, b := range map[string][]byte{"a.csv.gz": gz.Bytes(), "a16.csv": u16, "acr.csv": []byte(strings.ReplaceAll(body, "\n", "\r"))} {
		a, err := LoadAttributes(writeFile(t, name, string(b)))
		require.NoError(t, err, name)
		assert.Equal(t, plain.Spec(), a.Spec(), name)
		got, err := a.extend(X, ids)
		require.NoError(t, err, name)
		assert.True(t, nanEqual(want, got), name)
	}
}

// nanEqual compares two matrices element by element, NaN equal to NaN.
func nanEqual(a, b *mat.Dense) bool {
	ra, ca := a.Dims()
	rb, cb := b.Dims()
	if ra != rb || ca != cb {
		return false
	}
	for i := 0; i < ra; i++ {
		for j := 0; j < ca; j++ {
			x, y := a.At(i, j), b.At(i, j)
			if x != y && !(math.IsNaN(x) && math.IsNaN(y)) {
				return false
			}
		}
	}
	return true
}
