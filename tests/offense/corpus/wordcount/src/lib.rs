//! Word frequencies of a text, as a search index or a log summariser counts them.
//!
//! Planted inefficiency (offense corpus): `entry(word.to_string())` builds an owned key for
//! every word, and drops it again when the word was already counted (nearly always).

use std::collections::HashMap;

/// How often each whitespace-separated word occurs in `text`.
pub fn count_words(text: &str) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for word in text.split_whitespace() {
        *counts.entry(word.to_string()).or_insert(0) += 1;
    }
    counts
}

/// `words` words drawn from a vocabulary of `vocabulary` made-up words, skewed as natural
/// language is (a few words are most of the text).
pub fn text(words: usize, vocabulary: usize) -> String {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut out = String::with_capacity(words * 8);
    for _ in 0..words {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        // Squaring a uniform draw skews it towards the common words.
        let u = (state % 1_000_000) as f64 / 1_000_000.0;
        let rank = (u * u * vocabulary as f64) as usize;
        out.push_str(&format!("w{rank:x}q "));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_each_word() {
        let counts = count_words("the cat and the hat and the bat");
        assert_eq!(counts["the"], 3);
        assert_eq!(counts["and"], 2);
        assert_eq!(counts["cat"], 1);
        assert_eq!(counts.len(), 5);
    }

    #[test]
    fn counts_add_up_to_the_words() {
        let text = text(10_000, 500);
        let counts = count_words(&text);
        assert_eq!(counts.values().sum::<usize>(), 10_000);
        assert!(counts.len() <= 500);
    }
}
