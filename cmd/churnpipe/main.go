// Command churnpipe scores customers for churn and lifetime value every
// night and writes a prediction table that a CRM reads.
//
// Run `churnpipe help` for the commands and `churnpipe COMMAND -h` for the
// flags of one. Exit codes are documented in the README and in package jobs.
package main

import (
	_ "time/tzdata" // time zones work in minimal container images

	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/churnpipe/churnpipe/data"
	"github.com/churnpipe/churnpipe/internal/memlimit"
	"github.com/churnpipe/churnpipe/jobs"
	"github.com/churnpipe/churnpipe/jobs/config"
	"github.com/churnpipe/churnpipe/pipeline"
)

type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdout io.Writer) error
}

// allCommands lists the commands; files of this package add theirs to
// extraCommands in their init functions.
func allCommands() []command {
	return append([]command{
		{"nightly", "score every customer at an as-of day and publish the prediction table", runNightly},
		{"features", "export the per-customer feature table at an as-of day (Parquet/Arrow/CSV)", runFeatures},
		{"synth", "write a realistic synthetic interaction history", runSynth},
		{"partition", "rewrite a history as Parquet files partitioned by customer, for sharded nights", runPartition},
		{"demo", "generate 5,000 sample customers, run the nightly job, print stage × segment", runDemo},
	}, extraCommands...)
}

// extraCommands are registered by other files of this package (clv, train…).
var extraCommands []command

const usageHead = `churnpipe — nightly churn and customer-lifetime-value scoring

Usage:
  churnpipe COMMAND [flags]

Commands:
`

const usageTail = `
Run "churnpipe COMMAND -h" for the flags of a command.
Quick start: churnpipe demo --dir demo

Exit codes: 0 ok · 1 internal error · 2 usage/config · 3 input rejected ·
4 quality gate blocked · 5 database unavailable · 6 another run holds the lock · 10 retrain recommended (retrain --check)
`

func usage(w io.Writer) {
	fmt.Fprint(w, usageHead)
	cs := allCommands()
	sort.Slice(cs, func(i, j int) bool { return cs[i].name < cs[j].name })
	for _, c := range cs {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprint(w, usageTail)
}

func main() {
	// In a container without GOMEMLIMIT, keep the Go heap under 90 % of the
	// container's memory limit (see internal/memlimit).
	cgroupMemLimit, _ = memlimit.Apply("/sys/fs/cgroup")
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// cgroupMemLimit is the runtime memory limit main set from the cgroup, 0 if none.
var cgroupMemLimit int64

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stdout)
		if len(args) == 0 {
			return jobs.ExitUsage
		}
		return jobs.ExitOK
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	for _, c := range allCommands() {
		if c.name == args[0] {
			err := c.run(ctx, args[1:], stdout)
			if errors.Is(err, flag.ErrHelp) {
				return jobs.ExitOK
			}
			if err != nil {
				slog.Error(c.name+" failed", "err", err, "exit_code", jobs.ExitCode(err))
				fmt.Fprintf(stderr, "churnpipe %s: %v\n", c.name, err)
			}
			return jobs.ExitCode(err)
		}
	}
	fmt.Fprintf(stderr, "churnpipe: unknown command %q\n\n", args[0])
	usage(stderr)
	return jobs.ExitUsage
}

// newFlags returns a FlagSet for a command with the logging flags.
func newFlags(name, synopsis string) (*flag.FlagSet, *logFlags) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	lf := &logFlags{}
	fs.StringVar(&lf.format, "log-format", "text", "log format on stderr: text (for people) or json (for log collectors)")
	fs.StringVar(&lf.level, "log-level", "info", "log level: debug, info, warn, error")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: churnpipe %s\n\n", synopsis)
		fs.PrintDefaults()
		if ex, ok := examples[name]; ok {
			fmt.Fprintf(fs.Output(), "\nExamples:\n%s", ex)
		}
		fmt.Fprint(fs.Output(), "\nExit codes: 0 ok · 1 internal error · 2 usage/config · 3 input rejected · "+
			"4 quality gate blocked · 5 database unavailable · 6 another run holds the lock · 10 retrain recommended (retrain --check)\n")
	}
	return fs, lf
}

// examples are shown at the end of a command's -h.
var examples = map[string]string{
	"nightly": `  churnpipe nightly --config /etc/churnpipe/churnpipe.yaml          # the scheduler's line: yesterday, in the configured zone
  churnpipe nightly --input events/ --as-of 2025-12-31 --db sqlite:predictions.db
  churnpipe nightly --input orders.csv --map customer_id=CustomerID,event_time=InvoiceDate,amount=Revenue \
      --time-layout "2006-01-02 15:04:05" --db postgres://crm@db/crm --dry-run
  churnpipe nightly --input postgres://crm@db/crm --input-table crm.events --db postgres://crm@db/crm
`,
	"train": `  churnpipe train --input events.parquet --horizon 90d --json     # trains, evaluates on the latest finished horizon, registers
  churnpipe report --model champion --out report/                  # then look at report/index.html
`,
	"features": `  churnpipe features --input events.parquet --as-of 2025-12-31 --out features.parquet
  churnpipe features --input events.parquet --as-of 2025-12-31 --label-horizon 90d --out snapshots.parquet   # for notebooks
`,
	"partition": `  churnpipe partition --input events/ --partitions 8 --out /shared/events-by-customer
  churnpipe nightly --input /shared/events-by-customer --shard 3/4 --shard-dir /shared/shards --as-of 2025-12-31   # reads files 3 and 7
`,
	"clv fit": `  churnpipe clv fit --input cdnow.csv --model paretonbd --calibration-end 1997-09-30 --time-unit week --json
`,
}

type logFlags struct{ format, level string }

// setup installs the process logger; logs go to stderr.
func (lf *logFlags) setup() (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(lf.level)); err != nil {
		return nil, &jobs.UsageError{Err: fmt.Errorf("--log-level %q: %w", lf.level, err)}
	}
	o := &slog.HandlerOptions{Level: lvl}
	var h slog.Handler
	switch lf.format {
	case "json":
		h = slog.NewJSONHandler(os.Stderr, o)
	case "text", "":
		h = slog.NewTextHandler(os.Stderr, o)
	default:
		return nil, &jobs.UsageError{Err: fmt.Errorf("--log-format %q: want text or json", lf.format)}
	}
	l := slog.New(h)
	slog.SetDefault(l)
	if cgroupMemLimit > 0 {
		l.Debug("memory limit set from the cgroup", "bytes", cgroupMemLimit)
	}
	return l, nil
}

// inputFlags are the flags that say how to read the interaction history.
type inputFlags struct {
	path, format, delimiter, mapping, timeLayout, quarantine string
	table, sql                                               string
	noHeader, whitespace                                     bool
	maxReject                                                float64
}

func (f *inputFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.path, "input", "", "interaction history: a CSV, Parquet or Arrow IPC file, a folder of them, or postgres://user@host/db")
	fs.StringVar(&f.table, "input-table", "", "with a postgres:// --input: the table of events to read (streamed)")
	fs.StringVar(&f.sql, "input-sql", "", `with a postgres:// --input: a query instead, e.g. "SELECT id AS customer_id, ts AS event_time, kind AS event_type, total AS amount FROM crm.orders"`)
	fs.StringVar(&f.format, "format", "", "input format: csv, parquet or arrow (default: from the file extension)")
	fs.StringVar(&f.delimiter, "delimiter", ",", `CSV field delimiter (one character, or "tab", or "whitespace" for runs of spaces)`)
	fs.BoolVar(&f.noHeader, "no-header", false, "CSV has no header row; --map then names 1-based column numbers")
	fs.StringVar(&f.mapping, "map", "", "column mapping canonical=source, e.g. customer_id=CustomerID,event_time=InvoiceDate,amount=Revenue")
	fs.StringVar(&f.timeLayout, "time-layout", "", "Go time layout of event_time, e.g. 2006-01-02 15:04:05 (default: RFC 3339 or YYYY-MM-DD)")
	fs.Float64Var(&f.maxReject, "max-reject", 0.01, "fail before publishing when more than this fraction of rows is rejected")
	fs.StringVar(&f.quarantine, "quarantine", "", "CSV file for rejected rows (default: quarantine/<as-of>-<run>.csv beside the database)")
}

// loadConfig reads --config (or starts from the defaults), lets the logging
// and input flags given on the command line win, and sets up the logger.
// It returns the configuration and the names of the flags that were set.
func loadConfig(fs *flag.FlagSet, lf *logFlags, path string, in *inputFlags) (config.Config, map[string]bool, *slog.Logger, error) {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	c := config.Default()
	c.Registry = jobs.DefaultRegistry
	if path != "" {
		var err error
		if c, err = config.Load(path); err != nil {
			return c, set, nil, &jobs.UsageError{Err: err}
		}
		if !set["log-format"] {
			lf.format = c.Log.Format
		}
		if !set["log-level"] {
			lf.level = c.Log.Level
		}
	}
	log, err := lf.setup()
	if err != nil {
		return c, set, nil, err
	}
	return c, set, log, in.applyTo(set, &c.Input)
}

// applyTo copies the input flags given on the command line into a
// configuration's input section.
func (f *inputFlags) applyTo(set map[string]bool, c *config.Input) error {
	for name, apply := range map[string]func(){
		"input": func() { c.Path = f.path }, "format": func() { c.Format = f.format },
		"delimiter": func() { c.Delimiter = f.delimiter }, "no-header": func() { c.NoHeader = f.noHeader },
		"time-layout": func() { c.TimeLayout = f.timeLayout }, "max-reject": func() { c.MaxReject = f.maxReject },
		"quarantine":  func() { c.Quarantine = f.quarantine },
		"input-table": func() { c.Table = f.table }, "input-sql": func() { c.SQL = f.sql },
	} {
		if set[name] {
			apply()
		}
	}
	if set["map"] {
		m, err := data.ParseMap(f.mapping)
		if err != nil {
			return &jobs.UsageError{Err: fmt.Errorf("--map: %w", err)}
		}
		c.Map = m
	}
	return nil
}

func (f *inputFlags) input() (pipeline.Input, error) {
	in := pipeline.Input{Path: f.path, Table: f.table, SQL: f.sql, Quarantine: f.quarantine, MaxReject: f.maxReject}
	in.Read = data.Options{Format: f.format, NoHeader: f.noHeader, TimeLayout: f.timeLayout}
	switch f.delimiter {
	case "whitespace":
		in.Read.Whitespace = true
	case "tab", `\t`:
		in.Read.Delimiter = '\t'
	default:
		r := []rune(f.delimiter)
		if len(r) != 1 {
			return in, &jobs.UsageError{Err: fmt.Errorf("--delimiter %q: want one character, tab or whitespace", f.delimiter)}
		}
		in.Read.Delimiter = r[0]
	}
	if f.mapping != "" {
		m, err := data.ParseMap(f.mapping)
		if err != nil {
			return in, &jobs.UsageError{Err: fmt.Errorf("--map: %w", err)}
		}
		in.Read.Map = m
	}
	return in, nil
}

// parseDay parses a YYYY-MM-DD flag value as a UTC day.
func parseDay(flagName, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return t, &jobs.UsageError{Err: fmt.Errorf("--%s %q: want a day like 2024-06-30", flagName, s)}
	}
	return t, nil
}

func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return &jobs.UsageError{Err: err}
	}
	if fs.NArg() > 0 {
		return &jobs.UsageError{Err: fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))}
	}
	return nil
}
