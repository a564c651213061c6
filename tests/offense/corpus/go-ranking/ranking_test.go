package ranking

import (
	"strconv"
	"testing"
)

func TestByScore(t *testing.T) {
	rows := [][]string{{"a", "x", "1.5"}, {"b", "x", "10"}, {"c", "y", "n/a"}, {"d", "y", "2"}, {"e", "z", "2"}}
	ByScore(rows)
	got := ""
	for _, r := range rows {
		got += r[0]
	}
	if got != "bdeac" {
		t.Fatalf("got %s", got)
	}
}

func TestByScoreMany(t *testing.T) {
	rows := Rows(20000)
	ByScore(rows)
	prev := 1e18
	for _, r := range rows {
		v, err := strconv.ParseFloat(r[2], 64)
		if err != nil {
			v = 0
		}
		if v > prev {
			t.Fatalf("%v after %v", v, prev)
		}
		prev = v
	}
}
