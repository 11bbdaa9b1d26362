package pipeline

import (
	"fmt"
	"math"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/churnpipe/churnpipe/data"
	"github.com/churnpipe/churnpipe/features"
)

// dedupe applies the duplicate rule of the canonical history:
//
//   - An input with event_id (data.HasEventID): an event whose
//     (customer_id, event_id) was seen before is a re-delivery; it is
//     dropped and counted (dups, the ledger's rows_duplicate).
//   - Every other row — an input without event_id, or a row whose event_id
//     is null — is never dropped: several lines of one order share customer,
//     time and often amount, and a date-only input has two identical
//     purchases on one day. Rows identical in all their canonical columns
//     (the four fixed ones, subscription_id and period_end) to an earlier one are only counted (identical, the ledger's
//     rows_identical), so that an operator can see a feed delivered twice.
//
// It remembers a 64-bit FNV-1a fingerprint per distinct (customer_id,
// event_id) in an open-addressing set (u64set: 10 bytes a row at the 0.8
// target load), probed as the rows arrive since a re-delivery must be
// dropped at once; the set is created at the first such row, sized for the
// number of rows the input's metadata announces (divided by the number of
// shards), so that it never grows — a growing set holds its old and new
// tables at once. The fingerprints of the other rows only feed a count, so
// they are appended to a log (fpLog: 8 bytes a row, sequential writes into
// 1,024 buckets by the fingerprint's top bits) and counted once at the end,
// bucket by bucket in a cache-sized set (finish): a random probe into a
// table of every event's fingerprint was the filter's cost (~95 ns a row
// on tier M). The two kinds of key hash from different offsets, and a
// false match needs a 64-bit collision.
type dedupe struct {
	// shard, shards: in a sharded run only this shard's customers are
	// remembered (the builder skips the others anyway).
	shard, shards int
	// expect is the number of rows expected in the input (≤ 0: unknown).
	expect    int64
	seen      *u64set
	log       fpLog
	dups      int64 // re-delivered events dropped (same customer_id and event_id)
	identical int64 // rows identical to an earlier row, kept; complete after finish
	mem       memory.Allocator
	keep      []bool
	hs        []uint64 // fingerprints of the record's candidate rows
	rows      []int32  // their row numbers
}

// newDedupe returns a filter for an input of about expect rows (≤ 0 when
// unknown).
func newDedupe(mem memory.Allocator, expect int64, shard, shards int) *dedupe {
	return &dedupe{mem: mem, expect: expect, shard: shard, shards: shards}
}

// set returns the fingerprint set, creating it on first use.
func (d *dedupe) set() *u64set {
	if d.seen == nil {
		c := int64(1 << 16)
		if d.expect > 0 {
			// The count comes from the file's metadata: a corrupt one must
			// not size the set (2⁶² rows would be a fatal allocation), so
			// beyond maxPresize keys the set grows as it fills.
			c = min(d.expect, maxPresize)
		}
		d.seen = newU64Set(int(c))
	}
	return d.seen
}

// maxPresize bounds the keys a fingerprint set is sized for in advance
// (1.3 GB of slots at the target load).
const maxPresize = 1 << 27

// expectedShare returns the rows a shard of shards can expect of an input
// of expect rows (≤ 0: unknown): all of them when the reader already read
// only the shard's partition files (pruned), else its share with 1 % slack
// for an uneven hash split.
func expectedShare(expect int64, shards int, pruned bool) int64 {
	if expect <= 0 || shards < 2 || pruned {
		return expect
	}
	return expect/int64(shards) + expect/int64(100*shards) + 1
}

// bytes returns the size of the fingerprint set and log.
func (d *dedupe) bytes() int {
	n := d.log.bytes()
	if d.seen != nil {
		n += 8 * len(d.seen.slots)
	}
	return n
}

// finish counts the rows of the log identical to an earlier one into
// identical and empties the log. Call it after the last filter.
func (d *dedupe) finish() {
	d.identical += d.log.repeats()
}

// release drops the fingerprint set and log (the counts stay; call finish
// first).
func (d *dedupe) release() { d.seen, d.log = nil, fpLog{} }

const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func fnvString(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= fnvPrime
	}
	return h
}

func fnvUint64(h, v uint64) uint64 {
	for k := 0; k < 8; k++ {
		h ^= v & 0xff
		h *= fnvPrime
		v >>= 8
	}
	return h
}

// idOffset is the FNV offset of (customer_id, event_id) keys, distinct
// from fnvOffset so that the two kinds of key do not collide by design.
const idOffset = fnvOffset ^ 0x9e3779b97f4a7c15

// filter returns rec without the re-delivered events (rec itself, retained,
// when there is none). The caller releases the result. A record that is not
// in a canonical event layout is an error wrapping features.ErrSchema.
func (d *dedupe) filter(rec arrow.RecordBatch) (arrow.RecordBatch, error) {
	if !data.IsEventSchema(rec.Schema()) {
		return nil, fmt.Errorf("%w: got %s", features.ErrSchema, rec.Schema())
	}
	ids := rec.Column(0).(*array.String)
	ts := rec.Column(1).(*array.Timestamp)
	types := rec.Column(2).(*array.String)
	amt := rec.Column(3).(*array.Float64)
	var eids, subs *array.String
	var ends *array.Timestamp
	if c := data.ColumnIndex(rec.Schema(), data.ColEventID); c >= 0 {
		eids = rec.Column(c).(*array.String)
	}
	if c := data.ColumnIndex(rec.Schema(), data.ColSubscriptionID); c >= 0 {
		subs = rec.Column(c).(*array.String)
	}
	if c := data.ColumnIndex(rec.Schema(), data.ColPeriodEnd); c >= 0 {
		ends = rec.Column(c).(*array.Timestamp)
	}
	n := int(rec.NumRows())
	if cap(d.keep) < n {
		d.keep = make([]bool, n)
	}
	keep := d.keep[:n]
	// Two passes: fingerprint the rows first, then probe the set in a
	// tight loop. Interleaved, each fingerprint's serial FNV chain sat
	// between two cache misses and the misses ran one at a time (~300 ns a
	// row on tier M); batched, the CPU overlaps several (~95 ns).
	d.hs, d.rows = d.hs[:0], d.rows[:0]
	for i := 0; i < n; i++ {
		keep[i] = true
		if d.shards > 1 && features.ShardOf(ids.Value(i), d.shards) != d.shard {
			continue // another shard's customer: the builder skips it
		}
		var h uint64
		if eids != nil && eids.IsValid(i) {
			h = fnvString(idOffset, ids.Value(i))
			h = fnvString(h^0xff, eids.Value(i))
			d.rows = append(d.rows, int32(i))
		} else {
			h = fnvString(fnvOffset, ids.Value(i))
			h = fnvUint64(h^0xff, uint64(ts.Value(i)))
			h = fnvString(h, types.Value(i))
			if amt.IsValid(i) {
				h = fnvUint64(h, math.Float64bits(amt.Value(i)))
			} else {
				h = fnvUint64(h, 0x7ff8dead)
			}
			if subs != nil && subs.IsValid(i) {
				h = fnvString(h^0x5b, subs.Value(i))
			}
			if ends != nil && ends.IsValid(i) {
				h = fnvUint64(h^0xe0, uint64(ends.Value(i)))
			}
			d.rows = append(d.rows, ^int32(i)) // kept whatever the set says
		}
		d.hs = append(d.hs, h)
	}
	dropped := 0
	for k, h := range d.hs {
		r := d.rows[k]
		if r < 0 {
			d.log.add(h) // kept whatever: counted by finish
			continue
		}
		if !d.set().add(h) {
			keep[r] = false
			dropped++
		}
	}
	if dropped == 0 {
		rec.Retain()
		return rec, nil
	}
	d.dups += int64(dropped)
	b := array.NewRecordBuilder(d.mem, rec.Schema())
	defer b.Release()
	b.Reserve(n - dropped)
	idb := b.Field(0).(*array.StringBuilder)
	tsb := b.Field(1).(*array.TimestampBuilder)
	tyb := b.Field(2).(*array.StringBuilder)
	amb := b.Field(3).(*array.Float64Builder)
	rest, err := data.RowCopier(rec, b, 4) // eids != nil: only ids drop rows
	if err != nil {
		return nil, err
	}
	for i := 0; i < n; i++ {
		if !keep[i] {
			continue
		}
		idb.Append(ids.Value(i))
		tsb.Append(ts.Value(i))
		tyb.Append(types.Value(i))
		if amt.IsValid(i) {
			amb.Append(amt.Value(i))
		} else {
			amb.AppendNull()
		}
		rest(i)
	}
	return b.NewRecordBatch(), nil
}

// fpLog is an append-only log of 64-bit fingerprints in fpBuckets buckets
// (by the top bits of the mixed fingerprint), each a list of fixed blocks,
// so that it never copies when it grows and each bucket can be counted in
// a set that fits in a core's cache.
type fpLog struct {
	buckets [][][]uint64 // nil until the first add
}

const (
	fpBits    = 10
	fpBuckets = 1 << fpBits
	// fpBlock is the entries of one block: 16 KiB, so that the partly
	// filled last blocks of the buckets waste at most 16 MiB.
	fpBlock = 2048
)

func fpMix(h uint64) uint64 {
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 29
	return h
}

func (l *fpLog) add(h uint64) {
	if l.buckets == nil {
		l.buckets = make([][][]uint64, fpBuckets)
	}
	b := &l.buckets[fpMix(h)>>(64-fpBits)]
	if k := len(*b); k == 0 || len((*b)[k-1]) == fpBlock {
		*b = append(*b, make([]uint64, 0, fpBlock))
	}
	last := &(*b)[len(*b)-1]
	*last = append(*last, h)
}

func (l *fpLog) bytes() int {
	blocks := 0
	for _, b := range l.buckets {
		blocks += len(b)
	}
	return 8 * fpBlock * blocks
}

// repeats returns the number of entries equal to an earlier entry (the
// entries minus the distinct fingerprints) and empties the log. Equal
// fingerprints share a bucket, so the buckets are counted independently,
// on two goroutines, each bucket freed once counted.
func (l *fpLog) repeats() int64 {
	const workers = 2
	var rep [workers]int64
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var set *u64set
			for i := w; i < len(l.buckets); i += workers {
				b := l.buckets[i]
				if len(b) == 0 {
					continue
				}
				size := fpBlock * len(b)
				if set == nil || len(set.slots) < int(float64(size)/u64setTargetLoad) {
					set = newU64Set(size)
				} else {
					clear(set.slots)
					set.n = 0
				}
				for _, blk := range b {
					for _, h := range blk {
						if !set.add(h) {
							rep[w]++
						}
					}
				}
				l.buckets[i] = nil
			}
		}()
	}
	wg.Wait()
	l.buckets = nil
	return rep[0] + rep[1]
}
