package pipeline

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/churnpipe/churnpipe/data"
	"github.com/churnpipe/churnpipe/features"
	"github.com/churnpipe/churnpipe/models/season"
)

// History is an interaction history held in memory as validated canonical
// records, for jobs that need features at many days (training snapshots,
// backtests, reports). Release it when done.
type History struct {
	recs  []arrow.RecordBatch
	Stats IngestStats
	First time.Time // day of the earliest event
	Last  time.Time // day of the latest event
}

// LoadHistory reads the whole input once, applying the reject limit and
// the duplicate rule of the nightly run (re-delivered events with the same
// customer_id and event_id are dropped; nothing else is), so that training
// sees the events a night sees.
func LoadHistory(ctx context.Context, in Input, opt Options) (*History, error) {
	opt = opt.withDefaults()
	src, err := openQuarantined(ctx, in, in.Read, "quarantine.csv", opt)
	if err != nil {
		return nil, err
	}
	h := &History{}
	dd := newDedupe(opt.Alloc, -1, 0, 1)
	minDay, maxDay := int32(1<<31-1), int32(-1<<31)
	for src.Next() {
		if err = ctx.Err(); err != nil {
			break
		}
		var rec arrow.RecordBatch
		if rec, err = dd.filter(src.Record()); err != nil {
			break
		}
		h.recs = append(h.recs, rec)
		ts := rec.Column(1).(interface{ Value(int) arrow.Timestamp })
		for i := 0; i < int(rec.NumRows()); i++ {
			d := data.DayOf(int64(ts.Value(i)))
			minDay, maxDay = min(minDay, d), max(maxDay, d)
		}
	}
	if err == nil {
		err = src.Err()
	}
	dd.finish()
	ds, used, err := src.close(err, in.MaxReject)
	h.Stats = IngestStats{Files: ds.Files, RowsRead: ds.RowsRead, RowsRejected: ds.RowsRejected, Quarantine: used,
		RowsDuplicate: dd.dups, RowsIdentical: dd.identical}
	if err == nil && len(h.recs) == 0 {
		err = fmt.Errorf("%w: the input has no valid event", ErrNoCustomers)
	}
	if err != nil {
		h.Release()
		return nil, err
	}
	h.First = dayTime(minDay)
	h.Last = dayTime(maxDay)
	return h, nil
}

func dayTime(d int32) time.Time { return time.Unix(int64(d)*86400, 0).UTC() }

// FeaturesAt returns the feature table at day (caller releases).
func (h *History) FeaturesAt(day time.Time, opt Options) (arrow.RecordBatch, error) {
	opt = opt.withDefaults()
	b := features.NewBuilder(day)
	for _, r := range h.recs {
		if err := b.Add(r); err != nil {
			return nil, err
		}
	}
	if b.Customers() == 0 {
		return nil, fmt.Errorf("%w: no customer has an event on or before %s", ErrNoCustomers, day.Format(time.DateOnly))
	}
	return b.Finish(opt.Alloc), nil
}

// Release frees the records.
func (h *History) Release() {
	for _, r := range h.recs {
		r.Release()
	}
	h.recs = nil
}

// PurchaseDays returns each customer's distinct purchase days (UTC day
// numbers, ascending) on or before end.
func (h *History) PurchaseDays(end time.Time) map[string][]int32 {
	last := data.DayOf(end.UnixMilli())
	out := map[string][]int32{}
	for _, r := range h.recs {
		ids := r.Column(0).(*array.String)
		ts := r.Column(1).(*array.Timestamp)
		types := r.Column(2).(*array.String)
		amounts := r.Column(3).(*array.Float64)
		for i := 0; i < int(r.NumRows()); i++ {
			if types.Value(i) != data.EventPurchase || (amounts.IsValid(i) && amounts.Value(i) < 0) {
				continue // a negative purchase is a return (see package features)
			}
			d := data.DayOf(int64(ts.Value(i)))
			if d > last {
				continue
			}
			id := ids.Value(i)
			days, ok := out[id]
			if !ok {
				id = strings.Clone(id)
			}
			out[id] = append(days, d)
		}
	}
	for id, days := range out {
		slices.Sort(days)
		out[id] = slices.Compact(days)
	}
	return out
}

// Daily returns the history's purchase days by UTC day, on or before end:
// each customer's first purchase day counts as an acquisition, every later
// distinct purchase day as a repeat (the counts package season fits).
func (h *History) Daily(end time.Time) season.Daily {
	days := h.PurchaseDays(end)
	first, last := int32(1<<31-1), int32(-1<<31)
	for _, d := range days {
		first, last = min(first, d[0]), max(last, d[len(d)-1])
	}
	if first > last {
		return season.Daily{}
	}
	out := season.Daily{First: first, Acquired: make([]float64, last-first+1), Repeat: make([]float64, last-first+1)}
	for _, d := range days {
		out.Acquired[d[0]-first]++
		for _, r := range d[1:] {
			out.Repeat[r-first]++
		}
	}
	return out
}
