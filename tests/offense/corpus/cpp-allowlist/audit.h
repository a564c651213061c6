// An audit job's filters over a day's account events: which come from allowlisted accounts,
// and which accounts were seen, in the order first seen.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

struct Event {
    uint64_t account;
    uint32_t amount_cents;
};

// The events whose account is on `allowlist`, in their order.
std::vector<Event> permitted(const std::vector<Event>& events, const std::vector<uint64_t>& allowlist);

// Each account of `events` once, in the order it first appears.
std::vector<uint64_t> first_seen(const std::vector<Event>& events);

// `n` events from `accounts` distinct accounts, deterministic.
std::vector<Event> day_of_events(std::size_t n, uint64_t accounts);

// Every `step`-th account id below `accounts`: an allowlist as a configuration file gives it.
std::vector<uint64_t> allowlist_of(uint64_t accounts, uint64_t step);
