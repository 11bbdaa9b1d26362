package redact

import (
	"bytes"
	"errors"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/assert"
)

// The DSN forms of issue 14 item 8 (each printed its password on main) and
// the well-formed ones the drivers accept.
var dsnForms = []struct{ name, dsn, secret string }{
	{"url", "postgres://churn:s3cr3tPW@db:5432/crm", "s3cr3tPW"},
	{"url query", "postgres://churn@db/crm?password=s3cr3tPW&sslmode=require", "s3cr3tPW"},
	{"keyword/value", "host=db user=churn password=s3cr3tPW dbname=crm", "s3cr3tPW"},
	{"keyword/value quoted", "host=db password='s3cr 3tPW' dbname=crm", "s3cr 3tPW"},
	{"keyword/value spaced", "host=db password = s3cr3tPW", "s3cr3tPW"},
	{"missing colon in scheme", "postgres//churn:s3cr3tPW@db/crm", "s3cr3tPW"},
	{"unknown scheme", "pgsql://churn:s3cr3tPW@db/crm", "s3cr3tPW"},
	{"mysql driver", "churn:s3cr3tPW@tcp(db:3306)/crm", "s3cr3tPW"},
	{"mysql url", "mysql://churn:s3cr3tPW@db:3306/crm", "s3cr3tPW"},
	{"password with @", "postgres://churn:s3cr@3tPW@db/crm", "s3cr@3tPW"},
	{"two DSNs", "input postgres://a:firstPW1@h/x db u:s3cr3tPW@tcp(h)/d", "s3cr3tPW"},
	{"unparseable url", "postgres://churn:s3cr3tPW@db:99999999/crm%zz", "s3cr3tPW"},
}

func TestDSNHidesEveryForm(t *testing.T) {
	for _, f := range dsnForms {
		t.Run(f.name, func(t *testing.T) {
			got := DSN(f.dsn)
			assert.NotContains(t, got, f.secret)
			assert.Contains(t, got, Mask)
			assert.Contains(t, Secrets(f.dsn), f.secret)
			assert.NotContains(t, DSN("open "+f.dsn+": refused"), f.secret, "inside a message too")
		})
	}
}

func TestDSNKeepsTextWithoutSecrets(t *testing.T) {
	for _, s := range []string{"sqlite:/var/lib/churnpipe/p.db", "postgres://churn@db/crm", "customer a@b.example failed",
		"password authentication failed for user \"churn\""} {
		assert.Equal(t, s, DSN(s))
	}
}

func TestScrubAndHandler(t *testing.T) {
	Register("host=db password=hunter2xyz")
	assert.Equal(t, "pq: bad xxxxx", Scrub("pq: bad hunter2xyz"))
	var buf bytes.Buffer
	l := slog.New(Handler(slog.NewTextHandler(&buf, nil)))
	l.With("dsn", "u:other9pw@tcp(h)/d").Info("open hunter2xyz", "err", errors.New("x hunter2xyz"), slog.Group("g", "k", "hunter2xyz"))
	assert.NotContains(t, buf.String(), "hunter2xyz")
	assert.NotContains(t, buf.String(), "other9pw")
}
