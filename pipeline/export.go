package pipeline

import (
	"context"
	"fmt"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/churnpipe/churnpipe/models/churn"
)

// LabelledSnapshots builds the training, validation and test snapshots that
// Train would use and returns them as one Arrow record per snapshot (caller
// releases): customer_id, snapshot, split ("train" | "validation" | "test"),
// fold (the rolling origin, 0 = newest; a snapshot appears once per fold that uses it),
// churn (1 = no purchase within the horizon), stage_now, stage_at_horizon,
// then every model feature (float64; null where missing). For notebooks.
func LabelledSnapshots(ctx context.Context, h *History, cfg TrainConfig, opt Options) ([]arrow.RecordBatch, error) {
	cfg = cfg.withDefaults()
	opt = opt.withDefaults()
	type job struct {
		day   time.Time
		split string
		fold  int32
	}
	var todo []job
	for k, fd := range cfg.folds(h.First) {
		if fd.Val.Before(h.First) {
			break
		}
		n := 0
		for _, d := range fd.Train {
			if !d.Before(h.First) {
				todo = append(todo, job{d, "train", int32(k)})
				n++
			}
		}
		if n == 0 {
			break
		}
		todo = append(todo, job{fd.Val, "validation", int32(k)}, job{fd.Test, "test", int32(k)})
	}
	names := churn.FeatureNames(ExtraNames)
	codes := StageCodes()
	var out []arrow.RecordBatch
	release := func() {
		for _, r := range out {
			r.Release()
		}
	}
	for _, j := range todo {
		if err := ctx.Err(); err != nil {
			release()
			return nil, err
		}
		now, err := h.FeaturesAt(j.day, opt)
		if err != nil {
			release()
			return nil, fmt.Errorf("snapshot %s: %w", j.day.Format(time.DateOnly), err)
		}
		later, err := h.FeaturesAt(j.day.AddDate(0, 0, cfg.HorizonDays), opt)
		if err != nil {
			now.Release()
			release()
			return nil, err
		}
		s, err := labelSnapshot(j.day, now, later, cfg.HorizonDays, opt.Rules)
		now.Release()
		later.Release()
		if err != nil {
			release()
			return nil, fmt.Errorf("snapshot %s: %w", j.day.Format(time.DateOnly), err)
		}
		day := int32(j.day.Unix() / 86400)
		split, fold := j.split, j.fold
		cols := []column{
			strCol("customer_id", func(i int) string { return s.IDs[i] }),
			{arrow.Field{Name: "snapshot", Type: arrow.FixedWidthTypes.Date32}, func(b array.Builder, i int) {
				b.(*array.Date32Builder).Append(arrow.Date32(day))
			}},
			strCol("split", func(int) string { return split }),
			i32Col("fold", func(int) bool { return true }, func(int) int32 { return fold }),
			i32Col("churn", func(int) bool { return true }, func(i int) int32 { return int32(s.Churn[i]) }),
			strCol("stage_now", func(i int) string { return codes[int(s.StageNow[i])] }),
			strCol("stage_at_horizon", func(i int) string { return codes[int(s.Stage[i])] }),
		}
		for k, name := range names {
			k := k
			cols = append(cols, f64Col(name, func(i int) float64 { return s.X.At(i, k) }))
		}
		out = append(out, buildRecord(opt.Alloc, s.Rows(), cols))
	}
	return out, nil
}
