package jobs

import (
	"context"
	"fmt"

	"github.com/churnpipe/churnpipe/pipeline"
)

// PartitionConfig describes a partitioning of the interaction history.
type PartitionConfig struct {
	Input      pipeline.Input
	Partitions int    // number of Parquet files, 1 … 99999; a multiple of the shard count
	Out        string // folder to write part-00000-of-NNNNN.parquet … into (created; must hold no partition files)
}

// Partition rewrites the history as Partitions Parquet files partitioned by
// customer, so that the workers of a sharded night read only their own
// files (see pipeline.Partition).
func Partition(ctx context.Context, c PartitionConfig, opt pipeline.Options) (pipeline.PartitionStats, error) {
	if c.Input.Path == "" || c.Out == "" {
		return pipeline.PartitionStats{}, &UsageError{fmt.Errorf("partition needs --input and --out")}
	}
	if c.Partitions < 1 || c.Partitions > 99999 {
		return pipeline.PartitionStats{}, &UsageError{fmt.Errorf("--partitions %d: want 1 … 99999 (a multiple of the shard count)", c.Partitions)}
	}
	return pipeline.Partition(ctx, c.Input, c.Partitions, c.Out, opt)
}
