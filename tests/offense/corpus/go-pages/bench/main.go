// The workload: 8 goroutines request 40,000 pages each from one renderer, one request in 20 a
// page not seen before; prints `elapsed_ns N` like the other corpus programs.
// `bench [--iterations N] [--mutexprofile FILE] [--cpuprofile FILE]`.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"sync"
	"time"

	"example.com/pages"
)

func main() {
	iterations := flag.Int("iterations", 3, "rounds of requests")
	mutex := flag.String("mutexprofile", "", "write the mutex contention profile here")
	cpu := flag.String("cpuprofile", "", "write a CPU profile here")
	flag.Parse()
	if *mutex != "" {
		runtime.SetMutexProfileFraction(1)
	}
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
	total := 0
	for it := 0; it < *iterations; it++ {
		r := pages.New()
		var wg sync.WaitGroup
		var mu sync.Mutex
		for g := 0; g < 8; g++ {
			wg.Add(1)
			go func(g int) {
				defer wg.Done()
				n := 0
				for i := 0; i < 40000; i++ {
					key := "page-" + strconv.Itoa(i%2000)
					if i%20 == 0 {
						key = "new-" + strconv.Itoa(g) + "-" + strconv.Itoa(i)
					}
					n += len(r.Page(key))
				}
				mu.Lock()
				total += n
				mu.Unlock()
			}(g)
		}
		wg.Wait()
	}
	fmt.Printf("elapsed_ns %d\n", time.Since(start).Nanoseconds())
	if *cpu != "" {
		pprof.StopCPUProfile()
	}
	if *mutex != "" {
		f, err := os.Create(*mutex)
		if err != nil {
			panic(err)
		}
		if err := pprof.Lookup("mutex").WriteTo(f, 0); err != nil {
			panic(err)
		}
		f.Close()
	}
	if total == 0 {
		os.Exit(1)
	}
}
