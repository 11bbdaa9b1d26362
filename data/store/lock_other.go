//go:build !unix

package store

import (
	"errors"
	"fmt"
	"os"
)

// flock emulates a lock with an exclusively created file. Unlike flock(2),
// a killed process leaves the file behind; delete it by hand.
func flock(path string) (func() error, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("%w: %s", ErrLocked, path)
		}
		return nil, fmt.Errorf("store: lock %s: %w", path, err)
	}
	return func() error { return errors.Join(f.Close(), os.Remove(path)) }, nil
}
