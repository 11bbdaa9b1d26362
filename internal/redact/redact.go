package redact

import (
	"context"
	"log/slog"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"sync"
)

// Mask replaces every secret.
const Mask = "xxxxx"

// kvPassword matches a password keyword of a libpq keyword/value string or
// of a query string: password=…, sslpassword = '…'.
var kvPassword = regexp.MustCompile(`(?i)(\b[a-z_]*password\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s&;]+)`)

// userinfos returns the byte ranges [i, j) of the passwords of every
// "user:password@" in s (URL with or without a well-formed scheme, MySQL
// driver DSN), last first.
func userinfos(s string) [][2]int {
	var out [][2]int
	limit := len(s)
	for {
		at := strings.LastIndex(s[:limit], "@")
		if at < 0 {
			return out
		}
		start := 0
		if k := strings.LastIndex(s[:at], "//"); k >= 0 {
			start = k + 2
		}
		if k := strings.LastIndexAny(s[:at], " \t\n\"'`"); k >= start {
			start = k + 1
		}
		limit = at
		if c := strings.IndexByte(s[start:at], ':'); c >= 0 && start+c+1 < at {
			out = append(out, [2]int{start + c + 1, at})
			limit = start + c // an '@' inside this password is not another userinfo
		}
	}
}

// Secrets returns the passwords written in a DSN of any form (possibly
// none). Keyword/value quoting is removed.
func Secrets(dsn string) []string {
	var out []string
	for _, r := range userinfos(dsn) {
		p := dsn[r[0]:r[1]]
		out = append(out, p)
		if u, err := url.PathUnescape(p); err == nil && u != p {
			out = append(out, u)
		}
	}
	for _, m := range kvPassword.FindAllStringSubmatch(dsn, -1) {
		v := m[2]
		if strings.HasPrefix(v, "'") && strings.HasSuffix(v, "'") && len(v) >= 2 {
			out = append(out, v)
			v = strings.NewReplacer(`\'`, `'`, `\\`, `\`).Replace(v[1 : len(v)-1])
		}
		if v != "" {
			out = append(out, v)
			if u, err := url.QueryUnescape(v); err == nil && u != v {
				out = append(out, u)
			}
		}
	}
	return out
}

// DSN returns dsn with every password replaced by Mask.
func DSN(dsn string) string {
	s := dsn
	for _, r := range userinfos(dsn) { // last first: earlier ranges stay valid
		s = s[:r[0]] + Mask + s[r[1]:]
	}
	return kvPassword.ReplaceAllString(s, "${1}"+Mask)
}

var (
	mu      sync.RWMutex
	secrets []string // longest first
)

// minSecret is the shortest secret Scrub replaces in free text: shorter
// ones would garble messages (DSN still masks them in place).
const minSecret = 3

// Register adds the secrets of the DSNs (see Secrets) to the list Scrub
// removes. Safe for concurrent use.
func Register(dsns ...string) {
	mu.Lock()
	defer mu.Unlock()
	for _, d := range dsns {
		for _, s := range Secrets(d) {
			if len(s) < minSecret || s == Mask {
				continue
			}
			dup := false
			for _, x := range secrets {
				dup = dup || x == s
			}
			if !dup {
				secrets = append(secrets, s)
			}
		}
	}
	sort.Slice(secrets, func(i, j int) bool { return len(secrets[i]) > len(secrets[j]) })
}

// Scrub returns s with the DSN forms redacted (DSN) and every registered
// secret replaced by Mask.
func Scrub(s string) string {
	s = DSN(s)
	mu.RLock()
	defer mu.RUnlock()
	for _, x := range secrets {
		if strings.Contains(s, x) {
			s = strings.ReplaceAll(s, x, Mask)
		}
	}
	return s
}

// Handler wraps h so that the message and every string, error and
// Stringer attribute pass through Scrub.
func Handler(h slog.Handler) slog.Handler { return handler{h} }

type handler struct{ h slog.Handler }

func (x handler) Enabled(ctx context.Context, l slog.Level) bool { return x.h.Enabled(ctx, l) }

func (x handler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, Scrub(r.Message), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(scrubAttr(a))
		return true
	})
	return x.h.Handle(ctx, out)
}

func (x handler) WithAttrs(as []slog.Attr) slog.Handler {
	s := make([]slog.Attr, len(as))
	for i, a := range as {
		s[i] = scrubAttr(a)
	}
	return handler{x.h.WithAttrs(s)}
}

func (x handler) WithGroup(name string) slog.Handler { return handler{x.h.WithGroup(name)} }

func scrubAttr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, Scrub(v.String()))
	case slog.KindGroup:
		g := v.Group()
		s := make([]any, len(g))
		for i, x := range g {
			s[i] = scrubAttr(x)
		}
		return slog.Group(a.Key, s...)
	case slog.KindAny:
		switch x := v.Any().(type) {
		case error:
			return slog.String(a.Key, Scrub(x.Error()))
		case interface{ String() string }:
			return slog.String(a.Key, Scrub(x.String()))
		}
	}
	return slog.Attr{Key: a.Key, Value: v}
}
