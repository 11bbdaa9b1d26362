package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/churnpipe/churnpipe/data/store"
)

// Example publishes one night into SQLite and reads it back as a CRM would.
func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "store-example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "crm.db")

	s, err := store.Open(ctx, "sqlite:"+path, store.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	if err := s.Migrate(ctx); err != nil {
		log.Fatal(err)
	}
	release, err := s.TryLock(ctx)
	if err != nil {
		log.Fatal(err) // errors.Is(err, store.ErrLocked): another run is publishing
	}
	defer release()
	run := &store.Run{ID: "2024-06-30-a", AsOf: time.Date(2024, 6, 30, 0, 0, 0, 0, time.UTC)}
	if err := s.StartRun(ctx, run); err != nil {
		log.Fatal(err)
	}

	schema := arrow.NewSchema([]arrow.Field{
		{Name: "customer_id", Type: arrow.BinaryTypes.String},
		{Name: "segment", Type: arrow.BinaryTypes.String},
		{Name: "predicted_clv_12m", Type: arrow.PrimitiveTypes.Float64},
	}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	b.Field(0).(*array.StringBuilder).AppendValues([]string{"c1", "c2", "c3"}, nil)
	b.Field(1).(*array.StringBuilder).AppendValues([]string{"A_high", "A_high", "C_low"}, nil)
	b.Field(2).(*array.Float64Builder).AppendValues([]float64{820.5, 310, 12}, nil)
	rec := b.NewRecordBatch()
	defer rec.Release()
	if err := s.Publish(ctx, store.Publication{RunID: run.ID, AsOf: run.AsOf, Records: []arrow.RecordBatch{rec}}); err != nil {
		log.Fatal(err)
	}
	run.Status, run.Customers = store.StatusSucceeded, 3
	if err := s.FinishRun(ctx, run); err != nil {
		log.Fatal(err)
	}

	// The CRM side: plain SQL.
	db, err := sql.Open("sqlite", path)
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT customer_id, as_of, predicted_clv_12m FROM customer_predictions
		WHERE segment = 'A_high' ORDER BY predicted_clv_12m DESC`)
	if err != nil {
		log.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, asOf string
		var clv float64
		if err := rows.Scan(&id, &asOf, &clv); err != nil {
			log.Fatal(err)
		}
		fmt.Println(id, asOf, clv)
	}
	last, _, _ := s.LastRun(ctx, store.StatusSucceeded)
	fmt.Println(last.ID, last.Customers)
	// Output:
	// c1 2024-06-30 820.5
	// c2 2024-06-30 310
	// 2024-06-30-a 3
}
