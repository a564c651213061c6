// Package pages renders pages on first request and keeps them, as a server's template cache
// does.
//
// Planted inefficiency (offense corpus): `Page` holds the cache's lock while it renders a
// missing page, so every other request, hits included, waits for the render to finish.
package pages

import (
	"fmt"
	"strings"
	"sync"
)

// Renderer renders pages and keeps them by key.
type Renderer struct {
	mu    sync.Mutex
	pages map[string]string
}

// New makes an empty renderer.
func New() *Renderer {
	return &Renderer{pages: make(map[string]string)}
}

// Page returns the page for key, rendering it on first use.
func (r *Renderer) Page(key string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if p, ok := r.pages[key]; ok {
		return p
	}
	p := render(key)
	r.pages[key] = p
	return p
}

// Len is the number of pages kept.
func (r *Renderer) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.pages)
}

// render builds a page: a table of 200 rows about key.
func render(key string) string {
	var b strings.Builder
	b.WriteString("<html><body><h1>" + key + "</h1><table>")
	for i := 0; i < 200; i++ {
		fmt.Fprintf(&b, "<tr><td>%d</td><td>%s-%04d</td><td>%.3f</td></tr>", i, key, i*7, float64(i)/3)
	}
	b.WriteString("</table></body></html>")
	return b.String()
}
