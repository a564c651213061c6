// The workload: write 200,000 samples N times to a discarding writer; prints `elapsed_ns N`
// like the other corpus programs. `bench [--iterations N] [--cpuprofile FILE]
// [--allocprofile FILE]` (a runtime/pprof CPU profile; the runtime's allocation profile).
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
	"time"

	"example.com/exposition"
)

// counter discards what it is given and counts the bytes: a scrape's network connection.
type counter struct{ n int }

func (c *counter) Write(p []byte) (int, error) {
	c.n += len(p)
	return len(p), nil
}

func main() {
	iterations := flag.Int("iterations", 5, "writes of all the samples")
	allocs := flag.String("allocprofile", "", "write the allocation profile here")
	cpu := flag.String("cpuprofile", "", "write a CPU profile here")
	flag.Parse()
	samples := exposition.Samples(200000)
	var w io.Writer = &counter{}
	if *cpu != "" {
		f, err := os.Create(*cpu)
		if err != nil {
			panic(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			panic(err)
		}
	}
	start := time.Now()
	for i := 0; i < *iterations; i++ {
		if err := exposition.Write(w, samples); err != nil {
			panic(err)
		}
	}
	fmt.Printf("elapsed_ns %d\n", time.Since(start).Nanoseconds())
	if *cpu != "" {
		pprof.StopCPUProfile()
	}
	if *allocs != "" {
		f, err := os.Create(*allocs)
		if err != nil {
			panic(err)
		}
		runtime.GC()
		if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
			panic(err)
		}
		f.Close()
	}
}
