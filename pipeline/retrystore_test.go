package pipeline

import (
	"context"
	"io"
	"net"
	"net/url"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/churnpipe/churnpipe/data/store"
	"github.com/churnpipe/churnpipe/internal/testenv"
)

// outageProxy forwards TCP connections to target; down() resets every open
// connection and stops listening (new connections are refused, as by a
// database server that is restarting) until up().
type outageProxy struct {
	t      *testing.T
	addr   string
	target string

	mu    sync.Mutex
	ln    net.Listener
	conns []net.Conn
}

func newOutageProxy(t *testing.T, target string) *outageProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &outageProxy{t: t, addr: ln.Addr().String(), target: target}
	p.serve(ln)
	t.Cleanup(p.down)
	return p
}

func (p *outageProxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, s)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(s, c); s.Close() }()
			go func() { _, _ = io.Copy(c, s); c.Close() }()
		}
	}()
}

func (p *outageProxy) down() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for _, c := range p.conns {
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetLinger(0) // RST, as a killed server's sockets
		}
		c.Close()
	}
	p.conns = nil
}

func (p *outageProxy) up() {
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		p.t.Errorf("proxy: listen again on %s: %v", p.addr, err)
		return
	}
	p.serve(ln)
}

// TestNightlySurvivesDatabaseRestart: PostgreSQL goes away for 5 seconds
// right after the run has started (every connection reset, new ones
// refused) and comes back. The ledger reads and writes around the night are
// retried like the publication under the default policy (2 minutes in all),
// so the night publishes and the ledger says succeeded. Issue 14 item 9: the
// ledger calls were not retried and the default policy gave up after 5
// attempts (about 3 s).
func TestNightlySurvivesDatabaseRestart(t *testing.T) {
	dsn := testenv.Postgres(t)
	u, err := url.Parse(dsn)
	require.NoError(t, err)
	proxy := newOutageProxy(t, u.Host)
	u.Host = proxy.addr
	schema := testenv.PostgresSchema(t, dsn, "pipeline_retry_")
	input := WriteTestSynth(t, 300, 7)

	var outageOver sync.WaitGroup
	cfg := NightlyConfig{
		Input: Input{Path: input, MaxReject: 0.01, Quarantine: filepath.Join(t.TempDir(), "q.csv")},
		AsOf:  TestSynthEnd, DB: u.String(), Store: store.Options{Schema: schema},
	}
	var outages int
	opt := Options{OnStep: func(step string) {
		if step != "setup" || outages > 0 {
			return
		}
		outages++
		proxy.down()
		outageOver.Add(1)
		go func() {
			defer outageOver.Done()
			time.Sleep(5 * time.Second)
			proxy.up()
		}()
	}}
	start := time.Now()
	res, err := Nightly(context.Background(), cfg, opt)
	outageOver.Wait()
	require.NoError(t, err)
	assert.Equal(t, 1, outages)
	assert.GreaterOrEqual(t, time.Since(start), 5*time.Second, "the night waited for the database")
	assert.Equal(t, "succeeded", res.Run.Status)

	st, err := store.Open(context.Background(), dsn, store.Options{Schema: schema})
	require.NoError(t, err)
	defer st.Close()
	run, ok, err := st.PublishedRun(context.Background())
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, res.Run.ID, run.ID)
	assert.Equal(t, "succeeded", run.Status)
}
