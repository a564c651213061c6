package pages

import (
	"strings"
	"sync"
	"testing"
)

func TestPage(t *testing.T) {
	r := New()
	a := r.Page("alpha")
	if !strings.Contains(a, "<h1>alpha</h1>") || strings.Count(a, "<tr>") != 200 {
		t.Fatalf("bad page: %.80q", a)
	}
	if r.Page("alpha") != a || r.Len() != 1 {
		t.Fatal("a page is rendered once and kept")
	}
}

func TestConcurrentPages(t *testing.T) {
	r := New()
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				key := string(rune('a' + (g+i)%26))
				if !strings.Contains(r.Page(key), "<h1>"+key+"</h1>") {
					t.Errorf("wrong page for %s", key)
				}
			}
		}(g)
	}
	wg.Wait()
	if r.Len() != 26 {
		t.Fatalf("%d pages", r.Len())
	}
}
