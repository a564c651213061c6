// Package allowlist filters a day's account events against an allowlist, as an audit job
// does, and lists the accounts seen.
//
// Planted inefficiency (offense corpus): `Permitted` looks every event's account up in the
// allowlist with `contains`, which walks the whole slice for each event. `FirstSeen` does the
// same against a slice it grows in the loop: no set built before the loop could replace it.
package allowlist

import "fmt"

// Event is one account event: the account and an amount in cents.
type Event struct {
	Account     string
	AmountCents int
}

// Permitted returns the events whose account is on the allowlist, in their order.
func Permitted(events []Event, allowlist []string) []Event {
	var out []Event
	for _, e := range events {
		if contains(allowlist, e.Account) {
			out = append(out, e)
		}
	}
	return out
}

// FirstSeen returns each account of the events once, in the order it first appears.
func FirstSeen(events []Event) []string {
	var seen []string
	for _, e := range events {
		if !contains(seen, e.Account) {
			seen = append(seen, e.Account)
		}
	}
	return seen
}

// contains reports whether s is in list.
func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// Account is the name of account number n.
func Account(n int) string {
	return fmt.Sprintf("acct-%06d", n)
}

// DayOfEvents returns n events from the given number of distinct accounts, deterministic.
func DayOfEvents(n, accounts int) []Event {
	out := make([]Event, n)
	state := uint64(0x2545F4914F6CDD1D)
	for i := range out {
		state ^= state << 13
		state ^= state >> 7
		state ^= state << 17
		out[i] = Event{Account(int(state % uint64(accounts))), int(state>>40) % 100000}
	}
	return out
}

// AllowlistOf returns every step-th account below accounts: an allowlist as a configuration
// file gives it.
func AllowlistOf(accounts, step int) []string {
	var out []string
	for a := 0; a < accounts; a += step {
		out = append(out, Account(a))
	}
	return out
}
