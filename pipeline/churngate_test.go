package pipeline

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/churnpipe/churnpipe/data/store"
	"github.com/churnpipe/churnpipe/models/cancel"
	"github.com/churnpipe/churnpipe/models/churn"
	"github.com/churnpipe/churnpipe/pipeline/gate"
)

// TestChurnColumnsGateCancelOnly: a cancel-only champion (no buyer model)
// passes the churn_columns gate after a night without buyer churn scores
// (a subscription business, night after night) and blocks after a night
// that had them (the buyers' churn columns would turn NULL).
func TestChurnColumnsGateCancelOnly(t *testing.T) {
	cancelOnly := &Champion{Version: "v000002", Cancel: &cancel.Model{}}
	buyer := &Champion{Version: "v000001", Model: &churn.Model{}}
	require.False(t, cancelOnly.HasBuyerModel())
	require.True(t, buyer.HasBuyerModel())
	var nilChamp *Champion
	require.False(t, nilChamp.HasBuyerModel())

	result := func(last store.Run, ch *Champion) gate.Result {
		rep := churnColumnsGate(gate.Report{Status: gate.Pass}, last, true, ch, "reg")
		require.Len(t, rep.Results, 1)
		assert.Equal(t, rep.Results[0].Status == gate.Block, rep.Status == gate.Block)
		return rep.Results[0]
	}
	noBuyerScores := store.Run{ID: "r1", Details: map[string]any{"churn_model": "none: champion v000002 holds only the subscribers' cancel model"}}
	buyerScores := store.Run{ID: "r1", Details: map[string]any{"model_version": "v000001"}}

	r := result(noBuyerScores, cancelOnly)
	assert.Equal(t, gate.Pass, r.Status, r.Message)
	assert.Contains(t, r.Message, "champion v000002 holds only the subscribers' cancel model")

	r = result(buyerScores, cancelOnly)
	assert.Equal(t, gate.Block, r.Status, r.Message)
	assert.Contains(t, r.Message, "champion v000002 holds no buyer churn model")

	r = result(buyerScores, buyer)
	assert.Equal(t, gate.Pass, r.Status, r.Message)
	r = result(noBuyerScores, nil)
	assert.Equal(t, gate.Pass, r.Status, r.Message)
}
