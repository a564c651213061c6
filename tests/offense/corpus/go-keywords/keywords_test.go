package keywords

import "testing"

func TestIsStopWord(t *testing.T) {
	for _, w := range []string{"the", "a", "which", "you"} {
		if !IsStopWord(w) {
			t.Errorf("%q is a stop word", w)
		}
	}
	for _, w := range []string{"fox", "paris", "", "The"} {
		if IsStopWord(w) {
			t.Errorf("%q is not a stop word", w)
		}
	}
}

func TestCount(t *testing.T) {
	got := Count("The fox, the dog and THE fox!")
	if len(got) != 2 || got["fox"] != 2 || got["dog"] != 1 {
		t.Fatalf("got %v", got)
	}
	if n := len(Count(Text(10000))); n == 0 || n > 60 {
		t.Fatalf("%d distinct keywords", n)
	}
}
