package jobs_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/churnpipe/churnpipe/features/rfm"
	"github.com/churnpipe/churnpipe/jobs"
	"github.com/churnpipe/churnpipe/jobs/config"
)

// The configuration's default rfm.segments list is features/rfm's default
// table, and an operator's table reaches the nightly job.
func TestSegmentRulesFromConfig(t *testing.T) {
	rs, err := jobs.SegmentRules(config.Default())
	require.NoError(t, err)
	assert.Equal(t, rfm.DefaultRules(), rs)

	c, err := config.Parse("c.yaml", []byte(`rfm:
  segments:
    - {segment: Champions, r: "4-5", f: "4-5", m: "1-5"}
    - {segment: Lost, r: "1-5", f: "1-5", m: "1-5"}
`), func(string) (string, bool) { return "", false })
	require.NoError(t, err)
	nc, err := jobs.FromConfig(c)
	require.NoError(t, err)
	assert.Equal(t, rfm.Lost, nc.Segments.SegmentOf(3, 5, 5))
	assert.Equal(t, rfm.Champions, nc.Segments.SegmentOf(5, 4, 1))

	c, err = config.Parse("c.yaml", []byte(`rfm:
  segments:
    - {segment: At Risk, r: "1-2", f: "2-5", m: "2-5"}
    - {segment: Can't Lose Them, r: "1", f: "4-5", m: "4-5"}
    - {segment: Champions, r: "4-7", f: "4-5", m: "4-5"}
`), func(string) (string, bool) { return "", false })
	require.NoError(t, err)
	_, err = jobs.FromConfig(c)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "c.yaml:5: rfm.segments[2]: segment \"Champions\"")
	assert.Equal(t, jobs.ExitUsage, jobs.ExitCode(err))

	c.RFM.Segments = c.RFM.Segments[:2]
	_, err = jobs.FromConfig(c)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "Can't Lose Them R1 F4-5 M4-5) is shadowed")
}
