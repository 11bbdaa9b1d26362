package pipeline

import "math/bits"

// u64set is an open-addressing hash set of 64-bit fingerprints with linear
// probing: 8 bytes a slot, about a third of a Go map entry's cost, and no
// per-insert allocation. Its size need not be a power of two, so a set sized
// for a known number of keys (newU64Set) wastes nothing: 509 M keys take
// 5.1 GB at the 0.8 target load instead of the 8.6 GB of the next power of
// two, and it never grows (growing briefly holds both tables). It grows ×2
// only when more than 90 % full. Zero marks an empty slot, so the
// fingerprint 0 is stored as 1 (one more collision in 2⁶⁴).
type u64set struct {
	slots []uint64
	n     int
}

const (
	u64setMinSize = 1024
	// u64setTargetLoad is the fill a set is sized for; u64setMaxLoad the
	// fill that makes it grow (in tenths).
	u64setTargetLoad = 0.8
	u64setMaxLoad    = 9
)

// newU64Set returns a set sized to hold capacity keys at the target load.
func newU64Set(capacity int) *u64set {
	size := max(u64setMinSize, int(float64(capacity)/u64setTargetLoad)+1)
	return &u64set{slots: make([]uint64, size)}
}

// home is the first slot probed for h: Lemire's multiply-shift maps the
// (re-mixed) fingerprint onto [0, len(slots)) without a modulo.
func (s *u64set) home(h uint64) int {
	h ^= h >> 33 // FNV-1a's low bits are its weakest: fold the high ones in
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	hi, _ := bits.Mul64(h, uint64(len(s.slots)))
	return int(hi)
}

// add inserts h and reports whether it was new.
func (s *u64set) add(h uint64) bool {
	if h == 0 {
		h = 1
	}
	if (s.n+1)*10 > len(s.slots)*u64setMaxLoad {
		s.grow()
	}
	n := len(s.slots)
	for i := s.home(h); ; {
		switch s.slots[i] {
		case 0:
			s.slots[i] = h
			s.n++
			return true
		case h:
			return false
		}
		if i++; i == n {
			i = 0
		}
	}
}

func (s *u64set) grow() {
	old := s.slots
	s.slots = make([]uint64, 2*len(old))
	s.n = 0
	for _, h := range old {
		if h != 0 {
			s.add(h)
		}
	}
}
