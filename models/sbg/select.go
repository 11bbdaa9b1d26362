package sbg

import "fmt"

// Selection is the outcome of [Select]: both models fitted on the
// calibration data, their holdout log-likelihoods and the chosen one.
type Selection struct {
	Chosen string `json:"chosen"`
	// Rule states how the choice was made.
	Rule    string     `json:"rule"`
	SBG     FitResult  `json:"sbg"`
	BdW     FitResult  `json:"bdw"`
	Holdout [2]float64 `json:"holdout_loglik"` // sBG, BdW
	Model   Model      `json:"-"`
	Fits    [2]Model   `json:"-"`
	AIC     [2]float64 `json:"aic"` // calibration AIC, sBG, BdW
	Errors  [2]string  `json:"errors,omitempty"`
}

// SelectRule is the stated rule of Select.
const SelectRule = "higher holdout log-likelihood per customer; the sBG wins ties within 1e-9 and whenever the BdW fit fails or does not converge"

// Select fits the sBG and the BdW on cal and chooses the one with the
// higher log-likelihood of hold (observations of the period after
// calibration, typically From > 0: see [Holdout]). The sBG is kept unless
// the BdW predicts the holdout strictly better; an sBG fit that fails is an
// error.
func Select(cal, hold Data, opt FitOptions) (Selection, error) {
	s := Selection{Rule: SelectRule}
	if err := hold.Validate(); err != nil {
		return s, fmt.Errorf("holdout: %w", err)
	}
	sm, sr, err := FitSBG(cal, opt)
	if err != nil {
		return s, err
	}
	s.SBG, s.Fits[0] = sr, sm
	s.Holdout[0] = LogLik(sm, hold)
	s.AIC[0] = 4 - 2*sr.LogLik
	s.Chosen, s.Model = "sbg", sm
	bm, br, err := FitBdW(cal, opt)
	s.BdW, s.Fits[1] = br, bm
	s.AIC[1] = 6 - 2*br.LogLik
	if err != nil {
		s.Errors[1] = err.Error() // Holdout[1] stays 0: JSON has no NaN
		return s, nil
	}
	s.Holdout[1] = LogLik(bm, hold)
	w := hold.Customers()
	if s.Holdout[1]/w > s.Holdout[0]/w+1e-9 {
		s.Chosen, s.Model = "bdw", bm
	}
	return s, nil
}
