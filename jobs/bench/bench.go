package bench

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/churnpipe/churnpipe/data"
	"github.com/churnpipe/churnpipe/data/synth"
	"github.com/churnpipe/churnpipe/features"
	"github.com/churnpipe/churnpipe/jobs"
	"github.com/churnpipe/churnpipe/pipeline"
)

// ErrConfig is wrapped by every error about an invalid Config.
var ErrConfig = errors.New("bench: invalid config")

// DefaultDir is where Run writes when Config.Dir is "".
var DefaultDir = filepath.Join(os.TempDir(), "churnpipe-bench")

// Config says which tier to run and where.
type Config struct {
	// Tier is "S", "M" or "L" (see data/synth.Tier).
	Tier string
	// Dir holds the generated history (tier-<T>-seed<S>.parquet), the
	// SQLite database and the quarantine file; "" means DefaultDir.
	Dir string
	// Keep keeps the files this run generated (the history, the CSV copy,
	// the database). Without it they are removed at the end; a history that
	// was already there (cached) is never removed.
	Keep bool
	// DB is the sink DSN; "" means a fresh "sqlite:<Dir>/bench-<T>.db"
	// (removed before the run).
	DB string
	// ReadPass times a pure read pass over the history before the nightly
	// run: Result.Seconds gets "read" and "features" = read_features − read.
	ReadPass bool
	// FeaturePass loads the whole history into memory first and times
	// features.Builder alone on it (Add of every record and Finish):
	// Result.Seconds gets "features_in_memory", the figure to compare with a
	// peer's in-memory feature pass. It holds every event in memory (~2 GB
	// for tier M): not for tier L.
	FeaturePass bool
	// CSV also writes the history as tier-<T>-seed<S>.csv beside the Parquet
	// file (cached like it), for peers that cannot read Parquet.
	CSV bool
	// CPUProfile, if set, is a file that receives the CPU profile of the
	// nightly run (go tool pprof).
	CPUProfile string
	// HeapProfile, if set, is a file name prefix: at the end of every step of
	// the nightly run the live heap (after a forced GC, so the step's time
	// includes it) is written to <HeapProfile>-<step>.pprof (go tool pprof
	// -sample_index=inuse_space).
	HeapProfile string
	// Registry, if set, is a model registry whose champion churn model the
	// nightly run applies (churn probability, risk, predicted stage, top
	// reasons), as a production night does; "" scores without one.
	Registry string
	// Shards ≥ 2 runs the night sharded: the history is partitioned into
	// Shards Parquet files (pipeline.Partition, cached beside it as
	// tier-<T>-seed<S>-parts<N>), the N workers run one after another
	// (pipeline.WriteShard, each reading only its file), and the nightly run
	// measured is the finalize step. Result.Workers has each worker's figures.
	Shards int
}

// Worker is what one shard worker of a sharded benchmark measured.
type Worker struct {
	Shard      int     `json:"shard"`
	Seconds    float64 `json:"seconds"`
	PeakRSSMiB float64 `json:"peak_rss_mib"`
	Files      int     `json:"files_read"`
	Events     int64   `json:"events_read"`
	Customers  int     `json:"customers"`
}

// Result is what one benchmark run measured. It marshals to JSON.
type Result struct {
	Tier            string             `json:"tier"`
	Input           string             `json:"input"`
	InputBytes      int64              `json:"input_bytes"`
	CSV             string             `json:"csv,omitempty"`
	Generated       bool               `json:"generated"`
	GenerateSeconds float64            `json:"generate_seconds,omitempty"`
	Events          int64              `json:"events"`
	Customers       int64              `json:"customers"`
	Seconds         map[string]float64 `json:"seconds"`
	TotalSeconds    float64            `json:"total_seconds"`
	// CPUSeconds is the user+system CPU time of the process during the
	// nightly run: on a shared machine it moves less than wall time.
	CPUSeconds      float64 `json:"cpu_seconds"`
	EventsPerSecond float64 `json:"events_per_second"`
	PeakRSSBytes    int64   `json:"peak_rss_bytes"`
	PeakRSSMiB      float64 `json:"peak_rss_mib"`
	PeakRSSReset    bool    `json:"peak_rss_reset"`
	// PeakRSSMiBByStep is the peak RSS during each step of the nightly run
	// (VmHWM read and reset as each step ends; only when PeakRSSReset).
	PeakRSSMiBByStep map[string]float64 `json:"peak_rss_mib_by_step,omitempty"`
	// ModelVersion is the champion churn model the nightly run applied
	// (Config.Registry), "" for none.
	ModelVersion string `json:"model_version,omitempty"`
	// PartitionSeconds is the time the history took to partition (sharded
	// runs, when the partitions were not cached).
	PartitionSeconds float64 `json:"partition_seconds,omitempty"`
	// Workers are the shard workers of a sharded run; the other figures are
	// then those of the finalize step.
	Workers    []Worker `json:"workers,omitempty"`
	GoVersion  string   `json:"go_version"`
	GOMAXPROCS int      `json:"gomaxprocs"`
	NumCPU     int      `json:"num_cpu"`
}

// HistoryPath returns the Parquet file of a tier in dir.
func HistoryPath(dir, tier string) (string, error) {
	cfg, err := synth.Tier(tier)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrConfig, err)
	}
	return filepath.Join(dir, fmt.Sprintf("tier-%s-seed%d.parquet", tier, cfg.Seed)), nil
}

// Run generates (or reuses) the tier's history and runs the nightly job on
// it; see the package documentation for what is measured. Errors of the
// configuration wrap ErrConfig; errors of the run are those of
// pipeline.Nightly.
func Run(ctx context.Context, c Config, opt pipeline.Options) (Result, error) {
	res := Result{Tier: c.Tier, GoVersion: runtime.Version(), GOMAXPROCS: runtime.GOMAXPROCS(0), NumCPU: runtime.NumCPU()}
	tcfg, err := synth.Tier(c.Tier)
	if err != nil {
		return res, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	if c.Dir == "" {
		c.Dir = DefaultDir
	}
	if opt.Alloc == nil {
		opt.Alloc = memory.DefaultAllocator
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if err := os.MkdirAll(c.Dir, 0o755); err != nil {
		return res, err
	}
	res.Input, _ = HistoryPath(c.Dir, c.Tier)
	var generated []string
	defer func() {
		if !c.Keep {
			for _, p := range generated {
				os.RemoveAll(p)
			}
		}
	}()

	if _, err := os.Stat(res.Input); err != nil {
		t0 := time.Now()
		// jobs.Synth writes through a temporary file renamed at the end, so a
		// partial history never looks cached.
		st, err := jobs.Synth(ctx, jobs.SynthConfig{Tier: c.Tier, Out: res.Input}, opt.Alloc)
		if err != nil {
			return res, err
		}
		res.Generated, res.GenerateSeconds = true, time.Since(t0).Seconds()
		generated = append(generated, res.Input)
		opt.Logger.Info("history generated", "path", res.Input, "events", st.Events, "seconds", res.GenerateSeconds)
	}
	if fi, err := os.Stat(res.Input); err == nil {
		res.InputBytes = fi.Size()
	}
	if c.CSV {
		res.CSV = strings.TrimSuffix(res.Input, ".parquet") + ".csv"
		if _, err := os.Stat(res.CSV); err != nil {
			if err := convert(res.Input, res.CSV, opt.Alloc); err != nil {
				return res, err
			}
			generated = append(generated, res.CSV)
		}
	}

	var readSec float64
	if c.ReadPass {
		freeMemory()
		t0 := time.Now()
		if _, err := readAll(ctx, res.Input, opt.Alloc); err != nil {
			return res, err
		}
		readSec = time.Since(t0).Seconds()
	}

	var featSec float64
	if c.FeaturePass {
		freeMemory()
		if featSec, err = featurePass(ctx, res.Input, tcfg.End, opt.Alloc); err != nil {
			return res, err
		}
	}

	db := c.DB
	if db == "" {
		p := filepath.Join(c.Dir, "bench-"+c.Tier+".db")
		for _, s := range []string{"", "-wal", "-shm"} {
			os.Remove(p + s)
		}
		db = "sqlite:" + p
		generated = append(generated, p, p+"-wal", p+"-shm", p+".lock")
	}
	ncfg := pipeline.NightlyConfig{
		Input:    pipeline.Input{Path: res.Input, MaxReject: 0.01, Quarantine: filepath.Join(c.Dir, "quarantine-"+c.Tier+".csv")},
		AsOf:     tcfg.End,
		DB:       db,
		Registry: c.Registry,
	}
	if c.Shards > 1 {
		dir, err := runWorkers(ctx, c, &res, ncfg.Input, tcfg.End, opt, &generated)
		if err != nil {
			return res, err
		}
		ncfg.Input, ncfg.FromShards, ncfg.Shards = pipeline.Input{}, dir, c.Shards
	}
	freeMemory()
	res.PeakRSSReset = resetPeakRSS()
	var stepPeak int64 // the highest per-step peak (each step resets VmHWM)
	if res.PeakRSSReset {
		res.PeakRSSMiBByStep = map[string]float64{}
		onStep := opt.OnStep
		opt.OnStep = func(step string) {
			hwm := peakRSS()
			stepPeak = max(stepPeak, hwm)
			res.PeakRSSMiBByStep[step] = float64(hwm) / (1 << 20)
			resetPeakRSS()
			if onStep != nil {
				onStep(step)
			}
		}
	}
	if c.HeapProfile != "" {
		onStep := opt.OnStep
		opt.OnStep = func(step string) {
			if onStep != nil {
				onStep(step) // the step's peak RSS first
			}
			writeHeapProfile(c.HeapProfile+"-"+step+".pprof", opt.Logger)
		}
	}
	if c.CPUProfile != "" {
		f, err := os.Create(c.CPUProfile)
		if err != nil {
			return res, err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return res, err
		}
	}
	t0, cpu0 := time.Now(), cpuSeconds()
	nr, err := pipeline.Nightly(ctx, ncfg, opt)
	res.TotalSeconds = time.Since(t0).Seconds()
	res.CPUSeconds = cpuSeconds() - cpu0
	if c.CPUProfile != "" {
		pprof.StopCPUProfile()
	}
	res.PeakRSSBytes = max(peakRSS(), stepPeak)
	res.PeakRSSMiB = float64(res.PeakRSSBytes) / (1 << 20)
	res.Seconds = map[string]float64{}
	for k, v := range nr.Seconds {
		res.Seconds[k] = v
	}
	if c.ReadPass {
		res.Seconds["read"] = readSec
		res.Seconds["features"] = max(0, res.Seconds["read_features"]-readSec)
	}
	if c.FeaturePass {
		res.Seconds["features_in_memory"] = featSec
	}
	res.Events, res.Customers = nr.Ingest.RowsRead, int64(nr.Ingest.Customers)
	res.ModelVersion, _ = nr.Run.Details["model_version"].(string)
	busy := res.TotalSeconds // workers one after another, then the finalize step
	for _, w := range res.Workers {
		busy += w.Seconds
	}
	if busy > 0 {
		res.EventsPerSecond = float64(res.Events) / busy
	}
	return res, err
}

// runWorkers partitions the history (or reuses its partitions) and runs
// the c.Shards workers of a sharded night one after another, each with the
// peak RSS reset, and returns the folder of their feature tables.
func runWorkers(ctx context.Context, c Config, res *Result, in pipeline.Input, asOf time.Time, opt pipeline.Options, generated *[]string) (string, error) {
	parts := strings.TrimSuffix(res.Input, ".parquet") + fmt.Sprintf("-parts%d", c.Shards)
	if _, err := os.Stat(parts); err != nil {
		t0 := time.Now()
		if _, err := pipeline.Partition(ctx, in, c.Shards, parts, opt); err != nil {
			return "", err
		}
		res.PartitionSeconds = time.Since(t0).Seconds()
		*generated = append(*generated, parts)
	}
	dir := filepath.Join(c.Dir, "shards-"+c.Tier)
	if err := os.RemoveAll(dir); err != nil {
		return "", err
	}
	*generated = append(*generated, dir)
	for i := 0; i < c.Shards; i++ {
		freeMemory()
		resetPeakRSS()
		win := in
		win.Path, win.Shard, win.Shards = parts, i, c.Shards
		t0 := time.Now()
		st, _, err := pipeline.WriteShard(ctx, win, asOf, dir, opt)
		if err != nil {
			return "", fmt.Errorf("shard %d of %d: %w", i, c.Shards, err)
		}
		res.Workers = append(res.Workers, Worker{Shard: i, Seconds: time.Since(t0).Seconds(),
			PeakRSSMiB: float64(peakRSS()) / (1 << 20), Files: st.Files, Events: st.RowsRead, Customers: st.Customers})
	}
	return dir, nil
}

// convert copies the canonical history at src to dst (format by extension).
func convert(src, dst string, mem memory.Allocator) error {
	r, err := data.Open(src, data.Options{Alloc: mem})
	if err != nil {
		return err
	}
	defer r.Release()
	w, err := data.CreateFile(dst, data.EventSchema, data.WriteOptions{Alloc: mem})
	if err != nil {
		return err
	}
	defer w.Abort()
	for r.Next() {
		if err := w.Write(r.Record()); err != nil {
			return err
		}
	}
	if err := r.Err(); err != nil {
		return err
	}
	return w.Close()
}

// readAll reads every record of path and returns the number of rows.
func readAll(ctx context.Context, path string, mem memory.Allocator) (int64, error) {
	r, err := data.Open(path, data.Options{Alloc: mem})
	if err != nil {
		return 0, err
	}
	defer r.Release()
	var n int64
	for r.Next() {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		n += r.Record().NumRows()
	}
	return n, r.Err()
}

// cpuSeconds returns the user+system CPU time of the process so far.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// featurePass reads every record of path into memory, then times a
// features.Builder (default options) over them and Finish.
func featurePass(ctx context.Context, path string, asOf time.Time, mem memory.Allocator) (float64, error) {
	r, err := data.Open(path, data.Options{Alloc: mem})
	if err != nil {
		return 0, err
	}
	var recs []arrow.RecordBatch
	defer func() {
		for _, rec := range recs {
			rec.Release()
		}
	}()
	for r.Next() {
		rec := r.Record()
		rec.Retain()
		recs = append(recs, rec)
	}
	err = r.Err()
	r.Release()
	if err != nil {
		return 0, err
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	t0 := time.Now()
	b := features.NewBuilder(asOf)
	for _, rec := range recs {
		if err := b.Add(rec); err != nil {
			return 0, err
		}
	}
	b.Finish(mem).Release()
	return time.Since(t0).Seconds(), nil
}

func freeMemory() {
	runtime.GC()
	debug.FreeOSMemory()
}

// resetPeakRSS resets the VmHWM of this process (Linux ≥ 4.0) and reports
// whether it could.
func resetPeakRSS() bool {
	return os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
}

// peakRSS returns VmHWM from /proc/self/status in bytes, 0 when unknown.
func peakRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	return parseVmHWM(b)
}

// parseVmHWM returns the "VmHWM:   123 kB" value of a /proc/PID/status text
// in bytes, 0 when absent.
func parseVmHWM(status []byte) int64 {
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		v, ok := strings.CutPrefix(sc.Text(), "VmHWM:")
		if !ok {
			continue
		}
		f := strings.Fields(v)
		if len(f) != 2 || f[1] != "kB" {
			return 0
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0
		}
		return kb << 10
	}
	return 0
}

// writeHeapProfile writes the live heap to path after a GC; a failure is
// logged, not returned (a profile is a diagnostic, not the benchmark).
func writeHeapProfile(path string, log *slog.Logger) {
	runtime.GC()
	f, err := os.Create(path)
	if err == nil {
		err = pprof.Lookup("heap").WriteTo(f, 0)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil && log != nil {
		log.Warn("heap profile not written", "path", path, "err", err)
	}
}
