package testenv

import (
	"database/sql"
	"fmt"
	"testing"

	_ "modernc.org/sqlite" // the database/sql driver "sqlite"
)

// DumpPredictions returns every row of customer_predictions in the SQLite
// file at path as text, ordered by customer_id and without the columns that
// differ from run to run (run_id, updated_at): two nights that must publish
// the same predictions compare equal.
func DumpPredictions(t testing.TB, path string) []string {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT * FROM customer_predictions ORDER BY customer_id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		var b []byte
		for i, c := range cols {
			if c != "run_id" && c != "updated_at" {
				b = fmt.Appendf(b, "%s=%v|", c, vals[i])
			}
		}
		out = append(out, string(b))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
