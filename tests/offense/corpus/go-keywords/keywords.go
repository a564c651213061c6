// Package keywords finds the words a text is about, as a search indexer or a tag suggester
// does: every word that is not an English stop word, counted.
//
// Planted inefficiency (offense corpus): `IsStopWord` builds its map of stop words on every
// call: about fifty insertions (hashing, bucket allocation) to answer one lookup.
package keywords

import "strings"

// IsStopWord reports whether the lower-case word w is an English stop word.
func IsStopWord(w string) bool {
	stop := map[string]bool{
		"a": true, "about": true, "above": true, "after": true, "again": true, "all": true,
		"am": true, "an": true, "and": true, "any": true, "are": true, "as": true, "at": true,
		"be": true, "because": true, "been": true, "before": true, "being": true, "but": true,
		"by": true, "can": true, "did": true, "do": true, "does": true, "for": true, "from": true,
		"had": true, "has": true, "have": true, "he": true, "her": true, "here": true, "his": true,
		"how": true, "i": true, "if": true, "in": true, "into": true, "is": true, "it": true,
		"its": true, "of": true, "on": true, "or": true, "she": true, "so": true, "than": true,
		"that": true, "the": true, "their": true, "then": true, "there": true, "these": true,
		"they": true, "this": true, "to": true, "was": true, "we": true, "were": true, "what": true,
		"when": true, "which": true, "who": true, "will": true, "with": true, "you": true,
	}
	return stop[w]
}

// Count counts the words of text that are not stop words, case folded, punctuation trimmed.
func Count(text string) map[string]int {
	counts := make(map[string]int)
	for _, field := range strings.Fields(text) {
		w := strings.ToLower(strings.Trim(field, ".,;:!?\"'()"))
		if w == "" || IsStopWord(w) {
			continue
		}
		counts[w]++
	}
	return counts
}

// Text makes a reproducible English-like text of n words.
func Text(n int) string {
	words := strings.Fields("the quick brown fox jumps over the lazy dog and then it runs " +
		"into a forest where they were waiting for him because of what he did to their " +
		"garden, which was full of roses; when is the next train to Paris? who knows.")
	var b strings.Builder
	state := uint64(0x9e3779b97f4a7c15)
	for i := 0; i < n; i++ {
		state ^= state << 13
		state ^= state >> 7
		state ^= state << 17
		b.WriteString(words[state%uint64(len(words))])
		b.WriteByte(' ')
	}
	return b.String()
}
