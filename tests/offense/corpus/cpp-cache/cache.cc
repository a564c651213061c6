// Planted inefficiency (offense corpus): `PageCache::page` renders a missing page while it
// holds `mu_`, so every worker that wants any page, even a cached one, waits for the render.
#include "cache.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

std::string render(int id) {
    std::string out;
    char row[96];
    uint64_t state = 0x9E3779B97F4A7C15ULL ^ static_cast<uint64_t>(id);
    out += "<table class=\"page\">\n";
    for (int i = 0; i < 24; ++i) {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        int n = std::snprintf(row, sizeof row, "<tr><td>%d</td><td>%llu</td><td>%llu</td></tr>\n", i,
                              static_cast<unsigned long long>(state % 1000000),
                              static_cast<unsigned long long>(state >> 40));
        out.append(row, static_cast<std::size_t>(n));
    }
    out += "</table>\n";
    return out;
}

std::uint64_t etag(const std::string& page) {
    std::uint64_t h = 0xcbf29ce484222325ULL;
    for (unsigned char c : page) h = (h ^ c) * 0x100000001b3ULL;
    return h;
}

std::string respond(const std::string& page) {
    char head[128];
    int n = std::snprintf(head, sizeof head, "HTTP/1.1 200 OK\r\nETag: \"%016llx\"\r\nContent-Length: %zu\r\n\r\n",
                          static_cast<unsigned long long>(etag(page)), page.size());
    std::string out(head, static_cast<std::size_t>(n));
    out += page;
    return out;
}

int page_id(const char* request) {
    const char* path = std::strstr(request, "/pages/");
    return path == nullptr ? -1 : static_cast<int>(std::strtol(path + 7, nullptr, 10));
}

std::string PageCache::page(int id) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = pages_.find(id);
    if (it != pages_.end()) return it->second;
    std::string rendered = render(id);
    if (pages_.size() >= capacity_) pages_.erase(pages_.begin());
    pages_.emplace(id, rendered);
    return rendered;
}

std::size_t PageCache::size() {
    std::lock_guard<std::mutex> lock(mu_);
    return pages_.size();
}

std::uint64_t serve(PageCache& cache, int threads, int requests, int distinct) {
    std::vector<std::thread> workers;
    std::vector<std::uint64_t> served(static_cast<std::size_t>(threads), 0);
    for (int t = 0; t < threads; ++t) {
        workers.emplace_back([&cache, &served, t, requests, distinct] {
            uint64_t state = 0x2545F4914F6CDD1DULL + static_cast<uint64_t>(t) * 7919;
            std::uint64_t bytes = 0;
            for (int r = 0; r < requests; ++r) {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                // Nine requests in ten ask for one of the 64 popular pages.
                int id = state % 10 != 0 ? static_cast<int>((state >> 8) % 64)
                                         : static_cast<int>((state >> 8) % static_cast<uint64_t>(distinct));
                char request[64];
                std::snprintf(request, sizeof request, "GET /pages/%d HTTP/1.1", id);
                bytes += respond(cache.page(page_id(request))).size();
            }
            served[static_cast<std::size_t>(t)] = bytes;
        });
    }
    for (auto& w : workers) w.join();
    std::uint64_t total = 0;
    for (auto b : served) total += b;
    return total;
}
