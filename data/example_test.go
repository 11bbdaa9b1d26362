package data_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/churnpipe/churnpipe/data"
)

// Read a CSV export with its own column names and a bad row, sending the
// bad row to a quarantine.
func Example() {
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "orders.csv")
	os.WriteFile(path, []byte("CustomerID,InvoiceDate,Total\n"+
		"c1,2024-03-01T10:00:00+01:00,29.33\n"+
		"c2,2024-03-02,NaN\n"+
		"c2,2024-03-02,\n"), 0o644)

	m, err := data.ParseMap("customer_id=CustomerID,event_time=InvoiceDate,amount=Total")
	if err != nil {
		fmt.Println(err)
		return
	}
	var bad strings.Builder
	q := data.NewQuarantine(&bad)
	r, err := data.Open(path, data.Options{Map: m, Quarantine: q})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer r.Release()
	for r.Next() {
		rec := r.Record()
		ids := rec.Column(0).(*array.String)
		ts := rec.Column(1).(*array.Timestamp)
		amt := rec.Column(3).(*array.Float64)
		for i := 0; i < int(rec.NumRows()); i++ {
			fmt.Println(ids.Value(i), ts.Value(i).ToTime(data.EventTimeType.Unit).UTC().Format("2006-01-02 15:04"), amt.ValueStr(i))
		}
	}
	q.Close()
	fmt.Printf("%+v %v\n", r.Stats(), data.CheckRejects(r.Stats(), 0.1))
	fmt.Println(strings.SplitN(bad.String(), "\n", 3)[1][len(path)+1:])
	// Output:
	// c1 2024-03-01 09:00 29.33
	// c2 2024-03-02 00:00 (null)
	// {Files:1 RowsRead:3 RowsRejected:1 FilesSkipped:0} data: too many rejected rows: 1 of 3 rows (33.33 %) rejected, limit 10.00 %
	// 3,amount,"non-finite amount ""NaN""","c2,2024-03-02,NaN"
}
