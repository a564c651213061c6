// Package ranking orders the rows of a leaderboard export (name, team, score as text), as a
// report generator does before it prints the top of the table.
//
// Planted inefficiency (offense corpus): `ByScore` parses both scores inside the comparator,
// so every comparison parses two floats: about 2 n log2 n parses for n rows.
package ranking

import (
	"sort"
	"strconv"
)

// ByScore sorts rows by their third field read as a number, highest first; rows whose score
// does not parse count as 0. Rows with equal scores keep their order.
func ByScore(rows [][]string) {
	sort.SliceStable(rows, func(i, j int) bool {
		a, _ := strconv.ParseFloat(rows[i][2], 64)
		b, _ := strconv.ParseFloat(rows[j][2], 64)
		return a > b
	})
}

// Rows makes n reproducible rows.
func Rows(n int) [][]string {
	rows := make([][]string, n)
	state := uint64(0x2545f4914f6cdd1d)
	for i := range rows {
		state ^= state << 13
		state ^= state >> 7
		state ^= state << 17
		score := strconv.FormatFloat(float64(state%10000000)/1000, 'f', 3, 64)
		if state%50 == 0 {
			score = "n/a"
		}
		rows[i] = []string{"player" + strconv.Itoa(i), "team" + strconv.Itoa(int(state%40)), score}
	}
	return rows
}
