package data

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
)

// ErrDuplicateFile is wrapped by the error of a folder that holds the same
// file twice (equal content): its events would count twice.
var ErrDuplicateFile = errors.New("data: the same file twice")

// checkDistinctFiles returns an error wrapping ErrDuplicateFile, naming both
// files, when two files of a folder have the same content. Only files of
// equal size are hashed (SHA-256), so a folder of distinct files costs one
// stat each.
func checkDistinctFiles(dir string, files []string) error {
	bySize := map[int64][]string{}
	for _, f := range files {
		fi, err := os.Stat(f)
		if err != nil {
			return fmt.Errorf("data: open %s: %w", dir, err)
		}
		bySize[fi.Size()] = append(bySize[fi.Size()], f)
	}
	for _, f := range files {
		fi, _ := os.Stat(f)
		group := bySize[fi.Size()]
		if len(group) < 2 || group[0] != f {
			continue // unique size, or the group is checked at its first file
		}
		if fi.Size() < 4096 && headerOnly(f) {
			continue // empty, or a header without rows: an empty day, not a re-delivery
		}
		seen := map[string]string{}
		for _, g := range group {
			h, err := fileSHA256(g)
			if err != nil {
				return fmt.Errorf("data: open %s: %w", dir, err)
			}
			if first, dup := seen[h]; dup {
				return fmt.Errorf("%w: %s: %s and %s have the same content (sha256 %s): a file delivered twice would count its events twice; remove one",
					ErrDuplicateFile, dir, first, g, h[:16])
			}
			seen[h] = g
		}
	}
	return nil
}

// headerOnly reports whether a small file holds at most one line of text
// (nothing, or a CSV header).
func headerOnly(path string) bool {
	b, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	lines := 0
	for _, l := range bytes.Split(b, []byte("\n")) {
		if len(bytes.TrimSpace(l)) > 0 {
			lines++
		}
	}
	return lines <= 1
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("read %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
