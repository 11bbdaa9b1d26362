package jobs_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/csv"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-sql-driver/mysql"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/churnpipe/churnpipe/data"
	"github.com/churnpipe/churnpipe/data/store"
	"github.com/churnpipe/churnpipe/internal/testenv"
	"github.com/churnpipe/churnpipe/jobs"
	"github.com/churnpipe/churnpipe/pipeline"
)

// TestIDsTheSinkCanStore is issue 14 item 10 on every engine: a history
// with a 300-character id (over MySQL's VARCHAR(255)), a 3,000-byte
// incompressible id (over PostgreSQL's B-tree entry limit) and ids that
// differ only in case or accents. On main the night failed at publish
// (exit 5) on MySQL/MariaDB and PostgreSQL; now the two long ids are
// rejected at read time (quarantined with the reason, counted), every
// other id is a customer of its own, and the night publishes.
func TestIDsTheSinkCanStore(t *testing.T) {
	dir := t.TempDir()
	good, err := os.ReadFile(filepath.Join(testenv.Root(t), "testdata", "badinput", "good.csv"))
	require.NoError(t, err)
	b := make([]byte, 1500)
	_, _ = rand.Read(b)
	long300, long3000 := strings.Repeat("L", 300), hex.EncodeToString(b)
	variants := []string{"C01", "Café", "cafe", "CAFÉ"} // good.csv has c01
	var extra strings.Builder
	for _, id := range append([]string{long300, long3000}, variants...) {
		fmt.Fprintf(&extra, "%s,2024-03-01T10:00:00Z,purchase,12.00\n", id)
	}
	input := filepath.Join(dir, "ids.csv")
	require.NoError(t, os.WriteFile(input, append(good, extra.String()...), 0o644))

	type engine struct {
		name string
		dsn  string
		opt  store.Options
	}
	engines := []engine{{"sqlite", "sqlite:" + filepath.Join(dir, "ids.db"), store.Options{}}}
	if dsn := os.Getenv("CHURNPIPE_TEST_POSTGRES"); dsn != "" || os.Getenv("CI") == "true" {
		dsn = testenv.Postgres(t)
		engines = append(engines, engine{"postgres", dsn, store.Options{Schema: testenv.PostgresSchema(t, dsn, "jobs_ids_")}})
	}
	if dsn := os.Getenv("CHURNPIPE_TEST_MYSQL"); dsn != "" {
		engines = append(engines, engine{"mysql", dsn, store.Options{Schema: mysqlTestDB(t, dsn, "jobs_ids_")}})
	} else if os.Getenv("CI") == "true" {
		t.Fatal("CI=true but CHURNPIPE_TEST_MYSQL is not set")
	}
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			q := filepath.Join(t.TempDir(), "q.csv")
			res, err := jobs.Nightly(context.Background(), jobs.NightlyConfig{NightlyConfig: pipeline.NightlyConfig{
				Input: pipeline.Input{Path: input, MaxReject: 0.01, Quarantine: q},
				AsOf:  goodAsOf, DB: e.dsn, Store: e.opt,
			}}, pipeline.Options{})
			require.NoError(t, err)
			assert.Equal(t, int64(2), res.Run.RowsRejected)
			assert.Equal(t, int64(2), res.Ingest.RowsLongID)
			assert.Equal(t, int64(2), res.Run.Details["rows_rejected_long_id"])
			assert.Equal(t, 30+len(variants), res.Ingest.Customers, "C01, Café, cafe, CAFÉ are customers of their own")

			f, err := os.Open(q)
			require.NoError(t, err)
			defer f.Close()
			rows, err := csv.NewReader(f).ReadAll()
			require.NoError(t, err)
			require.Len(t, rows, 3, "header and the two long ids")
			for i, r := range rows[1:] {
				assert.Equal(t, []string{"ids.csv", fmt.Sprint(242 + i), "customer_id"}, []string{filepath.Base(r[0]), r[1], r[2]})
				assert.Contains(t, r[3], fmt.Sprintf("longer than the %d", data.MaxIDLength))
			}
			st, err := store.Open(context.Background(), e.dsn, e.opt)
			require.NoError(t, err)
			defer st.Close()
			night, err := st.NightRows(context.Background(), goodAsOf)
			require.NoError(t, err)
			ids := map[string]bool{}
			for _, r := range night {
				ids[r.CustomerID] = true
			}
			assert.Len(t, ids, 30+len(variants))
			for _, v := range append([]string{"c01"}, variants...) {
				assert.True(t, ids[v], v)
			}
		})
	}
}

// mysqlTestDB returns a fresh database name starting with prefix, dropped
// at cleanup (Migrate creates it).
func mysqlTestDB(t *testing.T, dsn, prefix string) string {
	t.Helper()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	db := prefix + hex.EncodeToString(b)
	u, err := url.Parse(dsn)
	require.NoError(t, err)
	cfg := mysql.NewConfig()
	cfg.User, cfg.Net, cfg.Addr = u.User.Username(), "tcp", u.Host
	cfg.Passwd, _ = u.User.Password()
	t.Cleanup(func() {
		c, err := mysql.NewConnector(cfg)
		if err != nil {
			t.Errorf("drop database %s: %v", db, err)
			return
		}
		sdb := sql.OpenDB(c)
		defer sdb.Close()
		if _, err := sdb.Exec("DROP DATABASE IF EXISTS `" + db + "`"); err != nil {
			t.Errorf("drop database %s: %v", db, err)
		}
	})
	return db
}
