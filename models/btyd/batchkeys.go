package btyd

import (
	"encoding/binary"
	"hash/maphash"
	"runtime"
	"sync"
	"unsafe"
)

// The batch functions (Score, ExpectedPurchasesRows, DiscountedPurchasesRows)
// group a Data's rows by (x, T) for the alive-customer factor and, for
// Pareto/NBD, by (x, τ) for P(alive). The groups depend on the rows alone,
// and a night calls the batch functions ~18 times on the same distinct rows
// (the model, then each parameter-shifted model of the intervals): building
// the maps each time cost ~0.1 s per call at 690,000 rows, single-threaded.
// So the groups of the last Data seen are kept, keyed by a fingerprint of
// its rows' bits (maphash over X, T_x and T with their lengths; a Data
// changed in place gets a new fingerprint). One Data is kept: ~20 bytes a
// row, until the next Data a batch function sees or until the garbage
// collector frees the X slice of the Data that built it.

// gridIndex groups rows by (x, T): idx[i] is the key of row i.
type gridIndex struct {
	idx  []int32
	keys []struct{ x, T float64 }
}

// pairIndex is what Pareto/NBD's P(alive) needs of the rows: row[i] is -1
// when row i is outside the domain, else k, the row's place among those in
// it, whose pairs of (x, t_x) and (x, T) among the distinct pairs (px, pt)
// are itx[k] and iT[k].
type pairIndex struct {
	row     []int32
	px, pt  []float64
	itx, iT []int32
}

type batchKeys struct {
	n   int
	sum uint64

	mu    sync.Mutex
	grid  *gridIndex
	pairs *pairIndex
	// distinct is 1 when Compress found every row distinct (Score then
	// scores the rows as they are), -1 when not, 0 before Score asked.
	distinct int8
}

var (
	keySeed  = maphash.MakeSeed()
	lastKeys struct {
		sync.Mutex
		k *batchKeys
	}
)

// rowsFingerprint hashes the bits of d's X, Tx and T with their lengths.
func rowsFingerprint(d Data) uint64 {
	var h maphash.Hash
	h.SetSeed(keySeed)
	var lb [8]byte
	for _, s := range [...][]float64{d.X, d.Tx, d.T} {
		binary.LittleEndian.PutUint64(lb[:], uint64(len(s)))
		h.Write(lb[:])
		if len(s) > 0 {
			h.Write(unsafe.Slice((*byte)(unsafe.Pointer(&s[0])), 8*len(s)))
		}
	}
	return h.Sum64()
}

// keysFor returns the groups of d's rows: those of the last Data when d has
// the same rows, else a new, empty entry that replaces it.
func keysFor(d Data) *batchKeys {
	sum := rowsFingerprint(d)
	lastKeys.Lock()
	defer lastKeys.Unlock()
	if k := lastKeys.k; k != nil && k.n == d.Len() && k.sum == sum {
		return k
	}
	k := &batchKeys{n: d.Len(), sum: sum}
	lastKeys.k = k
	if len(d.X) > 0 {
		// Kept no longer than the rows: dropped once d.X is collected.
		runtime.AddCleanup(&d.X[0], dropKeys, k)
	}
	return k
}

func dropKeys(k *batchKeys) {
	lastKeys.Lock()
	defer lastKeys.Unlock()
	if lastKeys.k == k {
		lastKeys.k = nil
	}
}

// gridOf returns d's (x, T) groups, built on first use.
func (k *batchKeys) gridOf(d Data) *gridIndex {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.grid == nil {
		k.grid = newGridIndex(d)
	}
	return k.grid
}

// pairsOf returns d's (x, τ) pairs, built on first use.
func (k *batchKeys) pairsOf(d Data) *pairIndex {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.pairs == nil {
		k.pairs = newPairIndex(d)
	}
	return k.pairs
}

// distinctRows reports what setDistinct recorded (ok=false: nothing yet).
func (k *batchKeys) distinctRows() (distinct, ok bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.distinct > 0, k.distinct != 0
}

func (k *batchKeys) setDistinct(distinct bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.distinct = -1
	if distinct {
		k.distinct = 1
	}
}

func newGridIndex(d Data) *gridIndex {
	n := d.Len()
	g := &gridIndex{idx: make([]int32, n)}
	seen := make(map[[2]uint64]int32, min(n, 1<<14))
	for i := 0; i < n; i++ {
		// Rows with NaN (outside the domain, NaN through P(alive)) may
		// share a key.
		key := [2]uint64{fbits(d.X[i]), fbits(d.T[i])}
		j, ok := seen[key]
		if !ok {
			j = int32(len(g.keys))
			seen[key] = j
			g.keys = append(g.keys, struct{ x, T float64 }{d.X[i] + 0, d.T[i] + 0})
		}
		g.idx[i] = j
	}
	return g
}

func newPairIndex(d Data) *pairIndex {
	n := d.Len()
	p := &pairIndex{row: make([]int32, n)}
	var rows Data
	for i := 0; i < n; i++ {
		p.row[i] = -1
		if checkRow(d.X[i], d.Tx[i], d.T[i]) == nil {
			p.row[i] = int32(len(rows.X))
			rows.X, rows.Tx, rows.T = append(rows.X, d.X[i]), append(rows.Tx, d.Tx[i]), append(rows.T, d.T[i])
		}
	}
	pr := newParetoPairs(&bgRows{x: rows.X, tx: rows.Tx, T: rows.T})
	p.px, p.pt, p.itx, p.iT = pr.px, pr.pt, pr.itx, pr.iT
	return p
}
