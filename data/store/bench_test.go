package store

import (
	"context"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"
)

// benchPublish publishes b.N nights of rows customers each (records built
// once, outside the timer) and reports rows/s. Nights are 91 days apart, so
// from the second one on both the previous night (transitions) and a cohort
// night (realized churn) exist: the full nightly work.
func benchPublish(b *testing.B, bk backend, rows int) {
	ctx := context.Background()
	s, _, _ := openFresh(b, bk, "")
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(b, 0)
	recs := customersRecords(mem, syntheticNight(rows, 0), 65536)
	defer release(recs)
	day0 := date(2024, 1, 1)
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		require.NoError(b, s.Publish(ctx, Publication{RunID: "bench", AsOf: day0.AddDate(0, 0, 91*i), Records: recs}))
	}
	b.ReportMetric(float64(rows)*float64(b.N)/time.Since(start).Seconds(), "rows/s")
}

// BenchmarkPublishSQLite: go test -run '^$' -bench PublishSQLite -benchtime 3x ./data/store
func BenchmarkPublishSQLite(b *testing.B) { benchPublish(b, backends[0], 100_000) }

// BenchmarkPublishPostgres1M: CHURNPIPE_TEST_POSTGRES=postgres://… go test -run '^$' -bench PublishPostgres1M -benchtime 2x ./data/store
func BenchmarkPublishPostgres1M(b *testing.B) { benchPublish(b, backends[1], 1_000_000) }

// BenchmarkPublishMySQL: CHURNPIPE_TEST_MYSQL=mysql://root@127.0.0.1:3306/test go test -run '^$' -bench PublishMySQL -benchtime 3x ./data/store
func BenchmarkPublishMySQL(b *testing.B) { benchPublish(b, backends[2], 100_000) }
