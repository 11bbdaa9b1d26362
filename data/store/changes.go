package store

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"
)

// PreviousRow is what the previous published night said about a customer.
type PreviousRow struct {
	Stage      string
	StageSince time.Time // zero when the night predates migration 7
	ChurnRisk  string    // "" when unknown (no churn model that night)
	ValueTier  string
}

// PreviousNight is the newest history night before a day.
type PreviousNight struct {
	AsOf time.Time // zero when there is none
	Rows map[string]PreviousRow
}

// Alert is one row of customer_alerts: a customer who entered a warning
// state on the night (see docs/crm-contract.md for the alert codes).
type Alert struct {
	CustomerID, Alert   string
	LabelEN, LabelZH    string
	Stage, PrevStage    string
	StageSince          time.Time
	ChurnRisk, PrevRisk string
	ChurnProbability    float64 // NaN = NULL
	ValueTier, Segment  string
	Action              string
	TopReasons          string // JSON array as in the prediction table; "" = NULL
}

// PreviousNight returns the rows of the newest history night strictly
// before asOf (so a rerun of a night compares with the same night as the
// first run did). Stage, risk and tier strings are interned.
func (s *store) PreviousNight(ctx context.Context, asOf time.Time) (PreviousNight, error) {
	var out PreviousNight
	hist := s.d.tbl(s.hist())
	var prev any
	if err := s.eng.pool().queryRow(ctx, fmt.Sprintf("SELECT max(as_of) FROM %s WHERE as_of < %s", hist, s.d.dateP()),
		s.d.dateArg(asOf)).Scan(&prev); err != nil {
		return out, fmt.Errorf("store: previous night: %w", err)
	}
	if prev == nil {
		return out, nil
	}
	t, err := asTime(prev)
	if err != nil {
		return out, fmt.Errorf("store: previous night: %w", err)
	}
	out.AsOf = day(t)
	out.Rows = map[string]PreviousRow{}
	intern := map[string]string{}
	in := func(v any) string {
		x := asString(v)
		if y, ok := intern[x]; ok {
			return y
		}
		intern[x] = x
		return x
	}
	var id, stage, since, risk, tier any
	q := fmt.Sprintf("SELECT customer_id, lifecycle_stage, stage_since, churn_risk, value_tier FROM %s WHERE as_of = %s",
		hist, s.d.dateP())
	err = s.queryEach(ctx, q, []any{s.d.dateArg(out.AsOf)}, []any{&id, &stage, &since, &risk, &tier}, func() error {
		st, err := asTime(since)
		if err != nil {
			return err
		}
		out.Rows[asString(id)] = PreviousRow{Stage: in(stage), StageSince: st, ChurnRisk: in(risk), ValueTier: in(tier)}
		return nil
	})
	if err != nil {
		return PreviousNight{}, fmt.Errorf("store: previous night %s: %w", out.AsOf.Format(time.DateOnly), err)
	}
	return out, nil
}

// queryEach runs q and calls row after scanning each result row into dest.
func (s *store) queryEach(ctx context.Context, q string, args, dest []any, row func() error) error {
	type rows interface {
		Next() bool
		Scan(...any) error
		Err() error
	}
	var rs rows
	var closeRows func()
	switch e := s.eng.(type) {
	case *pgEngine:
		r, err := e.pp.Query(ctx, rebind(q), args...)
		if err != nil {
			return err
		}
		rs, closeRows = r, r.Close
	case *sqliteEngine:
		r, err := e.db.QueryContext(ctx, q, args...)
		if err != nil {
			return err
		}
		rs, closeRows = r, func() { r.Close() }
	case *myEngine:
		r, err := e.db.QueryContext(ctx, myQuote(q), args...)
		if err != nil {
			return err
		}
		rs, closeRows = r, func() { r.Close() }
	default:
		return fmt.Errorf("store: no row reader for %T", s.eng)
	}
	defer closeRows()
	for rs.Next() {
		if err := rs.Scan(dest...); err != nil {
			return err
		}
		if err := row(); err != nil {
			return err
		}
	}
	return rs.Err()
}

// alertCols are the customer_alerts columns the swap writes, in order.
var alertCols = []string{"target_table", "as_of", "customer_id", "alert", "label_en", "label_zh", "lifecycle_stage",
	"previous_stage", "stage_since", "churn_risk", "previous_churn_risk", "churn_probability", "value_tier", "segment",
	"action", "top_reasons", "run_id"}

// alertBatch rows go into one INSERT (17 parameters each: 3,400 per
// statement, under every engine's limit).
const alertBatch = 200

// writeAlerts replaces the night's rows of customer_alerts inside the
// publish transaction. hasTable is false on a database without the table
// (Publish refuses alerts then).
func (s *store) writeAlerts(ctx context.Context, q querier, p Publication) error {
	asOf := s.d.dateArg(p.AsOf)
	if _, err := q.exec(ctx, fmt.Sprintf("DELETE FROM %s WHERE target_table = ? AND as_of = %s", s.d.tbl(tAlerts), s.d.dateP()),
		s.table, asOf); err != nil {
		return fmt.Errorf("clear alerts: %w", err)
	}
	ph := make([]string, len(alertCols))
	for i, c := range alertCols {
		switch c {
		case "as_of", "stage_since":
			ph[i] = s.d.dateP()
		default:
			ph[i] = "?"
		}
	}
	tuple := "(" + strings.Join(ph, ", ") + ")"
	head := fmt.Sprintf("INSERT INTO %s (%s) VALUES ", s.d.tbl(tAlerts), strings.Join(alertCols, ", "))
	for lo := 0; lo < len(p.Alerts); lo += alertBatch {
		hi := min(lo+alertBatch, len(p.Alerts))
		var b strings.Builder
		b.WriteString(head)
		args := make([]any, 0, (hi-lo)*len(alertCols))
		for k, a := range p.Alerts[lo:hi] {
			if k > 0 {
				b.WriteString(", ")
			}
			b.WriteString(tuple)
			var since, prob any
			if !a.StageSince.IsZero() {
				since = s.d.dateArg(a.StageSince)
			}
			if !math.IsNaN(a.ChurnProbability) && !math.IsInf(a.ChurnProbability, 0) {
				prob = a.ChurnProbability
			}
			args = append(args, s.table, asOf, a.CustomerID, a.Alert, nullString(a.LabelEN), nullString(a.LabelZH),
				nullString(a.Stage), nullString(a.PrevStage), since, nullString(a.ChurnRisk), nullString(a.PrevRisk), prob,
				nullString(a.ValueTier), nullString(a.Segment), nullString(a.Action), nullString(a.TopReasons), nullString(p.RunID))
		}
		if _, err := q.exec(ctx, b.String(), args...); err != nil {
			return fmt.Errorf("alerts: %w", err)
		}
	}
	return nil
}
