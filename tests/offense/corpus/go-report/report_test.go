package report

import (
	"strings"
	"testing"
)

func TestCSV(t *testing.T) {
	got := CSV([]Row{{1, "ann", 1234}, {2, "bob, inc", -5}, {3, `say "hi"`, 100}})
	want := "id,name,amount\n1,ann,12.34\n2,\"bob, inc\",-0.05\n3,\"say \"\"hi\"\"\",1.00\n"
	if got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	if CSV(nil) != "id,name,amount\n" {
		t.Fatal("an empty result is the header alone")
	}
}

func TestCSVLines(t *testing.T) {
	rows := Rows(5000)
	lines := strings.Split(strings.TrimSuffix(CSV(rows), "\n"), "\n")
	if len(lines) != len(rows)+1 {
		t.Fatalf("%d lines for %d rows", len(lines), len(rows))
	}
}
