package store

import (
	"context"
	"fmt"
	"math"
	"time"
)

// NightRow is what a published history night predicted for one customer,
// and the cumulative figures the outcome is measured against. Reals are NaN
// when NULL.
type NightRow struct {
	CustomerID     string
	Buyer          bool  // days_since_last_purchase not NULL
	PurchaseDays   int64 // purchase days up to the night
	HistoricValue  float64
	ChurnProb      float64
	CLV            float64 // predicted_clv_12m
	ExpPurchases   float64 // expected_purchases_90d
	AvgSpend       float64 // expected_avg_spend
	PredictedStage string
	ModelVersion   string
}

// Outcome is one row of prediction_outcomes: how the predictions of night
// AsOf for the customers of one model version (and one CLV decile; 0 = all
// of them) turned out over the HorizonDays after it. Reals are NaN when NULL.
type Outcome struct {
	AsOf, EvaluatedAsOf time.Time
	HorizonDays         int
	ModelVersion        string // "none" for rows without a churn model
	CLVDecile           int    // 0 = all buyers of the version; 1–10 by predicted_clv_12m, 10 the highest
	Customers           int64  // buyers in the group
	ChurnCustomers      int64  // of them with a churn probability
	AUC, Brier, ECE     float64
	Lift10              float64
	PredChurnRate       float64 // mean churn_probability
	RealChurnRate       float64 // share without a purchase in the horizon
	PredPurchases       float64 // sum of expected_purchases_90d
	RealPurchases       float64 // purchase days in the horizon, same customers
	PredSpend           float64 // sum of expected_purchases_90d × expected_avg_spend
	RealSpend           float64 // net spend in the horizon, same customers
	StageCustomers      int64   // customers with a predicted_stage
	StageAccuracy       float64 // share whose stage HorizonDays later is predicted_stage
	RunID               string
}

var outcomeCols = []string{"target_table", "as_of", "model_version", "clv_decile", "evaluated_as_of", "horizon_days",
	"customers", "churn_customers", "churn_auc", "churn_brier", "churn_ece", "churn_lift_10", "predicted_churn_rate",
	"realized_churn_rate", "predicted_purchases", "realized_purchases", "predicted_spend", "realized_spend",
	"stage_customers", "stage_accuracy", "run_id"}

// OutcomeNights returns the history nights on or before through that have
// no prediction_outcomes row yet, newest first.
func (s *store) OutcomeNights(ctx context.Context, through time.Time) ([]time.Time, error) {
	q := fmt.Sprintf(`SELECT DISTINCT h.as_of FROM %s h WHERE h.as_of <= %s AND NOT EXISTS (
	SELECT 1 FROM %s o WHERE o.target_table = ? AND o.as_of = h.as_of) ORDER BY h.as_of DESC`,
		s.d.tbl(s.hist()), s.d.dateP(), s.d.tbl(tOutcomes))
	var out []time.Time
	var v any
	err := s.queryEach(ctx, q, []any{s.d.dateArg(through), s.table}, []any{&v}, func() error {
		t, err := asTime(v)
		out = append(out, day(t))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: outcome nights: %w", err)
	}
	return out, nil
}

// NightRows reads the predictions of one history night.
func (s *store) NightRows(ctx context.Context, asOf time.Time) ([]NightRow, error) {
	q := fmt.Sprintf(`SELECT customer_id, days_since_last_purchase, purchase_days, historic_value, churn_probability,
	predicted_clv_12m, expected_purchases_90d, expected_avg_spend, predicted_stage, model_version FROM %s WHERE as_of = %s`,
		s.d.tbl(s.hist()), s.d.dateP())
	var out []NightRow
	v := make([]any, 10)
	dest := make([]any, len(v))
	for i := range v {
		dest[i] = &v[i]
	}
	err := s.queryEach(ctx, q, []any{s.d.dateArg(asOf)}, dest, func() error {
		out = append(out, NightRow{CustomerID: asString(v[0]), Buyer: v[1] != nil, PurchaseDays: asInt(v[2]),
			HistoricValue: asReal(v[3]), ChurnProb: asReal(v[4]), CLV: asReal(v[5]), ExpPurchases: asReal(v[6]),
			AvgSpend: asReal(v[7]), PredictedStage: asString(v[8]), ModelVersion: asString(v[9])})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: night %s: %w", asOf.Format(time.DateOnly), err)
	}
	return out, nil
}

// asReal reads a REAL that may be NULL (NaN).
func asReal(v any) float64 {
	switch x := v.(type) {
	case nil:
		return math.NaN()
	case float64:
		return x
	case float32:
		return float64(x)
	case int64:
		return float64(x)
	case []byte, string:
		var f float64
		if _, err := fmt.Sscan(asString(x), &f); err == nil {
			return f
		}
	}
	return math.NaN()
}

func realArg(x float64) any {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return nil
	}
	return x
}

// PutOutcomes replaces the prediction_outcomes rows of night asOf.
func (s *store) PutOutcomes(ctx context.Context, asOf time.Time, rows []Outcome) error {
	asOf = day(asOf)
	return s.eng.inTx(ctx, false, func(q querier) error {
		if _, err := q.exec(ctx, fmt.Sprintf("DELETE FROM %s WHERE target_table = ? AND as_of = %s", s.d.tbl(tOutcomes), s.d.dateP()),
			s.table, s.d.dateArg(asOf)); err != nil {
			return fmt.Errorf("store: put outcomes: %w", err)
		}
		ph := "?, " + s.d.dateP() + ", ?, ?, " + s.d.dateP()
		for range outcomeCols[5:] {
			ph += ", ?"
		}
		ins := fmt.Sprintf("INSERT INTO %s (%s) VALUES (%s)", s.d.tbl(tOutcomes), joinCols(outcomeCols), ph)
		for _, o := range rows {
			var ev any
			if !o.EvaluatedAsOf.IsZero() {
				ev = s.d.dateArg(o.EvaluatedAsOf)
			}
			if _, err := q.exec(ctx, ins, s.table, s.d.dateArg(asOf), o.ModelVersion, o.CLVDecile, ev, o.HorizonDays,
				o.Customers, o.ChurnCustomers, realArg(o.AUC), realArg(o.Brier), realArg(o.ECE), realArg(o.Lift10),
				realArg(o.PredChurnRate), realArg(o.RealChurnRate), realArg(o.PredPurchases), realArg(o.RealPurchases),
				realArg(o.PredSpend), realArg(o.RealSpend), o.StageCustomers, realArg(o.StageAccuracy), nullString(o.RunID)); err != nil {
				return fmt.Errorf("store: put outcomes %s: %w", asOf.Format(time.DateOnly), err)
			}
		}
		return nil
	})
}

// Outcomes returns the prediction_outcomes rows of the target table (clv
// decile 0 only when allDeciles is false), oldest night first.
func (s *store) Outcomes(ctx context.Context, allDeciles bool) ([]Outcome, error) {
	q := fmt.Sprintf("SELECT %s FROM %s WHERE target_table = ?", joinCols(outcomeCols[1:]), s.d.tbl(tOutcomes))
	if !allDeciles {
		q += " AND clv_decile = 0"
	}
	q += " ORDER BY as_of, model_version, clv_decile"
	v := make([]any, len(outcomeCols)-1)
	dest := make([]any, len(v))
	for i := range v {
		dest[i] = &v[i]
	}
	var out []Outcome
	err := s.queryEach(ctx, q, []any{s.table}, dest, func() error {
		a, err := asTime(v[0])
		if err != nil {
			return err
		}
		e, err := asTime(v[3])
		if err != nil {
			return err
		}
		out = append(out, Outcome{AsOf: a, ModelVersion: asString(v[1]), CLVDecile: int(asInt(v[2])), EvaluatedAsOf: e,
			HorizonDays: int(asInt(v[4])), Customers: asInt(v[5]), ChurnCustomers: asInt(v[6]), AUC: asReal(v[7]),
			Brier: asReal(v[8]), ECE: asReal(v[9]), Lift10: asReal(v[10]), PredChurnRate: asReal(v[11]),
			RealChurnRate: asReal(v[12]), PredPurchases: asReal(v[13]), RealPurchases: asReal(v[14]),
			PredSpend: asReal(v[15]), RealSpend: asReal(v[16]), StageCustomers: asInt(v[17]), StageAccuracy: asReal(v[18]),
			RunID: asString(v[19])})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: outcomes: %w", err)
	}
	return out, nil
}

func joinCols(cs []string) string {
	out := ""
	for i, c := range cs {
		if i > 0 {
			out += ", "
		}
		out += c
	}
	return out
}
