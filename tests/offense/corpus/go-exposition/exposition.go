// Package exposition writes metric samples in the Prometheus text format, as an exporter
// answers a scrape.
//
// Planted inefficiency (offense corpus): `Write` makes a fresh line buffer for every sample;
// the buffer escapes (it is handed to an io.Writer), so each one is a heap allocation the
// garbage collector must then find and free. One buffer, emptied for each line, does the same.
package exposition

import (
	"io"
	"strconv"
)

// Label is one name="value" pair.
type Label struct {
	Name, Value string
}

// Sample is one point of one series.
type Sample struct {
	Name   string
	Labels []Label
	Value  float64
	Millis int64
}

// Write writes one line per sample: `name{a="x",b="y"} value timestamp`.
func Write(w io.Writer, samples []Sample) error {
	for _, s := range samples {
		line := make([]byte, 0, 256)
		line = append(line, s.Name...)
		if len(s.Labels) > 0 {
			line = append(line, '{')
			for i, l := range s.Labels {
				if i > 0 {
					line = append(line, ',')
				}
				line = append(line, l.Name...)
				line = append(line, '=')
				line = strconv.AppendQuote(line, l.Value)
			}
			line = append(line, '}')
		}
		line = append(line, ' ')
		line = strconv.AppendFloat(line, s.Value, 'g', -1, 64)
		line = append(line, ' ')
		line = strconv.AppendInt(line, s.Millis, 10)
		line = append(line, '\n')
		if _, err := w.Write(line); err != nil {
			return err
		}
	}
	return nil
}

// Samples makes n reproducible samples of a few series.
func Samples(n int) []Sample {
	out := make([]Sample, n)
	state := uint64(0x2545f4914f6cdd1d)
	for i := range out {
		state ^= state << 13
		state ^= state >> 7
		state ^= state << 17
		out[i] = Sample{
			Name: "http_requests_total",
			Labels: []Label{
				{"method", [...]string{"GET", "POST", "PUT"}[state%3]},
				{"code", strconv.Itoa(200 + int(state%5)*100)},
				{"path", "/api/v1/items/" + strconv.FormatUint(state%1000, 10)},
			},
			Value:  float64(state%100000) / 7,
			Millis: 1700000000000 + int64(i),
		}
	}
	return out
}
