// The program's own tests: `make -f build.mk test` in this directory.
#include <cassert>
#include <cstdio>

#include "cache.h"

int main() {
    assert(render(7) == render(7));
    assert(render(7) != render(8));
    assert(render(1).rfind("<table", 0) == 0);
    assert(page_id("GET /pages/12 HTTP/1.1") == 12);
    assert(page_id("GET /index.html HTTP/1.1") == -1);
    std::string response = respond(render(1));
    assert(response.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
    assert(response.find("ETag: \"") != std::string::npos);
    assert(response.size() > render(1).size());
    PageCache cache(4);
    assert(cache.page(3) == render(3));
    assert(cache.page(3) == render(3));
    for (int id = 0; id < 10; ++id) assert(cache.page(id) == render(id));
    assert(cache.size() <= 4);
    PageCache shared(32);
    std::uint64_t bytes = serve(shared, 4, 2000, 100);
    PageCache alone(32);
    assert(bytes > 0);
    assert(serve(alone, 1, 8000, 100) > 0);
    assert(shared.size() <= 32);
    for (int id = 0; id < 100; ++id) assert(shared.page(id) == render(id));
    std::puts("ok");
    return 0;
}
