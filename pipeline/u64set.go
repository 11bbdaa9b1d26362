package pipeline

// u64set is an open-addressing hash set of 64-bit fingerprints with linear
// probing: 8 bytes a slot at a load factor ≤ 0.8, about a third of a Go map
// entry's cost, and no per-insert allocation. Zero marks an empty slot, so
// the fingerprint 0 is stored as 1 (one more collision in 2⁶⁴).
type u64set struct {
	slots []uint64
	n     int
}

func newU64Set(capacity int) *u64set {
	size := 1024
	for size*4/5 < capacity {
		size *= 2
	}
	return &u64set{slots: make([]uint64, size)}
}

// add inserts h and reports whether it was new.
func (s *u64set) add(h uint64) bool {
	if h == 0 {
		h = 1
	}
	if (s.n+1)*5 > len(s.slots)*4 {
		s.grow()
	}
	mask := uint64(len(s.slots) - 1)
	// The fingerprint is already a hash; fold the high bits in for the index.
	for i := (h ^ h>>29) & mask; ; i = (i + 1) & mask {
		switch s.slots[i] {
		case 0:
			s.slots[i] = h
			s.n++
			return true
		case h:
			return false
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
