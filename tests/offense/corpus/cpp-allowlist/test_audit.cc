// The program's own tests: `make -f build.mk test` in this directory.
#include <cassert>
#include <cstdio>
#include "audit.h"

int main() {
    std::vector<Event> events = {{7, 100}, {3, 200}, {7, 300}, {9, 400}, {5, 500}};
    std::vector<Event> kept = permitted(events, {7, 5});
    assert(kept.size() == 3);
    assert(kept[0].amount_cents == 100 && kept[1].amount_cents == 300 && kept[2].amount_cents == 500);
    assert(permitted(events, {}).empty());
    assert(permitted({}, {7}).empty());
    assert((first_seen(events) == std::vector<uint64_t>{7, 3, 9, 5}));
    std::vector<Event> day = day_of_events(5000, 800);
    std::vector<uint64_t> allow = allowlist_of(800, 3);
    std::vector<Event> day_kept = permitted(day, allow);
    std::size_t expected = 0;
    for (const Event& e : day) expected += (e.account - 1000000) % 3 == 0;
    assert(day_kept.size() == expected);
    for (const Event& e : day_kept) assert((e.account - 1000000) % 3 == 0);
    std::vector<uint64_t> seen = first_seen(day);
    assert(seen.size() <= 800 && seen.front() == day.front().account);
    std::puts("ok");
    return 0;
}
