package progress

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/mattn/go-isatty"
)

// Mode says when a Bar draws.
type Mode int

const (
	Auto   Mode = iota // draw when the writer is a terminal
	Always             // draw (tests, or a forced --progress)
	Never              // never draw
)

// IsTerminal reports whether w is an *os.File on a terminal (or a Cygwin/MSYS
// pseudo terminal).
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fd := f.Fd()
	return isatty.IsTerminal(fd) || isatty.IsCygwinTerminal(fd)
}

// Options configure a Bar.
type Options struct {
	Mode     Mode
	Unit     string           // "rows" by default
	Interval time.Duration    // minimal time between redraws; 0 = 200 ms
	Width    int              // width of the bar in characters; 0 = 24
	Now      func() time.Time // clock; nil = time.Now
}

// Bar reports the progress of one step. Its methods are safe for concurrent
// use; a nil *Bar does nothing.
type Bar struct {
	mu       sync.Mutex
	w        io.Writer
	label    string
	total    int64
	count    int64
	opt      Options
	start    time.Time
	last     time.Time
	drawn    bool
	finished bool
	lastLen  int
}

// New returns a Bar writing to w (usually os.Stderr). total ≤ 0 means
// unknown: the line then shows the count and the rate only. With Mode Auto
// the Bar is silent unless w is a terminal.
func New(w io.Writer, label string, total int64, opt Options) *Bar {
	if opt.Unit == "" {
		opt.Unit = "rows"
	}
	if opt.Interval <= 0 {
		opt.Interval = 200 * time.Millisecond
	}
	if opt.Width <= 0 {
		opt.Width = 24
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Mode == Auto {
		opt.Mode = Never
		if IsTerminal(w) {
			opt.Mode = Always
		}
	}
	now := opt.Now()
	return &Bar{w: w, label: label, total: total, opt: opt, start: now, last: now}
}

// Enabled reports whether the Bar draws.
func (b *Bar) Enabled() bool { return b != nil && b.opt.Mode == Always }

// Add adds n to the count and redraws if Interval has passed.
func (b *Bar) Add(n int64) {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.count += n
	b.maybeDraw()
}

// Set sets the count and redraws if Interval has passed.
func (b *Bar) Set(n int64) {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.count = n
	b.maybeDraw()
}

// SetTotal changes the total (e.g. once it becomes known).
func (b *Bar) SetTotal(total int64) {
	if b == nil {
		return
	}
	b.mu.Lock()
	b.total = total
	b.mu.Unlock()
}

// Count returns the count so far.
func (b *Bar) Count() int64 {
	if b == nil {
		return 0
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.count
}

// Finish draws the final line and ends it with a newline. Later calls do
// nothing.
func (b *Bar) Finish() {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.finished {
		return
	}
	b.finished = true
	if b.opt.Mode != Always {
		return
	}
	b.draw(b.opt.Now())
	io.WriteString(b.w, "\n")
}

// Reader returns r counting the bytes read into the Bar (for a Bar whose
// unit is bytes and whose total is the file size).
func (b *Bar) Reader(r io.Reader) io.Reader { return &countingReader{r, b} }

type countingReader struct {
	r io.Reader
	b *Bar
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.b.Add(int64(n))
	return n, err
}

func (b *Bar) maybeDraw() {
	if b.opt.Mode != Always || b.finished {
		return
	}
	now := b.opt.Now()
	if b.drawn && now.Sub(b.last) < b.opt.Interval {
		return
	}
	b.draw(now)
}

func (b *Bar) draw(now time.Time) {
	b.last, b.drawn = now, true
	line := b.line(now)
	pad := ""
	if n := len([]rune(line)); n < b.lastLen {
		pad = strings.Repeat(" ", b.lastLen-n)
	}
	b.lastLen = len([]rune(line))
	fmt.Fprintf(b.w, "\r%s%s\x1b[K", line, pad)
}

// line formats e.g.
// "reading [=========>          ]  45% 1.23M/2.70M rows  310k rows/s  ETA 5s".
func (b *Bar) line(now time.Time) string {
	el := now.Sub(b.start).Seconds()
	rate := 0.0
	if el > 0 {
		rate = float64(b.count) / el
	}
	var sb strings.Builder
	sb.WriteString(b.label)
	if b.total > 0 {
		frac := min(1, float64(b.count)/float64(b.total))
		fill := int(frac * float64(b.opt.Width))
		bar := strings.Repeat("=", fill)
		if fill < b.opt.Width {
			bar += ">" + strings.Repeat(" ", b.opt.Width-fill-1)
		}
		fmt.Fprintf(&sb, " [%s] %3.0f%% %s/%s %s", bar, 100*frac, Human(float64(b.count)), Human(float64(b.total)), b.opt.Unit)
	} else {
		fmt.Fprintf(&sb, " %s %s", Human(float64(b.count)), b.opt.Unit)
	}
	fmt.Fprintf(&sb, "  %s %s/s", Human(rate), b.opt.Unit)
	if b.total > 0 && b.count < b.total && rate > 0 {
		left := time.Duration(float64(b.total-b.count) / rate * float64(time.Second))
		fmt.Fprintf(&sb, "  ETA %s", left.Round(time.Second))
	} else if b.finished {
		fmt.Fprintf(&sb, "  in %s", now.Sub(b.start).Round(time.Millisecond))
	}
	return sb.String()
}

// Human formats x with three significant digits and a k, M, G or T suffix:
// 999 → "999", 1234 → "1.23k", 2.7e6 → "2.70M".
func Human(x float64) string {
	suffix := []string{"", "k", "M", "G", "T"}
	i := 0
	for x >= 999.5 && i < len(suffix)-1 {
		x /= 1000
		i++
	}
	switch {
	case i == 0 && x == float64(int64(x)):
		return fmt.Sprintf("%d", int64(x))
	case x >= 99.95:
		return fmt.Sprintf("%.0f%s", x, suffix[i])
	case x >= 9.995:
		return fmt.Sprintf("%.1f%s", x, suffix[i])
	}
	return fmt.Sprintf("%.2f%s", x, suffix[i])
}
