package metrics_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/churnpipe/churnpipe/internal/metrics"
)

// The outcome gauges carry the model version; without outcomes none is written.
func TestOutcomeFamilies(t *testing.T) {
	r := metrics.Run{RunID: "r", Start: time.Unix(0, 0), End: time.Unix(10, 0)}
	text, err := r.Text()
	require.NoError(t, err)
	assert.NotContains(t, string(text), "churnpipe_outcome_")
	r.Outcomes = []metrics.Outcome{{ModelVersion: "v000002", AsOf: time.Date(1998, 1, 31, 0, 0, 0, 0, time.UTC), AUC: 0.7929, Brier: 0.105, ECE: 0.02, Lift10: 1.11, RealizedChurnRate: 0.84}}
	r.RetrainRecommended = true
	text, err = r.Text()
	require.NoError(t, err)
	for _, line := range []string{
		`churnpipe_outcome_churn_auc{command="nightly",model_version="v000002"} 0.7929`,
		`churnpipe_outcome_churn_ece{command="nightly",model_version="v000002"} 0.02`,
		`churnpipe_outcome_as_of_timestamp_seconds{command="nightly",model_version="v000002"} 8.862048e+08`,
		`churnpipe_retrain_recommended{command="nightly"} 1`,
	} {
		assert.Contains(t, string(text), line+"\n")
	}
}
