package store

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/churnpipe/churnpipe/internal/testenv"
)

// TestContractMatchesSchema checks docs/crm-contract.md against the
// migrations (issue 14 item 12: the contract listed v1–v3 while later
// migrations existed, and called nullable columns never NULL): every
// migration is listed; every prediction column is documented with the
// version that adds it; each table's "Declared NOT NULL" list is exactly
// the columns SQLite reports NOT NULL after Migrate.
func TestContractMatchesSchema(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(testenv.Root(t), "docs", "crm-contract.md"))
	require.NoError(t, err)
	doc := string(b)

	sections := map[string]string{} // table → its section's text
	heading := regexp.MustCompile("(?m)^## (.*)$")
	locs := heading.FindAllStringSubmatchIndex(doc, -1)
	for i, l := range locs {
		end := len(doc)
		if i+1 < len(locs) {
			end = locs[i+1][0]
		}
		title := doc[l[2]:l[3]]
		title, _, _ = strings.Cut(title, " — ")
		for _, m := range regexp.MustCompile("`([a-z_]+)`").FindAllStringSubmatch(title, -1) {
			sections[m[1]] = doc[l[0]:end]
		}
	}

	mig := sections[tMigrations]
	require.NotEmpty(t, mig)
	for _, m := range migrations {
		assert.Regexp(t, fmt.Sprintf(`(?m)^\| v%d \|`, m.version), mig, "migration %d (%s) is listed", m.version, m.description)
	}

	cur := sections[DefaultTable]
	require.NotEmpty(t, cur)
	for _, c := range predictionColumns {
		assert.Regexp(t, fmt.Sprintf(`(?m)^\| %s \|.*\| v%d \|$`, regexp.QuoteMeta(c.name), c.version), cur, "column %s documented with v%d", c.name, c.version)
	}

	ctx := context.Background()
	s, err := Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "c.db"), Options{})
	require.NoError(t, err)
	defer s.Close()
	require.NoError(t, s.Migrate(ctx))
	declared := regexp.MustCompile("Declared\\s+`NOT NULL`:\\s+([^;]*);")
	tables := []string{DefaultTable, DefaultTable + "_history", tRuns, tTransitions, tMetrics, tAlerts, tOutcomes, tStageLabels, tSegLabels, tMigrations}
	for _, table := range tables {
		sec, ok := sections[table]
		if !assert.True(t, ok, "a section for %s", table) {
			continue
		}
		m := declared.FindStringSubmatch(sec)
		if !assert.NotNil(t, m, "%s: a \"Declared `NOT NULL`: …;\" line", table) {
			continue
		}
		var doc []string
		for _, n := range regexp.MustCompile("`([a-z_]+)`").FindAllStringSubmatch(m[1], -1) {
			doc = append(doc, n[1])
		}
		var ddl []string
		for _, r := range query(t, s, "SELECT name FROM pragma_table_info(?) WHERE \"notnull\" = 1 ORDER BY cid", table) {
			ddl = append(ddl, r[0].(string))
		}
		slices.Sort(doc)
		slices.Sort(ddl)
		assert.Equal(t, ddl, doc, "%s: the NOT NULL columns", table)
	}
}
