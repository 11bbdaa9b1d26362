package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/churnpipe/churnpipe/jobs"
	"github.com/churnpipe/churnpipe/pipeline"
)

func init() {
	extraCommands = append(extraCommands,
		command{"score", "apply a registered churn model to an exported feature table, offline (no database)", runScore})
}

func runScore(ctx context.Context, args []string, stdout io.Writer) error {
	fs, lf := newFlags("score", "score --model VERSION|ALIAS --input features.parquet --out predictions.parquet [--registry DIR]")
	model := fs.String("model", "", "registry version (e.g. v000003) or alias (champion, challenger)")
	reg := fs.String("registry", jobs.DefaultRegistry, "model registry folder")
	input := fs.String("input", "", "feature table written by churnpipe features --out (.parquet or .arrow)")
	out := fs.String("out", "", "predictions: .parquet, .arrow or .csv, with the prediction table's columns (docs/crm-contract.md)")
	asOf := fs.String("as-of", "", "the table's as-of day (default: derived from first_purchase_date + first_to_asof_days)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	log, err := lf.setup()
	if err != nil {
		return err
	}
	c := jobs.ScoreConfig{Registry: *reg, Model: *model, Input: *input, Out: *out}
	if *asOf != "" {
		if c.AsOf, err = parseDay("as-of", *asOf); err != nil {
			return err
		}
	}
	res, err := jobs.Score(ctx, c, pipeline.Options{Logger: log})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "scored %d customers as of %s with model %s → %s\n", res.Customers, res.AsOf.Format(time.DateOnly), res.Version, c.Out)
	return nil
}
