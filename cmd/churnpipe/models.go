package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/churnpipe/churnpipe/jobs"
	"github.com/churnpipe/churnpipe/models/cancel"
	"github.com/churnpipe/churnpipe/models/registry"
	"github.com/churnpipe/churnpipe/pipeline"
)

func init() {
	extraCommands = append(extraCommands,
		command{"models", "list, show and promote registered churn models (champion / challenger)", runModels})
}

const modelsUsage = `Usage:
  churnpipe models list    [--registry DIR]   (kind none: a cancel-only version, no buyer model)
  churnpipe models show    VERSION|ALIAS [--registry DIR]
  churnpipe models promote VERSION|ALIAS [--registry DIR] [--reason TEXT] [--force]

promote applies the rule: the candidate replaces the champion only if its AUC on the same test
snapshot is at most 0.005 below the champion's and its ECE is ≤ 0.05; --force overrides (recorded).
Whenever both versions hold a subscribers' cancel model, the cancel models must pass the same rule, both
scored on the candidate's saved cancel test rows (mean AUC over its test snapshots, ECE on the newest).
A cancel-only version (kind none) never replaces a champion with a buyer model, a version without a
cancel model never replaces a champion with one, and a buyer model replacing a cancel-only champion is
judged alone (ECE ≤ 0.05) (README, Subscriptions; docs/model-format.md).
`

func runModels(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(stdout, modelsUsage)
		if len(args) == 0 {
			return &jobs.UsageError{Err: fmt.Errorf("models: want list, show or promote")}
		}
		return nil
	}
	sub := args[0]
	fs, lf := newFlags("models "+sub, "models "+sub+" [flags]")
	dir := fs.String("registry", jobs.DefaultRegistry, "model registry folder")
	reason := fs.String("reason", "manual promotion", "why (recorded in the alias history)")
	force := fs.Bool("force", false, "promote even if the rule says no (recorded as forced)")
	// The version comes first: models show v000001 --registry DIR.
	var ref string
	rest := args[1:]
	if len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
		ref, rest = rest[0], rest[1:]
	}
	if err := parseFlags(fs, rest); err != nil {
		return err
	}
	if _, err := lf.setup(); err != nil {
		return err
	}
	if _, err := os.Stat(*dir); err != nil {
		return fmt.Errorf("%w: registry %s: %w (train a model first: churnpipe train --registry %s)", pipeline.ErrRegistry, *dir, err, *dir)
	}
	reg, err := registry.Open(*dir)
	if err != nil {
		return err
	}
	switch sub {
	case "list":
		return listModels(reg, stdout)
	case "show":
		if ref == "" {
			return &jobs.UsageError{Err: fmt.Errorf("models show: which version or alias?")}
		}
		return showModel(reg, ref, stdout)
	case "promote":
		if ref == "" {
			return &jobs.UsageError{Err: fmt.Errorf("models promote: which version or alias?")}
		}
		d, err := reg.Promote(ref, *reason, registry.Rule{MaxAUCDrop: 0.005, MaxECE: 0.05}, *force)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "promote %s: %v — %s (forced %v)\n", ref, d.Promote, d.Reason, d.Forced)
		if !d.Promote {
			return fmt.Errorf("%w: %s", jobs.ErrNotPromoted, d.Reason)
		}
		return nil
	}
	return &jobs.UsageError{Err: fmt.Errorf("models: unknown subcommand %q (want list, show or promote)", sub)}
}

func listModels(reg *registry.Registry, w io.Writer) error {
	entries, err := reg.List()
	if err != nil {
		return err
	}
	aliases, _, err := reg.Aliases()
	if err != nil {
		return err
	}
	byVersion := map[string][]string{}
	for a, v := range aliases {
		byVersion[v] = append(byVersion[v], a)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "VERSION\tKIND\tCREATED\tTEST SNAPSHOT\tN\tAUC\tECE\tALIASES")
	for _, e := range entries {
		as := byVersion[e.Version]
		sort.Strings(as)
		if e.Kind == registry.KindNone { // no buyer model: no buyer figures
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.Version, e.Kind, e.CreatedAt.UTC().Format(time.DateTime),
				"-", "-", "-", "-", strings.Join(as, ","))
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%.4f\t%.4f\t%s\n", e.Version, e.Kind, e.CreatedAt.UTC().Format(time.DateTime),
			e.Metrics.TestSnapshot, e.Metrics.N, e.Metrics.AUC, e.Metrics.ECE, strings.Join(as, ","))
	}
	return tw.Flush()
}

func showModel(reg *registry.Registry, ref string, w io.Writer) error {
	a, err := reg.Load(ref)
	if err != nil {
		return err
	}
	_, history, err := reg.Aliases()
	if err != nil {
		return err
	}
	var hist []registry.AliasEvent
	for _, h := range history {
		if h.Version == a.Version || h.Previous == a.Version {
			hist = append(hist, h)
		}
	}
	out := map[string]any{
		"version": a.Version, "kind": a.Kind, "created_at": a.CreatedAt, "schema_hash": a.SchemaHash,
		"features": a.FeatureNames, "train_window": a.TrainWindow, "metrics": a.Metrics, "alias_history": hist,
	}
	if !a.HasBuyerModel() {
		out["buyer_model"] = "none: the version holds only the subscribers' cancel model (trained on a history with too few one-off buyers)"
		delete(out, "metrics")
	}
	if len(a.CancelModel) > 0 {
		var cm cancel.Model
		if err := json.Unmarshal(a.CancelModel, &cm); err != nil {
			return fmt.Errorf("%s: cancel model: %w", a.Version, err)
		}
		out["cancel_model"] = map[string]any{"kind": cm.Kind, "horizon_days": cm.HorizonDays, "features": cm.Features, "report": cm.Report}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

func init() {
	extraCommands = append(extraCommands,
		command{"report", "write the HTML report (ROC, PR, gains, calibration, importance, stage confusion) of a model", runReport})
}

func runReport(ctx context.Context, args []string, stdout io.Writer) error {
	fs, lf := newFlags("report", "report --model VERSION|champion --out DIR [--registry DIR]")
	dir := fs.String("registry", jobs.DefaultRegistry, "model registry folder")
	model := fs.String("model", "champion", "model version (v000003) or alias (champion, challenger)")
	out := fs.String("out", "", "output folder for index.html and the PNG plots")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if _, err := lf.setup(); err != nil {
		return err
	}
	rep, err := jobs.ChurnReport(*dir, *model, *out)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %d files to %s; open %s/index.html in a browser\n", len(rep.Files), rep.Dir, rep.Dir)
	return nil
}
