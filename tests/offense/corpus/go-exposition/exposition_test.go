package exposition

import (
	"bytes"
	"strings"
	"testing"
)

func TestWrite(t *testing.T) {
	var b bytes.Buffer
	err := Write(&b, []Sample{
		{Name: "up", Value: 1, Millis: 5},
		{Name: "reqs", Labels: []Label{{"code", "200"}, {"path", `/a"b`}}, Value: 2.5, Millis: 6},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := "up 1 5\nreqs{code=\"200\",path=\"/a\\\"b\"} 2.5 6\n"
	if b.String() != want {
		t.Fatalf("got %q, want %q", b.String(), want)
	}
}

func TestWriteMany(t *testing.T) {
	var b bytes.Buffer
	samples := Samples(1000)
	if err := Write(&b, samples); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) != len(samples) {
		t.Fatalf("%d lines for %d samples", len(lines), len(samples))
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, "http_requests_total{method=") {
			t.Fatalf("bad line %q", l)
		}
	}
}
