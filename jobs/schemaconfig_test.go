package jobs_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/churnpipe/churnpipe/jobs"
	"github.com/churnpipe/churnpipe/jobs/config"
)

// TestSchemaFromConfig (issue 14 item 3): schema: reaches the store as
// given — "" (the default) leaves the choice to the DSN's search_path,
// an explicit public is a schema that a different search_path contradicts
// (on main both became "", so public lost to search_path silently) — except
// the old example's public on MySQL, which has no such database and means
// the DSN's.
func TestSchemaFromConfig(t *testing.T) {
	for _, c := range []struct{ db, schema, want string }{
		{"postgres://crm@db/crm", "", ""},
		{"postgres://crm@db/crm", "public", "public"},
		{"postgres://crm@db/crm", "crm", "crm"},
		{"mysql://crm@db:3306/crm", "public", ""},
		{"mysql://crm@db:3306/crm", "crmdb", "crmdb"},
		{"sqlite:p.db", "", ""},
	} {
		yaml := "input: {path: x.csv}\ndb: " + c.db + "\n"
		if c.schema != "" {
			yaml += "schema: " + c.schema + "\n"
		}
		cfg, err := config.Parse("c.yaml", []byte(yaml), func(string) (string, bool) { return "", false })
		require.NoError(t, err, yaml)
		nc, err := jobs.FromConfig(cfg)
		require.NoError(t, err, yaml)
		assert.Equal(t, c.want, nc.Store.Schema, "%s schema %q", c.db, c.schema)
	}
}
