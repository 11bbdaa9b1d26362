// Package cdnow loads the CDNOW sample from the shared test data for the
// btyd tests, examples and benchmarks. It derives the published 39-week
// calibration summary from the raw purchase rows exactly as described in
// shared/data/cdnow/README.md: purchases on the same customer-day are
// summed, days up to and including 1997-09-30 form the calibration period,
// and times are in weeks (days / 7).
package cdnow

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"time"
)

// ErrNoData reports that the shared data directory was not found.
var ErrNoData = errors.New("cdnow: shared data not found")

// Customer is one customer's calibration summary and holdout count.
type Customer struct {
	ID string
	// X repeat purchase days, Tx last purchase and T calibration length in
	// weeks since the first purchase; Zbar mean repeat-day spend (0 when X=0).
	X, Tx, T, Zbar float64
	// Birth is the first purchase in weeks since 1997-01-01.
	Birth float64
	// Holdout is the number of purchase days in 1997-10-01 .. 1998-06-30.
	Holdout float64
}

// Set is the CDNOW sample, summarised.
type Set struct {
	Customers []Customer // sorted by numeric ID
	// RepeatTimes are all repeat purchase days (calibration and holdout),
	// in weeks since 1997-01-01.
	RepeatTimes []float64
	// CalibrationEnd (1997-09-30) and HoldoutEnd (1998-06-30) in weeks
	// since 1997-01-01.
	CalibrationEnd, HoldoutEnd float64
}

// Dates of the study.
var (
	Start          = time.Date(1997, 1, 1, 0, 0, 0, 0, time.UTC)
	CalibrationEnd = time.Date(1997, 9, 30, 0, 0, 0, 0, time.UTC)
	HoldoutEnd     = time.Date(1998, 6, 30, 0, 0, 0, 0, time.UTC)
)

// Dir returns the directory holding the CDNOW files: walk up from the
// working directory to the directory holding go.mod, then ../shared/data/cdnow.
func Dir() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			p := filepath.Join(d, "..", "shared", "data", "cdnow")
			if _, err := os.Stat(filepath.Join(p, "cdnow_sample_interactions.csv")); err != nil {
				return "", fmt.Errorf("%w: %v", ErrNoData, err)
			}
			return p, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("%w: no go.mod above %s", ErrNoData, wd)
		}
	}
}

func day(t time.Time) int { return int(t.Unix() / 86400) }

// Load reads cdnow_sample_interactions.csv and derives the summary.
func Load() (*Set, error) {
	dir, err := Dir()
	if err != nil {
		return nil, err
	}
	f, err := os.Open(filepath.Join(dir, "cdnow_sample_interactions.csv"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := csv.NewReader(f)
	if _, err := r.Read(); err != nil {
		return nil, err
	}
	type cd struct {
		id  string
		day int
	}
	amount := map[cd]float64{}
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if rec[2] != "purchase" {
			continue
		}
		ts, err := time.Parse("2006-01-02", rec[1][:10])
		if err != nil {
			return nil, err
		}
		a, err := strconv.ParseFloat(rec[3], 64)
		if err != nil {
			return nil, err
		}
		amount[cd{rec[0], day(ts)}] += a
	}
	days := map[string][]int{}
	for k := range amount {
		days[k.id] = append(days[k.id], k.day)
	}
	s0, c1, h1 := day(Start), day(CalibrationEnd), day(HoldoutEnd)
	set := &Set{CalibrationEnd: float64(c1-s0) / 7, HoldoutEnd: float64(h1-s0) / 7}
	for id, ds := range days {
		sort.Ints(ds)
		first := ds[0]
		c := Customer{ID: id, Birth: float64(first-s0) / 7, T: float64(c1-first) / 7}
		var spend float64
		for _, d := range ds[1:] {
			set.RepeatTimes = append(set.RepeatTimes, float64(d-s0)/7)
			if d <= c1 {
				c.X++
				c.Tx = float64(d-first) / 7
				spend += amount[cd{id, d}]
			} else if d <= h1 {
				c.Holdout++
			}
		}
		if c.X > 0 {
			c.Zbar = spend / c.X
		}
		set.Customers = append(set.Customers, c)
	}
	sort.Slice(set.Customers, func(i, j int) bool {
		a, _ := strconv.Atoi(set.Customers[i].ID)
		b, _ := strconv.Atoi(set.Customers[j].ID)
		return a < b
	})
	sort.Float64s(set.RepeatTimes)
	return set, nil
}

// Columns returns x, t_x, T as parallel slices.
func (s *Set) Columns() (x, tx, T []float64) {
	for _, c := range s.Customers {
		x = append(x, c.X)
		tx = append(tx, c.Tx)
		T = append(T, c.T)
	}
	return x, tx, T
}
