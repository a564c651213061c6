// The workload: filter a day of 20,000 events against a 1,000-account allowlist and list the
// allowed accounts seen, N times; prints `elapsed_ns N` like the other corpus programs.
// `bench [--iterations N] [--cpuprofile FILE]` (a runtime/pprof CPU profile).
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime/pprof"
	"time"

	"example.com/allowlist"
)

func main() {
	iterations := flag.Int("iterations", 10, "filterings")
	profile := flag.String("cpuprofile", "", "write a CPU profile here")
	flag.Parse()
	day := allowlist.DayOfEvents(20000, 3000)
	allow := allowlist.AllowlistOf(3000, 3)
	if *profile != "" {
		f, err := os.Create(*profile)
		if err != nil {
			panic(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			panic(err)
		}
		defer pprof.StopCPUProfile()
	}
	total := 0
	start := time.Now()
	for i := 0; i < *iterations; i++ {
		kept := allowlist.Permitted(day, allow)
		total += len(allowlist.FirstSeen(kept))
	}
	fmt.Printf("elapsed_ns %d\n", time.Since(start).Nanoseconds())
	if total == 0 {
		os.Exit(1)
	}
}
