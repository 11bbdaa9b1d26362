// Package memlimit gives the Go runtime a soft memory limit from the
// container's cgroup memory limit when GOMEMLIMIT is not set.
//
// Without a limit the Go heap may grow to twice the live heap before the
// collector runs (GOGC=100): a nightly run whose live state peaks at 10 GiB
// can then touch 20 GiB and be killed by a 16 GiB container limit. With
// the runtime's limit at a fraction of the container's, the collector runs
// harder near the limit instead.
package memlimit

import (
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
)

// Fraction is the share of the cgroup limit handed to the runtime; the rest
// is headroom for memory outside the Go heap (goroutine stacks, SQLite's
// page cache, the kernel's page tables).
const Fraction = 0.9

// noLimit is what cgroup v1 reports for "unlimited" (≈ 2⁶³ rounded down to
// a page), and anything at or above it means the same.
const noLimit = int64(1) << 62

// FromCgroup returns the memory limit of the cgroup mounted at root
// (normally /sys/fs/cgroup) in bytes: cgroup v2's memory.max, else
// cgroup v1's memory/memory.limit_in_bytes. ok is false when there is none
// ("max", absent, unreadable, or unlimited).
func FromCgroup(root string) (limit int64, ok bool) {
	for _, f := range []string{"memory.max", filepath.Join("memory", "memory.limit_in_bytes")} {
		b, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			continue
		}
		s := strings.TrimSpace(string(b))
		if s == "max" {
			return 0, false
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n <= 0 || n >= noLimit {
			return 0, false
		}
		return n, true
	}
	return 0, false
}

// Apply sets the runtime's memory limit to Fraction of the cgroup limit
// found under root, unless the GOMEMLIMIT environment variable is set (the
// runtime has then applied it already). It returns the limit it set, and
// false when it set none.
func Apply(root string) (int64, bool) {
	if os.Getenv("GOMEMLIMIT") != "" {
		return 0, false
	}
	l, ok := FromCgroup(root)
	if !ok {
		return 0, false
	}
	set := int64(float64(l) * Fraction)
	debug.SetMemoryLimit(set)
	return set, true
}
