// The workload: sort 300,000 rows by score N times (a fresh copy each time); prints
// `elapsed_ns N` like the other corpus programs. `bench [--iterations N] [--cpuprofile FILE]`.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime/pprof"
	"time"

	"example.com/ranking"
)

func main() {
	iterations := flag.Int("iterations", 3, "sorts")
	profile := flag.String("cpuprofile", "", "write a CPU profile here")
	flag.Parse()
	rows := ranking.Rows(300000)
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
	var elapsed time.Duration
	for i := 0; i < *iterations; i++ {
		work := append([][]string(nil), rows...)
		start := time.Now()
		ranking.ByScore(work)
		elapsed += time.Since(start)
	}
	fmt.Printf("elapsed_ns %d\n", elapsed.Nanoseconds())
}
