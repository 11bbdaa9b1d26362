package sqlsource_test

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/churnpipe/churnpipe/data"
	"github.com/churnpipe/churnpipe/data/sqlsource"
)

// Stream a CRM's orders table, with its own column names, into the
// pipeline's canonical batches; bad rows go to a quarantine file. (Needs a
// PostgreSQL server, so it is compiled but not run.)
func Example() {
	ctx := context.Background()
	q, err := data.CreateQuarantine("quarantine.csv")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer q.Close()
	r, err := sqlsource.Open(ctx, os.Getenv("CRM_DSN"), sqlsource.Options{
		Table:      `crm."Orders"`,
		Map:        map[string]string{"customer_id": "member_id", "event_time": "paid_at", "amount": "total"},
		Quarantine: q,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer r.Release()
	var rows int64
	for r.Next() {
		rows += r.Record().NumRows()
	}
	if err := r.Err(); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(rows, "events;", r.Stats().RowsRejected, "rejected")
}

// Errors show the DSN without its password.
func ExampleOpen_errors() {
	_, err := sqlsource.Open(context.Background(), "mysql://crm:s3cret@db.example:3306/crm", sqlsource.Options{Table: "orders"})
	fmt.Println(err)
	fmt.Println(errors.Is(err, data.ErrUnsupported))
	// Output:
	// sqlsource: open mysql://crm:xxxxx@db.example:3306/crm: data: unsupported: MySQL/MariaDB sources are not implemented (want postgres://…)
	// true
}
