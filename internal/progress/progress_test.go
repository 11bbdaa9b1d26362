package progress_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/churnpipe/churnpipe/internal/progress"
)

type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }
func newClock() *fakeClock                   { return &fakeClock{time.Date(2024, 7, 1, 2, 15, 0, 0, time.UTC)} }
func frames(out string) []string             { return strings.Split(out, "\r")[1:] }
func last(out string) string                 { fs := frames(out); return fs[len(fs)-1] }

func TestSilentWhenNotATerminal(t *testing.T) {
	var buf bytes.Buffer
	b := progress.New(&buf, "reading", 100, progress.Options{})
	assert.False(t, b.Enabled())
	b.Add(50)
	b.Finish()
	assert.Empty(t, buf.String())
	assert.EqualValues(t, 50, b.Count(), "counting still works")

	f, err := os.Create(filepath.Join(t.TempDir(), "log.txt"))
	require.NoError(t, err)
	defer f.Close()
	assert.False(t, progress.IsTerminal(f), "a regular file is not a terminal")
	b = progress.New(f, "reading", 100, progress.Options{})
	b.Add(100)
	b.Finish()
	fi, err := f.Stat()
	require.NoError(t, err)
	assert.Zero(t, fi.Size())

	var never bytes.Buffer
	b = progress.New(&never, "x", 1, progress.Options{Mode: progress.Never})
	b.Add(1)
	b.Finish()
	assert.Empty(t, never.String())

	var nilBar *progress.Bar
	nilBar.Add(1) // a nil Bar does nothing
	nilBar.Finish()
	assert.False(t, nilBar.Enabled())
}

func TestLineWithTotal(t *testing.T) {
	clk := newClock()
	var buf bytes.Buffer
	b := progress.New(&buf, "reading", 2000, progress.Options{Mode: progress.Always, Width: 10, Now: clk.now})
	clk.advance(2 * time.Second)
	b.Add(500)
	// 500 of 2,000 = 25 %: 2 of 10 cells; rate 500/2 s = 250 rows/s; ETA 1,500/250 = 6 s.
	assert.Equal(t, "reading [==>       ]  25% 500/2.00k rows  250 rows/s  ETA 6s\x1b[K", last(buf.String()))
	clk.advance(2 * time.Second)
	b.Add(1500)
	b.Finish()
	// 2,000 in 4 s = 500 rows/s, done: the elapsed time instead of the ETA, then a newline.
	assert.Equal(t, "reading [==========] 100% 2.00k/2.00k rows  500 rows/s  in 4s\x1b[K\n", last(buf.String()))
	n := len(buf.String())
	b.Finish()
	b.Add(1)
	assert.Len(t, buf.String(), n, "nothing after Finish")
}

func TestLineWithoutTotal(t *testing.T) {
	clk := newClock()
	var buf bytes.Buffer
	b := progress.New(&buf, "scoring", 0, progress.Options{Mode: progress.Always, Unit: "customers", Now: clk.now})
	clk.advance(time.Second)
	b.Set(12345)
	assert.Equal(t, "scoring 12.3k customers  12.3k customers/s\x1b[K", last(buf.String()))
}

func TestThrottledRedraws(t *testing.T) {
	clk := newClock()
	var buf bytes.Buffer
	b := progress.New(&buf, "reading", 1000, progress.Options{Mode: progress.Always, Now: clk.now})
	for i := 0; i < 1000; i++ {
		clk.advance(time.Millisecond)
		b.Add(1)
	}
	// Draws at 1 ms (first), 201, 401, 601 and 801 ms: 5 for 1,000 Adds.
	assert.Len(t, frames(buf.String()), 5)
	b.Finish()
	assert.Len(t, frames(buf.String()), 6)
	assert.True(t, strings.HasSuffix(buf.String(), "\n"))
}

func TestShorterLineIsPadded(t *testing.T) {
	clk := newClock()
	var buf bytes.Buffer
	b := progress.New(&buf, "x", 0, progress.Options{Mode: progress.Always, Interval: time.Nanosecond, Now: clk.now})
	clk.advance(time.Second)
	b.Set(123456) // "x 123k rows  123k rows/s"
	clk.advance(999 * time.Second)
	b.Set(123456) // "x 123k rows  124 rows/s": one character shorter
	fs := frames(buf.String())
	require.Len(t, fs, 2)
	assert.Equal(t, len(fs[0]), len(fs[1]), "the old line is overwritten with spaces")
}

func TestReaderCountsBytes(t *testing.T) {
	var buf bytes.Buffer
	b := progress.New(&buf, "loading", 11, progress.Options{Mode: progress.Never, Unit: "B"})
	var out bytes.Buffer
	_, err := out.ReadFrom(b.Reader(strings.NewReader("hello world")))
	require.NoError(t, err)
	assert.EqualValues(t, 11, b.Count())
}

func TestConcurrentAdds(t *testing.T) {
	var buf bytes.Buffer
	b := progress.New(&buf, "x", 0, progress.Options{Mode: progress.Always})
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 1000; i++ {
				b.Add(1)
			}
		}()
	}
	wg.Wait()
	assert.EqualValues(t, 4000, b.Count())
}

func TestHuman(t *testing.T) {
	cases := []struct {
		x    float64
		want string
	}{
		{0, "0"}, {999, "999"}, {5.5, "5.50"}, {310.2, "310"}, {999.6, "1.00k"}, {1234, "1.23k"},
		{12345, "12.3k"}, {123456, "123k"}, {2.7e6, "2.70M"}, {3e9, "3.00G"}, {4.5e12, "4.50T"}, {7e15, "7000T"},
	}
	for _, tc := range cases {
		assert.Equal(t, tc.want, progress.Human(tc.x), "%g", tc.x)
	}
}

func ExampleBar() {
	t0 := time.Date(2024, 7, 1, 0, 0, 0, 0, time.UTC)
	now := t0
	var buf bytes.Buffer
	// Mode Always stands in for a terminal; with Auto and a pipe nothing is written.
	b := progress.New(&buf, "reading", 4000, progress.Options{Mode: progress.Always, Width: 8, Now: func() time.Time { return now }})
	now = t0.Add(time.Second)
	b.Add(1000)
	now = t0.Add(4 * time.Second)
	b.Add(3000)
	b.Finish()
	for _, f := range strings.Split(buf.String(), "\r")[1:] {
		line := strings.TrimSuffix(strings.TrimSuffix(f, "\n"), "\x1b[K")
		os.Stdout.WriteString(strings.TrimRight(line, " ") + "\n")
	}
	// Output:
	// reading [==>     ]  25% 1.00k/4.00k rows  1.00k rows/s  ETA 3s
	// reading [========] 100% 4.00k/4.00k rows  1.00k rows/s
	// reading [========] 100% 4.00k/4.00k rows  1.00k rows/s  in 4s
}

func BenchmarkAddSilent(b *testing.B) {
	var buf bytes.Buffer
	bar := progress.New(&buf, "x", 0, progress.Options{})
	for range b.N {
		bar.Add(1)
	}
}

func BenchmarkAddDrawing(b *testing.B) {
	var buf bytes.Buffer
	bar := progress.New(&buf, "x", int64(b.N), progress.Options{Mode: progress.Always})
	for range b.N {
		bar.Add(1)
	}
}
