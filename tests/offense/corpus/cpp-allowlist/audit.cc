// Planted inefficiency (offense corpus): `permitted` looks every event's account up in the
// allowlist with `std::find`, walking the whole vector for each event. `first_seen` does the
// same against a vector it grows in the loop: no set built before the loop could replace it.
#include "audit.h"

#include <algorithm>

std::vector<Event> permitted(const std::vector<Event>& events, const std::vector<uint64_t>& allowlist) {
    std::vector<Event> out;
    for (const Event& e : events) {
        if (std::find(allowlist.begin(), allowlist.end(), e.account) != allowlist.end()) {
            out.push_back(e);
        }
    }
    return out;
}

std::vector<uint64_t> first_seen(const std::vector<Event>& events) {
    std::vector<uint64_t> seen;
    for (const Event& e : events) {
        if (std::find(seen.begin(), seen.end(), e.account) == seen.end()) {
            seen.push_back(e.account);
        }
    }
    return seen;
}

std::vector<Event> day_of_events(std::size_t n, uint64_t accounts) {
    std::vector<Event> out(n);
    uint64_t state = 0x2545F4914F6CDD1DULL;
    for (std::size_t i = 0; i < n; ++i) {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out[i] = Event{1000000 + state % accounts, static_cast<uint32_t>(state >> 40) % 100000};
    }
    return out;
}

std::vector<uint64_t> allowlist_of(uint64_t accounts, uint64_t step) {
    std::vector<uint64_t> out;
    for (uint64_t a = 0; a < accounts; a += step) out.push_back(1000000 + a);
    return out;
}
