package synth_test

import (
	"context"
	"fmt"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/churnpipe/churnpipe/data/synth"
)

func ExampleGenerate() {
	cfg := synth.DefaultConfig(20,
		time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2025, 6, 30, 0, 0, 0, 0, time.UTC), 1)
	records := 0
	st, err := synth.Generate(context.Background(), cfg, memory.NewGoAllocator(), func(r arrow.RecordBatch) error {
		records++
		return nil
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%+v in %d record(s)\n", st, records)
	// Output: {Customers:20 Events:201 Purchases:54 Returns:4 Visits:137 Support:6} in 1 record(s)
}

func ExampleTier() {
	cfg, err := synth.Tier("M")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(cfg.Customers, cfg.EventsPerCustomer, cfg.Start.Format(time.DateOnly), cfg.End.Format(time.DateOnly))
	// Output: 1000000 50 2024-01-01 2025-12-31
}
