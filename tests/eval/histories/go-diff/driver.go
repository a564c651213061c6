// The workload tests/eval/attribution_real.py profiles on each version of go-diff's
// diffmatchpatch: the package's own speed-test texts diffed by characters and by lines, cleaned
// up semantically and for efficiency, turned into patches that are applied back, rendered, and
// searched with fuzzy matching, over and over for the given seconds of CPU time (so a profile
// has as many samples on a busy machine as on an idle one), with a CPU profile written
// by runtime/pprof (at its 100 Hz: asked for more, Go 1.19 on a busy machine drops more than
// half the samples). Its inputs are the same for every version, so a share that moves
// between deploys is the library's doing.
//
//	driver TESTDATA_DIR SECONDS PROFILE.pb.gz   (profile "-": none)
//	driver TESTDATA_DIR 0 - ROUNDS              (prints the CPU seconds one round took)
//
// Built with the evaluation's count.go beside it, it also prints the calls a counter planted in
// the library counted.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/sergi/go-diff/diffmatchpatch"
)

// countedCalls, set by the evaluation's counting build (count.go), reports the calls the
// planted counter counted.
var countedCalls func() int64

func round(dmp *diffmatchpatch.DiffMatchPatch, a, b string) int {
	sum := 0
	// Characters of the texts' first part (a character diff of the whole is mostly the
	// bisection), lines of all of it.
	a4, b4 := a[:2000], b[:2000]
	diffs := dmp.DiffMain(a4, b4, false)
	sum += len(diffs)
	// Lines: each line a rune, diffed, then back (what DiffMain's line mode does before it
	// diffs the changed lines' characters again).
	c1, c2, table := dmp.DiffLinesToChars(a, b)
	lines := dmp.DiffCharsToLines(dmp.DiffMain(c1, c2, false), table)
	sum += dmp.DiffLevenshtein(lines)
	sum += len(dmp.DiffCleanupSemantic(append([]diffmatchpatch.Diff(nil), lines...)))
	sum += len(dmp.DiffCleanupMerge(append([]diffmatchpatch.Diff(nil), lines...)))
	semantic := dmp.DiffCleanupSemantic(append([]diffmatchpatch.Diff(nil), diffs...))
	sum += len(dmp.DiffPrettyText(semantic))
	efficient := dmp.DiffCleanupEfficiency(append([]diffmatchpatch.Diff(nil), diffs...))
	sum += len(dmp.DiffToDelta(efficient))
	sum += len(dmp.DiffText1(lines)) + len(dmp.DiffText2(lines))
	patches := dmp.PatchMake(a4, semantic)
	sum += len(dmp.PatchToText(patches))
	applied, _ := dmp.PatchApply(patches, a4)
	sum += len(applied)
	for i := 0; i+64 < len(b) && i < 8000; i += 997 {
		sum += dmp.MatchMain(a, b[i:i+24], i)
	}
	return sum
}

// cpuSeconds is the CPU time the process has used, user and system.
func cpuSeconds() float64 {
	var usage syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &usage); err != nil {
		panic(err)
	}
	return time.Duration(usage.Utime.Nano() + usage.Stime.Nano()).Seconds()
}

func main() {
	dir := os.Args[1]
	seconds, _ := strconv.ParseFloat(os.Args[2], 64)
	read := func(name string) string {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			panic(err)
		}
		return strings.ReplaceAll(string(data), "\r\n", "\n")
	}
	a, b := read("speedtest1.txt"), read("speedtest2.txt")
	dmp := diffmatchpatch.New()
	dmp.DiffTimeout = 0 // the whole diff, however long it takes: the same work every round
	sum := 0
	if len(os.Args) > 4 {
		rounds, _ := strconv.Atoi(os.Args[4])
		start := cpuSeconds()
		for i := 0; i < rounds; i++ {
			sum += round(dmp, a, b)
		}
		fmt.Println((cpuSeconds() - start) / float64(rounds))
	} else {
		if os.Args[3] != "-" {
			out, err := os.Create(os.Args[3])
			if err != nil {
				panic(err)
			}
			if err := pprof.StartCPUProfile(out); err != nil {
				panic(err)
			}
			defer out.Close()
			defer pprof.StopCPUProfile()
		}
		for cpuSeconds() < seconds {
			sum += round(dmp, a, b)
		}
	}
	if countedCalls != nil {
		fmt.Fprintln(os.Stderr, "calls", countedCalls())
	}
	fmt.Fprintln(os.Stderr, "checksum", sum)
}
