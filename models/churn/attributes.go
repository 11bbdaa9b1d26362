package churn

import (
	"fmt"
	"math"
	"slices"
)

// Attribute kinds.
const (
	AttrNumeric     = "numeric"
	AttrCategorical = "categorical"
)

// AttrColumn is one static customer attribute the model expects.
type AttrColumn struct {
	Name   string   `json:"name"`
	Kind   string   `json:"kind"`             // AttrNumeric or AttrCategorical
	Levels []string `json:"levels,omitempty"` // categorical: the one-hot levels seen in training
}

// AttrSpec records the customer attributes a model was trained with and how
// they enter the design matrix: a numeric attribute is one column
// "attr_<name>"; a categorical one is a 0/1 column "attr_<name>=<level>" per
// training level (a level unseen in training scores 0 in all of them; a
// missing value is NaN in all of them); "attr_missing" is 1 for a customer
// absent from the attribute file.
type AttrSpec struct {
	Key     string       `json:"key"` // the key column of the file
	Columns []AttrColumn `json:"columns"`
}

// AttrMissing is the matrix column flagging a customer without attributes.
const AttrMissing = "attr_missing"

// Names returns the matrix columns of the attributes, in order.
func (s *AttrSpec) Names() []string {
	if s == nil {
		return nil
	}
	var out []string
	for _, c := range s.Columns {
		if c.Kind == AttrNumeric {
			out = append(out, "attr_"+c.Name)
			continue
		}
		for _, l := range c.Levels {
			out = append(out, "attr_"+c.Name+"="+l)
		}
	}
	return append(out, AttrMissing)
}

// Encode returns the matrix values of one customer's attributes (values
// by column name; present = the customer is in the file). Missing values
// are "" (the caller maps NA spellings to ""). A numeric value that does
// not parse is an error naming the column.
func (s *AttrSpec) Encode(values map[string]string, present bool, parse func(string) (float64, error)) ([]float64, error) {
	out := make([]float64, 0, len(s.Names()))
	for _, c := range s.Columns {
		v := values[c.Name]
		if c.Kind == AttrNumeric {
			f := math.NaN()
			if present && v != "" {
				var err error
				if f, err = parse(v); err != nil {
					return nil, fmt.Errorf("attribute %q: %q is not a number: %w", c.Name, v, err)
				}
			}
			out = append(out, f)
			continue
		}
		for _, l := range c.Levels {
			switch {
			case !present || v == "":
				out = append(out, math.NaN())
			case v == l:
				out = append(out, 1)
			default:
				out = append(out, 0)
			}
		}
	}
	miss := 0.0
	if !present {
		miss = 1
	}
	return append(out, miss), nil
}

// HasColumn reports whether the spec has the named attribute.
func (s *AttrSpec) HasColumn(name string) bool {
	return slices.ContainsFunc(s.Columns, func(c AttrColumn) bool { return c.Name == name })
}
