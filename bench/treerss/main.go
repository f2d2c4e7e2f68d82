// Command treerss runs a command and measures the memory of its whole
// process tree, for `make bench`. Tuku decodes images in child processes
// (the same binary re-executed), so the parent's own peak RSS says little:
// what matters is what the tree holds at once.
//
//	treerss [-o FILE] [-interval 20ms] -- CMD ARGS...
//	treerss -pid PID
//
// The first form runs CMD (standard streams passed through), samples every
// interval the sum of RSS and of PSS over CMD and all its descendants, and
// writes key=value lines: wall_s, tree_rss_peak_kb, tree_pss_peak_kb,
// self_maxrss_kb (CMD's own ru_maxrss), max_maxrss_kb (the largest
// ru_maxrss of CMD or any descendant, which is what GNU time's %M
// reports), samples and exit. It exits with CMD's status.
//
// The second form prints the same sums for a running process's tree once,
// and the process's own RSS.
//
// A sum of RSS counts pages shared between processes (the binary's text,
// shared libraries) once per process, so it overstates; PSS divides shared
// pages among their users and sums to the true footprint. Sampling can miss
// a peak shorter than the interval; ru_maxrss cannot, but is per process.
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	out := flag.String("o", "", "write the results to FILE (default standard error)")
	interval := flag.Duration("interval", 20*time.Millisecond, "sampling interval")
	pid := flag.Int("pid", 0, "print the current tree RSS and PSS of a running process and exit")
	flag.Parse()
	if *pid > 0 {
		rss, pss := treeMem(*pid)
		self, _ := procMem(*pid)
		fmt.Printf("tree_rss_kb=%d\ntree_pss_kb=%d\nself_rss_kb=%d\nprocesses=%d\n", rss, pss, self, len(tree(*pid)))
		return
	}
	if flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: treerss [-o FILE] [-interval D] -- CMD ARGS... | treerss -pid PID")
		os.Exit(2)
	}
	os.Exit(runMeasured(*out, *interval, flag.Args()))
}

// runMeasured runs args, sampling its tree until it exits, and reports.
func runMeasured(out string, interval time.Duration, args []string) int {
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	// Pass interrupts on rather than dying and leaving the tree behind.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	start := time.Now()
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "treerss:", err)
		return 127
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	var peakRSS, peakPSS int64
	samples := 0
	sample := func() {
		rss, pss := treeMem(cmd.Process.Pid)
		peakRSS, peakPSS = max(peakRSS, rss), max(peakPSS, pss)
		samples++
	}
	sample()
	var werr error
loop:
	for {
		select {
		case werr = <-done:
			break loop
		case s := <-sigs:
			_ = cmd.Process.Signal(s)
		case <-tick.C:
			sample()
		}
	}
	wall := time.Since(start)
	code := 0
	if werr != nil {
		code = 1
		if ee, ok := werr.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
	}
	var self int64
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		self = ru.Maxrss
	}
	// RUSAGE_CHILDREN covers CMD and every descendant it waited for: the
	// largest single ru_maxrss among them.
	var ch syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_CHILDREN, &ch)

	var w io.Writer = os.Stderr
	if out != "" {
		f, err := os.Create(out)
		if err != nil {
			fmt.Fprintln(os.Stderr, "treerss:", err)
			return 1
		}
		defer f.Close()
		w = f
	}
	fmt.Fprintf(w, "wall_s=%.3f\ntree_rss_peak_kb=%d\ntree_pss_peak_kb=%d\nself_maxrss_kb=%d\nmax_maxrss_kb=%d\nsamples=%d\nexit=%d\n",
		wall.Seconds(), peakRSS, peakPSS, self, ch.Maxrss, samples, code)
	return code
}

// tree returns pid and all its live descendants. Children are listed per
// thread in /proc (a child belongs to the thread that forked it).
func tree(pid int) []int {
	all := []int{pid}
	for i := 0; i < len(all); i++ {
		tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", all[i]))
		for _, t := range tasks {
			b, err := os.ReadFile(t)
			if err != nil {
				continue // the task ended meanwhile
			}
			for _, f := range strings.Fields(string(b)) {
				if c, err := strconv.Atoi(f); err == nil {
					all = append(all, c)
				}
			}
		}
	}
	return all
}

// treeMem sums RSS and PSS (kB) over pid's tree; processes that end while
// being read count as zero.
func treeMem(pid int) (rss, pss int64) {
	for _, p := range tree(pid) {
		r, s := procMem(p)
		rss += r
		pss += s
	}
	return rss, pss
}

// procMem reads one process's RSS and PSS from /proc/PID/smaps_rollup.
func procMem(pid int) (rss, pss int64) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
	if err != nil {
		return 0, 0
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := sc.Text()
		var dst *int64
		switch {
		case strings.HasPrefix(line, "Rss:"):
			dst = &rss
		case strings.HasPrefix(line, "Pss:"):
			dst = &pss
		default:
			continue
		}
		if f := strings.Fields(line); len(f) >= 2 {
			*dst, _ = strconv.ParseInt(f[1], 10, 64)
		}
	}
	return rss, pss
}
