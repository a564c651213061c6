// A cache of rendered pages shared by a server's worker threads (offense corpus: lock
// contention). `PageCache::page` renders a missing page while it holds the cache's mutex.
#pragma once
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

// Lays out page `id`: the slow work a miss costs (a few microseconds).
std::string render(int id);

// The page's entity tag (FNV-1a of its bytes).
std::uint64_t etag(const std::string& page);

// The page a request line asks for (`GET /pages/12 HTTP/1.1` -> 12), -1 for none.
int page_id(const char* request);

// The HTTP response a worker sends for `page`: its headers (with its tag) and the page.
std::string respond(const std::string& page);

class PageCache {
public:
    explicit PageCache(std::size_t capacity) : capacity_(capacity) {}
    // The page `id`, rendered once and then served from the cache until evicted.
    std::string page(int id);
    std::size_t size();

private:
    std::mutex mu_;
    std::unordered_map<int, std::string> pages_;
    std::size_t capacity_;
};

// `threads` workers each serve `requests` page requests drawn from `distinct` pages, most of
// them for the 64 popular ones; returns the bytes of the responses.
std::uint64_t serve(PageCache& cache, int threads, int requests, int distinct);
