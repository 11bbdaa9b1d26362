package jobs_test

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/churnpipe/churnpipe/data/store"
	"github.com/churnpipe/churnpipe/internal/testenv"
	"github.com/churnpipe/churnpipe/jobs"
	"github.com/churnpipe/churnpipe/pipeline"
)

// TestChangesAcrossEngines runs three CDNOW nights (1997-12-01, 12-02 and
// 1998-03-02, when both December nights are 90 days old) into SQLite,
// PostgreSQL and MySQL/MariaDB: the v7 columns, customer_alerts and
// prediction_outcomes read back the same from every engine.
func TestChangesAcrossEngines(t *testing.T) {
	csvPath := testenv.SharedData(t, "cdnow/cdnow_sample_interactions.csv")
	ctx := context.Background()
	dir := t.TempDir()
	type engine struct {
		name string
		dsn  string
		opt  store.Options
	}
	engines := []engine{{"sqlite", "sqlite:" + filepath.Join(dir, "e.db"), store.Options{}}}
	if dsn := os.Getenv("CHURNPIPE_TEST_POSTGRES"); dsn != "" {
		schema := fmt.Sprintf("jobs_v7_%d", rand.Uint32())
		t.Cleanup(func() {
			if conn, err := pgx.Connect(context.Background(), dsn); err == nil {
				conn.Exec(context.Background(), `DROP SCHEMA IF EXISTS "`+schema+`" CASCADE`)
				conn.Close(context.Background())
			}
		})
		engines = append(engines, engine{"postgres", dsn, store.Options{Schema: schema}})
	}
	if dsn := os.Getenv("CHURNPIPE_TEST_MYSQL"); dsn != "" {
		db := fmt.Sprintf("jobs_v7_%d", rand.Uint32())
		u, err := url.Parse(dsn)
		require.NoError(t, err)
		cfg := mysql.NewConfig()
		cfg.User, cfg.Net, cfg.Addr = u.User.Username(), "tcp", u.Host
		cfg.Passwd, _ = u.User.Password()
		t.Cleanup(func() {
			if c, err := mysql.NewConnector(cfg); err == nil {
				sdb := sql.OpenDB(c)
				sdb.Exec("DROP DATABASE IF EXISTS `" + db + "`")
				sdb.Close()
			}
		})
		engines = append(engines, engine{"mysql", dsn, store.Options{Schema: db}})
	}
	nights := []time.Time{time.Date(1997, 12, 1, 0, 0, 0, 0, time.UTC), time.Date(1997, 12, 2, 0, 0, 0, 0, time.UTC),
		time.Date(1998, 3, 2, 0, 0, 0, 0, time.UTC)}
	type readBack struct {
		prev     store.PreviousNight
		alerts   [][]store.Alert
		outcomes []store.Outcome
	}
	var got []readBack
	for _, e := range engines {
		for _, d := range nights {
			cfg := jobs.NightlyConfig{NightlyConfig: pipeline.NightlyConfig{
				Input: pipeline.Input{Path: csvPath, MaxReject: 0.01, Quarantine: filepath.Join(dir, "q.csv")},
				AsOf:  d, DB: e.dsn, Store: e.opt, ForcePublish: true,
			}}
			_, err := jobs.Nightly(ctx, cfg, pipeline.Options{})
			require.NoError(t, err, "%s %s", e.name, d)
		}
		st, err := store.Open(ctx, e.dsn, e.opt)
		require.NoError(t, err, e.name)
		var rb readBack
		rb.prev, err = st.PreviousNight(ctx, nights[2].AddDate(0, 0, 1))
		require.NoError(t, err, e.name)
		for _, d := range nights {
			a, err := st.Alerts(ctx, d)
			require.NoError(t, err, e.name)
			rb.alerts = append(rb.alerts, a)
		}
		rb.outcomes, err = st.Outcomes(ctx, true)
		require.NoError(t, err, e.name)
		require.NoError(t, st.Close())
		got = append(got, rb)
	}
	ref := got[0]
	require.Equal(t, nights[2], ref.prev.AsOf)
	require.Len(t, ref.prev.Rows, 2357)
	assert.Empty(t, ref.alerts[0], "no previous night")
	assert.NotEmpty(t, ref.alerts[1])
	assert.NotEmpty(t, ref.alerts[2])
	require.Len(t, ref.outcomes, 2*11, "two December nights, all buyers + 10 CLV deciles, model_version none")
	for _, o := range ref.outcomes {
		assert.Equal(t, "none", o.ModelVersion)
		assert.True(t, math.IsNaN(o.AUC), "no churn model")
		assert.False(t, math.IsNaN(o.RealChurnRate))
		assert.False(t, math.IsNaN(o.PredPurchases))
	}
	for k, rb := range got[1:] {
		name := engines[k+1].name
		assert.Equal(t, ref.prev, rb.prev, name)
		for k := range nights {
			want, have := alertLines(ref.alerts[k]), alertLines(rb.alerts[k])
			require.Equal(t, len(want), len(have), "%s night %d", name, k)
			bad := 0
			for i := range want {
				if want[i] != have[i] {
					if bad < 3 {
						t.Errorf("%s: alert %q, want %q", name, have[i], want[i])
					}
					bad++
				}
			}
			assert.Zero(t, bad, name)
		}
		require.Len(t, rb.outcomes, len(ref.outcomes), name)
		for i, o := range rb.outcomes {
			r := ref.outcomes[i]
			assert.Equal(t, []any{r.AsOf, r.EvaluatedAsOf, r.ModelVersion, r.CLVDecile, r.Customers, r.ChurnCustomers, r.StageCustomers},
				[]any{o.AsOf, o.EvaluatedAsOf, o.ModelVersion, o.CLVDecile, o.Customers, o.ChurnCustomers, o.StageCustomers}, name)
			for _, p := range [][2]float64{{r.RealChurnRate, o.RealChurnRate}, {r.PredPurchases, o.PredPurchases},
				{r.RealPurchases, o.RealPurchases}, {r.PredSpend, o.PredSpend}, {r.RealSpend, o.RealSpend}} {
				assert.InDelta(t, p[0], p[1], 1e-9*math.Max(1, math.Abs(p[0])), name)
			}
		}
	}
}

// alertLines renders alerts one line each, sorted (MySQL collates ids
// otherwise), NaN as "null".
func alertLines(as []store.Alert) []string {
	out := make([]string, len(as))
	for i, a := range as {
		p := "null"
		if !math.IsNaN(a.ChurnProbability) {
			p = fmt.Sprintf("%.12g", a.ChurnProbability)
		}
		out[i] = fmt.Sprintf("%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s", a.CustomerID, a.Alert, a.LabelEN, a.LabelZH, a.Stage,
			a.PrevStage, a.StageSince.Format(time.DateOnly), a.ChurnRisk, a.PrevRisk, p, a.ValueTier, a.Segment, a.Action, a.TopReasons)
	}
	sort.Strings(out)
	return out
}
