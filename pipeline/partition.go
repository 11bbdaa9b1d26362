package pipeline

import (
	"context"

	"github.com/churnpipe/churnpipe/data"
	"github.com/churnpipe/churnpipe/internal/progress"
)

// PartitionStats count what Partition read and wrote.
type PartitionStats struct {
	Files        int
	RowsRead     int64 // data rows seen, rejected ones included
	RowsRejected int64 // quarantined
	RowsWritten  int64
	Partitions   int
	Quarantine   string // path of the quarantine file, if any row went there
}

// Partition rewrites the interaction history of in as n Parquet files in the
// folder out, partitioned by customer (data.CreatePartitioned): worker i of
// a sharded run with N shards, N dividing n, then reads only the files
// j ≡ i (mod N). Bad rows go to in.Quarantine (default out + ".quarantine.csv",
// beside the folder, not in it) and fail the run above in.MaxReject; nothing
// is renamed into place unless every partition is complete.
func Partition(ctx context.Context, in Input, n int, out string, opt Options) (PartitionStats, error) {
	st := PartitionStats{Partitions: n}
	opt = opt.withDefaults()
	w, err := data.CreatePartitioned(out, n, data.WriteOptions{Alloc: opt.Alloc})
	if err != nil {
		return st, err
	}
	defer w.Abort() // no-op after Close
	src, err := openQuarantined(ctx, in, in.Read, out+".quarantine.csv", opt)
	if err != nil {
		return st, err
	}
	bar := progress.New(opt.progressWriter(), "partitioning events", 0, progress.Options{Unit: "events"})
	for src.Next() {
		if err = ctx.Err(); err != nil {
			break
		}
		rec := src.Record()
		if err = w.Write(rec); err != nil {
			break
		}
		st.RowsWritten += rec.NumRows()
		bar.Add(rec.NumRows())
	}
	bar.Finish()
	if err == nil {
		err = src.Err()
	}
	ds, used, err := src.close(err, in.MaxReject)
	st.Files, st.RowsRead, st.RowsRejected, st.Quarantine = ds.Files, ds.RowsRead, ds.RowsRejected, used
	if err != nil {
		return st, err
	}
	if err := w.Close(); err != nil {
		return st, err
	}
	opt.Logger.Info("history partitioned", "partitions", n, "rows", st.RowsWritten, "rows_rejected", st.RowsRejected, "out", out)
	return st, nil
}
