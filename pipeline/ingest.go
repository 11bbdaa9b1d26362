package pipeline

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/churnpipe/churnpipe/data"
	"github.com/churnpipe/churnpipe/features"
	"github.com/churnpipe/churnpipe/internal/progress"
	"github.com/churnpipe/churnpipe/pipeline/gate"
)

// Source is a stream of canonical event records (data.EventSchema), such as
// a *data.Reader.
type Source interface {
	Next() bool
	Record() arrow.RecordBatch
	Err() error
	Stats() data.Stats
	Release()
}

// Input says where the interaction history is and how to read it.
type Input struct {
	Path  string // file or folder, or a PostgreSQL URL
	Table string // with a database Path: the table to read
	SQL   string // with a database Path: the SELECT to read (instead of Table)
	// Shard and Shards, with Shards > 1, keep only the customers with
	// features.ShardOf(customer_id, Shards) == Shard (see pipeline.WriteShard).
	Shard, Shards int
	Read          data.Options // format, delimiter, column mapping, time layout…
	Quarantine    string       // CSV file for rejected rows; "" = a file next to the database
	MaxReject     float64      // fail when more than this fraction of rows is rejected (0.01 = 1 %)
}

// IngestStats count what happened to the input rows.
type IngestStats struct {
	Files         int
	RowsRead      int64 // data rows seen, rejected ones included
	RowsRejected  int64 // quarantined
	RowsLongID    int64 // of RowsRejected: customer_id longer than data.MaxIDLength characters
	RowsExcluded  int64 // after the as-of day
	RowsUsed      int64
	RowsDuplicate int64 // re-delivered events dropped (same customer_id and event_id)
	RowsIdentical int64 // rows identical to an earlier row in all four canonical columns: kept, counted
	RowsSkipped   int64 // events of customers of other shards (sharded runs)
	// FilesSkipped counts the partition files a sharded run left unread
	// (they hold other shards' customers; see data.CreatePartitioned).
	FilesSkipped int
	Customers    int
	Quarantine   string // path of the quarantine file, if any row went there
	// Feed is the input's profile for the feed gates (nil when not counted).
	Feed *gate.Feed
}

// BuildFeatures reads the input and returns the feature table at asOf
// (caller releases) and what happened to the rows. It fails with an error
// wrapping data.ErrTooManyRejects when the reject limit is exceeded.
func BuildFeatures(ctx context.Context, in Input, asOf time.Time, opt Options) (arrow.RecordBatch, IngestStats, error) {
	rec, st, _, err := buildFeatures(ctx, in, asOf, opt, sideOutputs{})
	return rec, st, err
}

// sideOutputs asks the night's one feature builder for more than the
// feature table: the holdout's calibration summary at calEnd (withCal,
// features.WithCalibration) and the customers' usage at usageDays (the
// subscriber taps' days, features.WithUsage).
type sideOutputs struct {
	calEnd    time.Time
	withCal   bool
	usageDays []time.Time
}

// built are the side outputs of buildFeatures (nil when not asked for, or
// on an error).
type built struct {
	cal   *features.Calibration
	usage *features.UsageTable
}

// buildFeatures is BuildFeatures with side outputs.
func buildFeatures(ctx context.Context, in Input, asOf time.Time, opt Options, side sideOutputs) (arrow.RecordBatch, IngestStats, built, error) {
	var st IngestStats
	opt = opt.withDefaults()
	var bopts []features.Option
	ro := in.Read
	if in.Shards > 1 {
		bopts = append(bopts, features.WithShard(in.Shard, in.Shards))
		ro.Shard, ro.Shards = in.Shard, in.Shards
	}
	if side.withCal {
		bopts = append(bopts, features.WithCalibration(side.calEnd))
	}
	if len(side.usageDays) > 0 {
		bopts = append(bopts, features.WithUsage(side.usageDays...))
	}
	b, err := features.NewBuilderErr(asOf, bopts...)
	if err != nil {
		return nil, st, built{}, err
	}
	src, err := openQuarantined(ctx, in, ro, "quarantine.csv", opt)
	if err != nil {
		return nil, st, built{}, err
	}
	expect := int64(-1)
	if e, ok := src.Source.(interface{ ExpectedRows() int64 }); ok {
		expect = expectedShare(e.ExpectedRows(), in.Shards, src.Stats().FilesSkipped > 0)
	}
	dd := newDedupe(opt.Alloc, expect, in.Shard, in.Shards)
	fsrc := withFeed(src, asOf)
	// Reading (decode, validation, feed counts) on one goroutine, duplicate
	// filter and builder on this one (see prefetched).
	pf := prefetch(fsrc)
	err = consume(ctx, pf, b, dd, opt)
	pf.stop()
	st.Feed = feedOf(fsrc)
	dd.finish()
	if dd.bytes() > 256<<20 {
		// Hand a large fingerprint set back to the OS before Finish
		// allocates the feature table, so that the two never add up.
		dd.release()
		debug.FreeOSMemory()
	}
	st.RowsExcluded, st.RowsUsed, st.Customers = b.Excluded(), b.Rows(), b.Customers()
	st.RowsDuplicate, st.RowsIdentical = dd.dups, dd.identical
	st.RowsSkipped = b.Skipped()
	if err == nil && src.Stats().FilesSkipped > 0 && st.RowsSkipped > 0 {
		// The reader trusted the partition file names; the events say otherwise.
		err = fmt.Errorf("%w: %s: the partition files read for shard %d of %d hold %d events of other shards' customers: they were not written by data.CreatePartitioned (churnpipe partition) with churnpipe's customer hash",
			data.ErrPartition, in.Path, in.Shard, in.Shards, st.RowsSkipped)
	}
	ds, used, err := src.close(err, in.MaxReject)
	st.Files, st.RowsRead, st.RowsRejected, st.FilesSkipped = ds.Files, ds.RowsRead, ds.RowsRejected, ds.FilesSkipped
	st.Quarantine = used
	if st.RowsLongID = src.q.LongIDs(); st.RowsLongID > 0 {
		opt.Logger.Warn("rows rejected: customer_id too long for the prediction store", "rows", st.RowsLongID,
			"max_characters", data.MaxIDLength, "quarantine", used)
	}
	if err != nil {
		return nil, st, built{}, err
	}
	if b.Customers() == 0 {
		return nil, st, built{}, fmt.Errorf("%w: no customer has an event on or before %s (%d rows read, %d after the as-of day)",
			ErrNoCustomers, asOf.Format(time.DateOnly), st.RowsRead, st.RowsExcluded)
	}
	opt.Logger.Info("features built", "customers", st.Customers, "rows_used", st.RowsUsed,
		"rows_rejected", st.RowsRejected, "rows_excluded", st.RowsExcluded, "rows_duplicate", st.RowsDuplicate, "rows_identical", st.RowsIdentical)
	rec := b.Finish(opt.Alloc)
	return rec, st, built{cal: b.Calibration(), usage: b.Usage()}, nil
}

// ErrNoCustomers is returned when the history has no customer at the as-of day.
var ErrNoCustomers = errors.New("pipeline: no customers")

// ErrInput marks an input that cannot be read (corrupt or truncated file,
// wrong column types…): the run fails with exit code 3.
var ErrInput = errors.New("input unreadable")

func consume(ctx context.Context, src Source, b *features.Builder, dd *dedupe, opt Options) error {
	bar := progress.New(opt.progressWriter(), "reading events", 0, progress.Options{Unit: "events"})
	defer bar.Finish()
	for src.Next() {
		if err := ctx.Err(); err != nil {
			return err
		}
		rec, err := dd.filter(src.Record())
		if err != nil {
			return err
		}
		if opt.tap != nil {
			if err := opt.tap(rec); err != nil {
				rec.Release()
				return err
			}
		}
		err = b.Add(rec)
		bar.Add(rec.NumRows())
		rec.Release()
		if err != nil {
			return err
		}
	}
	return src.Err()
}
