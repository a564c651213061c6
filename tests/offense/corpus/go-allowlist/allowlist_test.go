package allowlist

import (
	"reflect"
	"strings"
	"testing"
)

func TestPermitted(t *testing.T) {
	events := []Event{{"a", 100}, {"b", 200}, {"a", 300}, {"c", 400}, {"d", 500}}
	kept := Permitted(events, []string{"a", "d"})
	want := []Event{{"a", 100}, {"a", 300}, {"d", 500}}
	if !reflect.DeepEqual(kept, want) {
		t.Fatalf("got %v, want %v", kept, want)
	}
	if len(Permitted(events, nil)) != 0 || len(Permitted(nil, []string{"a"})) != 0 {
		t.Fatal("nothing is permitted without an allowlist or events")
	}
}

func TestPermittedDay(t *testing.T) {
	day := DayOfEvents(5000, 800)
	allow := AllowlistOf(800, 3)
	on := map[string]bool{}
	for _, a := range allow {
		on[a] = true
	}
	want := 0
	for _, e := range day {
		if on[e.Account] {
			want++
		}
	}
	kept := Permitted(day, allow)
	if len(kept) != want {
		t.Fatalf("%d events kept, want %d", len(kept), want)
	}
	for _, e := range kept {
		if !on[e.Account] || !strings.HasPrefix(e.Account, "acct-") {
			t.Fatalf("%v is not allowlisted", e)
		}
	}
}

func TestFirstSeen(t *testing.T) {
	events := []Event{{"a", 1}, {"b", 2}, {"a", 3}, {"c", 4}, {"b", 5}}
	if got := FirstSeen(events); !reflect.DeepEqual(got, []string{"a", "b", "c"}) {
		t.Fatalf("got %v", got)
	}
}
