// Package report renders query results as CSV text, as an export endpoint or a nightly job
// writes them.
//
// Planted inefficiency (offense corpus): `CSV` builds its text with `out += ...`: every line
// copies everything written so far into a new string, so n lines cost n * n / 2 line copies.
package report

import (
	"strconv"
	"strings"
)

// Row is one result: an id, a name and an amount in cents.
type Row struct {
	ID     int
	Name   string
	Amount int64
}

// CSV renders the rows with a header line, one line each, fields joined by commas.
func CSV(rows []Row) string {
	out := "id,name,amount\n"
	for _, r := range rows {
		out += strconv.Itoa(r.ID) + "," + quote(r.Name) + "," + cents(r.Amount) + "\n"
	}
	return out
}

// quote quotes a field when it holds a comma, a quote or a line break.
func quote(field string) string {
	if !strings.ContainsAny(field, ",\"\n") {
		return field
	}
	return "\"" + strings.ReplaceAll(field, "\"", "\"\"") + "\""
}

// cents writes an amount in cents as units with two decimals.
func cents(amount int64) string {
	sign := ""
	if amount < 0 {
		sign, amount = "-", -amount
	}
	frac := strconv.FormatInt(amount%100, 10)
	if len(frac) < 2 {
		frac = "0" + frac
	}
	return sign + strconv.FormatInt(amount/100, 10) + "." + frac
}

// Rows makes n reproducible rows.
func Rows(n int) []Row {
	rows := make([]Row, n)
	state := uint64(0x9e3779b97f4a7c15)
	for i := range rows {
		state ^= state << 13
		state ^= state >> 7
		state ^= state << 17
		name := "customer " + strconv.FormatUint(state%100000, 36)
		if state%7 == 0 {
			name += ", ltd"
		}
		rows[i] = Row{ID: i + 1, Name: name, Amount: int64(state%2000000) - 1000000}
	}
	return rows
}
