package subscription

import (
	"encoding/json"
	"math"
)

// stateFields is State without its methods, for the JSON codec.
type stateFields State

// stateWire is the JSON form of a State: its exported fields, the current
// spell's index and the amount (null for NaN, which JSON cannot hold).
type stateWire struct {
	stateFields
	Amount *float64 `json:"Amount"`
	Cur    int      `json:"cur,omitempty"`
}

// MarshalJSON encodes the state with everything a later process needs to
// score it (a sharded night carries its workers' states to the finalize
// step): the exported fields, the current spell and, for an account, its
// subscriptions' states. The day lists that merged the subscriptions into
// the account are not kept (the merge is done).
func (s State) MarshalJSON() ([]byte, error) {
	w := stateWire{stateFields: stateFields(s), Cur: s.cur}
	w.stateFields.committed, w.stateFields.exits = nil, nil
	if !math.IsNaN(s.Amount) {
		a := s.Amount
		w.Amount = &a
	}
	return json.Marshal(w)
}

// UnmarshalJSON decodes what MarshalJSON wrote.
func (s *State) UnmarshalJSON(b []byte) error {
	var w stateWire
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*s = State(w.stateFields)
	s.cur = w.Cur
	s.Amount = math.NaN()
	if w.Amount != nil {
		s.Amount = *w.Amount
	}
	return nil
}
