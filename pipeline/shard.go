package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/ipc"

	"github.com/churnpipe/churnpipe/data"
	"github.com/churnpipe/churnpipe/features"
)

// Sharded runs split the expensive pass over the events: N workers each read
// the history and keep the customers of their shard (features.ShardOf), and
// write that shard's feature table to a shared folder (WriteShard); one
// finalize run (NightlyConfig.FromShards) reads the N tables, and fits,
// scores and publishes the night once — so the models and the
// population-relative columns (RFM quintiles, ABC tiers) are computed on all
// customers and N shards publish exactly what one run publishes.

// ErrShards is returned when the shard files of a night are missing or inconsistent.
var ErrShards = errors.New("pipeline: shards")

func shardBase(dir string, asOf time.Time, i, n int) string {
	return filepath.Join(dir, fmt.Sprintf("features-%s-%03d-of-%03d", asOf.Format(time.DateOnly), i, n))
}

// WriteShard builds the features of shard in.Shard of in.Shards at asOf and
// writes them to dir as an Arrow IPC file with a JSON sidecar holding the
// shard's ingest counts. Both are written atomically (temp + rename).
// Subscribers get the default subscription options (see WriteShardWith).
func WriteShard(ctx context.Context, in Input, asOf time.Time, dir string, opt Options) (IngestStats, string, error) {
	return WriteShardWith(ctx, in, asOf, dir, SubscriptionOptions{}, opt)
}

// WriteShardWith is WriteShard with the night's subscription options: the
// worker also writes the states of its subscribers (unless sub.Disabled),
// which the finalize step merges to publish the subscription columns. The
// finalize run must have the same options.
func WriteShardWith(ctx context.Context, in Input, asOf time.Time, dir string, sub SubscriptionOptions, opt Options) (IngestStats, string, error) {
	if in.Shards < 2 || in.Shard < 0 || in.Shard >= in.Shards {
		return IngestStats{}, "", fmt.Errorf("%w: shard %d/%d: want 0 ≤ i < N, N ≥ 2", ErrShards, in.Shard, in.Shards)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return IngestStats{}, "", err
	}
	opt = opt.withDefaults()
	var tap *SubscriberTap
	if !sub.Disabled {
		var err error
		if tap, err = shardTap(asOf, sub, in.Shard, in.Shards); err != nil {
			return IngestStats{}, "", err
		}
		opt.tap = tap.Add
	}
	feat, st, out, err := buildFeatures(ctx, in, asOf, opt, sideOutputs{usageDays: tap.usageDays()})
	tap.seal(out.usage)
	if errors.Is(err, ErrNoCustomers) {
		// A shard may be empty on a tiny history; write an empty table.
		err = nil
		feat = emptyFeatures(opt)
	}
	if err != nil {
		return st, "", err
	}
	defer feat.Release()
	base := shardBase(dir, asOf, in.Shard, in.Shards)
	w, err := data.CreateFile(base+".arrow", feat.Schema(), data.WriteOptions{Alloc: opt.Alloc})
	if err != nil {
		return st, "", err
	}
	if err := w.Write(feat); err != nil {
		w.Abort()
		return st, "", err
	}
	if err := w.Close(); err != nil {
		return st, "", err
	}
	// The sidecar last: it marks the shard finished.
	if err := writeShardSubscribers(base, tap); err != nil {
		return st, "", err
	}
	return st, base + ".arrow", saveJSON(base+".json", st)
}

func emptyFeatures(opt Options) arrow.RecordBatch {
	b := array.NewRecordBuilder(opt.Alloc, features.Schema())
	defer b.Release()
	return b.NewRecordBatch()
}

// readShards reads and concatenates the n shard tables of a night (caller
// releases) and sums their ingest counts.
func readShards(dir string, asOf time.Time, n int, opt Options) (arrow.RecordBatch, IngestStats, error) {
	var total IngestStats
	var recs []arrow.RecordBatch
	defer func() {
		for _, r := range recs {
			r.Release()
		}
	}()
	var maxRejects int64 // of workers that read every file
	for i := 0; i < n; i++ {
		base := shardBase(dir, asOf, i, n)
		var st IngestStats
		b, err := os.ReadFile(base + ".json")
		if err != nil {
			return nil, total, fmt.Errorf("%w: shard %d of %d for %s not finished: %w", ErrShards, i, n, asOf.Format(time.DateOnly), err)
		}
		if err := json.Unmarshal(b, &st); err != nil {
			return nil, total, fmt.Errorf("%w: %s.json: %w", ErrShards, base, err)
		}
		f, err := os.Open(base + ".arrow")
		if err != nil {
			return nil, total, fmt.Errorf("%w: %w", ErrShards, err)
		}
		// A shard table comes from shared storage: a flipped byte in its
		// footer must be an input error naming the file, not an allocation
		// of the size it claims (arrow-go trusts the footer).
		if err := data.CheckArrowFile(f, base+".arrow"); err != nil {
			f.Close()
			return nil, total, fmt.Errorf("%w: %w", ErrShards, err)
		}
		r, err := ipc.NewFileReader(f, ipc.WithAllocator(opt.Alloc))
		if err != nil {
			f.Close()
			return nil, total, fmt.Errorf("%w: %s.arrow: %w", ErrShards, base, err)
		}
		for k := 0; k < r.NumRecords(); k++ {
			rec, err := r.RecordBatch(k)
			if err != nil {
				r.Close()
				f.Close()
				return nil, total, fmt.Errorf("%w: %s.arrow: %w", ErrShards, base, err)
			}
			if !rec.Schema().Equal(features.Schema()) {
				r.Close()
				f.Close()
				return nil, total, fmt.Errorf("%w: %s.arrow was written by another feature schema", ErrShards, base)
			}
			rec.Retain()
			recs = append(recs, rec)
		}
		r.Close()
		f.Close()
		if st.FilesSkipped > 0 {
			// The worker read only its own partition files: its counts are its own.
			total.Files += st.Files
			total.FilesSkipped += st.FilesSkipped
			total.RowsRead += st.RowsRead
			total.RowsRejected += st.RowsRejected
		} else {
			// The worker read the whole input and skipped other shards'
			// events; a rejected row has no usable customer, so every worker
			// sees it: count the rows of each shard's own customers, and the
			// rejects once.
			total.Files = max(total.Files, st.Files)
			total.RowsRead += st.RowsRead - st.RowsSkipped - st.RowsRejected
			maxRejects = max(maxRejects, st.RowsRejected)
		}
		total.RowsExcluded += st.RowsExcluded
		total.RowsUsed += st.RowsUsed
		total.RowsDuplicate += st.RowsDuplicate
		total.RowsIdentical += st.RowsIdentical
		total.Customers += st.Customers
	}
	total.RowsRead += maxRejects
	total.RowsRejected += maxRejects
	cols := make([]arrow.Array, len(features.Schema().Fields()))
	for c := range cols {
		parts := make([]arrow.Array, len(recs))
		for k, r := range recs {
			parts[k] = r.Column(c)
		}
		a, err := array.Concatenate(parts, opt.Alloc)
		if err != nil {
			for _, done := range cols[:c] {
				done.Release()
			}
			return nil, total, err
		}
		cols[c] = a
	}
	var rows int64
	for _, r := range recs {
		rows += r.NumRows()
	}
	cat := array.NewRecordBatch(features.Schema(), cols, rows)
	for _, a := range cols {
		a.Release()
	}
	defer cat.Release()
	if rows == 0 {
		return nil, total, fmt.Errorf("%w: the %d shards of %s hold no customer", ErrNoCustomers, n, asOf.Format(time.DateOnly))
	}
	// Restore the single run's order (by customer_id): every later sum then runs
	// in the same order and the night is the same to the last bit.
	ids := cat.Column(0).(*array.String)
	order := make([]int64, rows)
	for i := range order {
		order[i] = int64(i)
	}
	slices.SortFunc(order, func(a, b int64) int { return strings.Compare(ids.Value(int(a)), ids.Value(int(b))) })
	ib := array.NewInt64Builder(opt.Alloc)
	ib.AppendValues(order, nil)
	idx := ib.NewArray()
	ib.Release()
	defer idx.Release()
	sorted, err := compute.Take(context.Background(), *compute.DefaultTakeOptions(), compute.NewDatum(cat), compute.NewDatum(idx))
	if err != nil {
		return nil, total, err
	}
	defer sorted.Release()
	out := sorted.(*compute.RecordDatum).Value
	out.Retain()
	return out, total, nil
}
