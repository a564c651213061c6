// The workload: render 20,000 rows N times; prints `elapsed_ns N` like the other corpus
// programs. `bench [--iterations N] [--cpuprofile FILE]` (a runtime/pprof CPU profile).
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime/pprof"
	"time"

	"example.com/report"
)

func main() {
	iterations := flag.Int("iterations", 3, "renderings")
	profile := flag.String("cpuprofile", "", "write a CPU profile here")
	flag.Parse()
	rows := report.Rows(20000)
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
		total += len(report.CSV(rows))
	}
	fmt.Printf("elapsed_ns %d\n", time.Since(start).Nanoseconds())
	if total == 0 {
		os.Exit(1)
	}
}
