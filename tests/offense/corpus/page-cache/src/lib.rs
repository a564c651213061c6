//! A cache of rendered pages shared by a server's worker threads: each request looks its page
//! up, renders it on a miss, and the worker sends the page with its headers.
//!
//! Planted inefficiency (offense corpus): `PageCache::page` renders a missing page while it
//! holds the cache's `Mutex`, so every worker that wants any page, even a cached one, waits
//! for the render.

use std::collections::HashMap;
use std::fmt::Write;
use std::sync::Mutex;

/// Rendered pages by id, at most `capacity` of them.
pub struct PageCache {
    pages: Mutex<HashMap<u32, String>>,
    capacity: usize,
}

impl PageCache {
    pub fn new(capacity: usize) -> Self {
        PageCache {
            pages: Mutex::new(HashMap::new()),
            capacity,
        }
    }

    /// The page `id`, rendered once and then served from the cache until evicted.
    pub fn page(&self, id: u32) -> String {
        let mut pages = self.pages.lock().unwrap();
        if let Some(page) = pages.get(&id) {
            return page.clone();
        }
        let page = render(id);
        if pages.len() >= self.capacity
            && let Some(&old) = pages.keys().next()
        {
            pages.remove(&old);
        }
        pages.insert(id, page.clone());
        page
    }

    /// How many pages the cache holds.
    pub fn len(&self) -> usize {
        self.pages.lock().unwrap().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Lays out page `id`: the slow work a miss costs (a few microseconds).
pub fn render(id: u32) -> String {
    let mut out = String::from("<table class=\"page\">\n");
    let mut state = 0x9E37_79B9_7F4A_7C15u64 ^ u64::from(id);
    for i in 0..24 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let _ = writeln!(
            out,
            "<tr><td>{i}</td><td>{}</td><td>{}</td></tr>",
            state % 1_000_000,
            state >> 40
        );
    }
    out.push_str("</table>\n");
    out
}

/// The page's entity tag (FNV-1a of its bytes).
pub fn etag(page: &str) -> u64 {
    page.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

/// The HTTP response a worker sends for `page`: its headers (with its tag) and the page.
pub fn respond(page: &str) -> String {
    format!(
        "HTTP/1.1 200 OK\r\nETag: \"{:016x}\"\r\nContent-Length: {}\r\n\r\n{page}",
        etag(page),
        page.len()
    )
}

/// The page a request line asks for (`GET /pages/12 HTTP/1.1` -> 12).
pub fn page_id(request: &str) -> Option<u32> {
    let rest = request.split_once("/pages/")?.1;
    rest.split(' ').next()?.parse().ok()
}

/// `threads` workers each serve `requests` page requests drawn from `distinct` pages, most of
/// them for the 64 popular ones; returns the bytes of the responses.
pub fn serve(cache: &PageCache, threads: u64, requests: usize, distinct: u64) -> usize {
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                scope.spawn(move || {
                    let mut state = 0x2545_F491_4F6C_DD1Du64 + t * 7919;
                    let mut bytes = 0;
                    for _ in 0..requests {
                        state ^= state << 13;
                        state ^= state >> 7;
                        state ^= state << 17;
                        // Nine requests in ten ask for one of the 64 popular pages.
                        let id = if !state.is_multiple_of(10) {
                            (state >> 8) % 64
                        } else {
                            (state >> 8) % distinct
                        };
                        let request = format!("GET /pages/{id} HTTP/1.1");
                        let id = page_id(&request).unwrap_or(0);
                        bytes += respond(&cache.page(id)).len();
                    }
                    bytes
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).sum()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_come_from_the_cache_as_rendered() {
        assert_eq!(render(7), render(7));
        assert_ne!(render(7), render(8));
        assert!(render(1).starts_with("<table"));
        let cache = PageCache::new(4);
        assert_eq!(cache.page(3), render(3));
        assert_eq!(cache.page(3), render(3));
        for id in 0..10 {
            assert_eq!(cache.page(id), render(id));
        }
        assert!(cache.len() <= 4);
    }

    #[test]
    fn responses_carry_the_tag_and_the_page() {
        assert_eq!(page_id("GET /pages/12 HTTP/1.1"), Some(12));
        assert_eq!(page_id("GET /index.html HTTP/1.1"), None);
        let page = render(1);
        let response = respond(&page);
        assert!(response.starts_with("HTTP/1.1 200 OK\r\n"));
        assert!(response.contains(&format!("ETag: \"{:016x}\"", etag(&page))));
        assert!(response.ends_with(&page));
    }

    #[test]
    fn workers_share_the_cache() {
        let shared = PageCache::new(32);
        assert!(serve(&shared, 4, 2000, 100) > 0);
        assert!(shared.len() <= 32);
        for id in 0..100 {
            assert_eq!(shared.page(id), render(id));
        }
    }
}
