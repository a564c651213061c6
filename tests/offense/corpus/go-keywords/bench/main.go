// The workload: count the keywords of a 500,000-word text N times; prints `elapsed_ns N`
// like the other corpus programs. `bench [--iterations N] [--cpuprofile FILE]`.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime/pprof"
	"time"

	"example.com/keywords"
)

func main() {
	iterations := flag.Int("iterations", 3, "counts of the whole text")
	profile := flag.String("cpuprofile", "", "write a CPU profile here")
	flag.Parse()
	text := keywords.Text(500000)
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
		total += len(keywords.Count(text))
	}
	fmt.Printf("elapsed_ns %d\n", time.Since(start).Nanoseconds())
	if total == 0 {
		os.Exit(1)
	}
}
