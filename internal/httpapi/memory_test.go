package httpapi_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"tuku/internal/testenv"
)

// maxHostileRSS bounds the memory of the server (this test process) plus
// its imaging child processes while every hostile and broken file of the
// corpus is uploaded. The bombs among them declare gigapixels; decoding
// one would take gigabytes.
const maxHostileRSS = 500 << 20

// TestHostileUploadMemory uploads all of corpus/bad and corpus/broken
// through the API, one at a time, while sampling from /proc the resident
// memory of this process (the server) and of its children (the imaging
// workers, which do the decoding). It asserts that no upload gets a 5xx,
// that the server stays healthy, and that the memory stays under
// maxHostileRSS, and logs the peaks (go test -v -run HostileUploadMemory).
func TestHostileUploadMemory(t *testing.T) {
	corpus := testenv.Corpus(t)
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("no /proc: cannot measure memory here")
	}
	type upload struct{ path, name string }
	var files []upload
	m := readBadManifest(t, filepath.Join(corpus, "bad"))
	for _, f := range m.Files {
		names := f.UploadNames
		if len(names) == 0 {
			names = []string{f.File}
		}
		for _, n := range names {
			files = append(files, upload{filepath.Join(corpus, "bad", f.File), n})
		}
	}
	broken, err := filepath.Glob(filepath.Join(corpus, "broken", "*"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range broken {
		files = append(files, upload{p, filepath.Base(p)})
	}
	if len(files) < 60 {
		t.Fatalf("only %d files in bad/ and broken/", len(files))
	}

	e := newEnv(t)
	e.createCustomer("Hostile", "HOSTILE")
	// Warm up: the first upload starts the imaging workers, so the
	// baseline includes them.
	e.mustUpload(201, text("customer_id", "HOSTILE"), file("warm.jpg", makeJPEG(t, 64, 48, 1)))

	self := os.Getpid()
	resetPeak(self)
	for _, pid := range descendants(self) {
		resetPeak(pid)
	}
	sampler := startRSSSampler(self, 5*time.Millisecond)
	base := sampler.snapshot()

	statuses := map[int]int{}
	start := time.Now()
	for _, f := range files {
		data, err := os.ReadFile(f.path)
		if err != nil {
			t.Fatal(err)
		}
		// A file listed under several hostile names is a duplicate after
		// its first upload: no new decoding, which is fine for a memory
		// bound (corpus_test.go checks each name's outcome).
		r := e.upload(text("customer_id", "HOSTILE"), file(f.name, data))
		statuses[r.StatusCode]++
		if r.StatusCode >= 500 {
			t.Errorf("%s as %.40q: %d %s", filepath.Base(f.path), f.name, r.StatusCode, r.body)
		}
	}
	elapsed := time.Since(start)
	peak := sampler.stop()
	selfHWM := readStatusKB(self, "VmHWM") << 10
	if selfHWM > peak.self {
		peak.self = selfHWM // the kernel's high-water mark sees between samples
	}
	if r := e.get("/healthz"); r.StatusCode != 200 {
		t.Errorf("healthz after the hostile uploads: %d", r.StatusCode)
	}

	var codes []string
	for c, n := range statuses {
		codes = append(codes, strconv.Itoa(c)+"×"+strconv.Itoa(n))
	}
	sort.Strings(codes)
	mb := func(n int64) string { return strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64) + " MB" }
	bound := peak.self + peak.childrenSum
	t.Logf("hostile uploads: %d files in %v, statuses %s", len(files), elapsed.Round(time.Millisecond), strings.Join(codes, " "))
	t.Logf("memory before: server %s, imaging children %s (%d processes)", mb(base.self), mb(base.childrenSum), base.children)
	t.Logf("memory peak: server (this process, VmHWM) %s; largest imaging child %s; children at once %s (up to %d processes, %d seen); whole tree sampled %s; bound used (server peak + children peak) %s < %s",
		mb(peak.self), mb(peak.childMax), mb(peak.childrenSum), peak.children, peak.seen, mb(peak.tree), mb(bound), mb(maxHostileRSS))
	if bound >= maxHostileRSS {
		t.Errorf("memory peak %s over the bound %s", mb(bound), mb(maxHostileRSS))
	}
	if peak.samples < 10 {
		t.Errorf("only %d memory samples", peak.samples)
	}
}

// readBadManifest reads corpus/bad/manifest.json.
func readBadManifest(t *testing.T, dir string) badManifest {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m badManifest
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// rssPeak is what the sampler saw, in bytes.
type rssPeak struct {
	self        int64 // this process
	childMax    int64 // the largest single descendant
	childrenSum int64 // all descendants at one sample
	tree        int64 // self + descendants at one sample
	children    int   // most descendants alive at once
	seen        int   // distinct descendant processes
	samples     int
}

type rssSampler struct {
	root  int
	stopc chan struct{}
	done  chan rssPeak
}

// startRSSSampler polls /proc every interval for root's resident memory
// and its descendants' (by their high-water mark, VmHWM, so a spike
// between two samples still counts), until stop.
func startRSSSampler(root int, every time.Duration) *rssSampler {
	s := &rssSampler{root: root, stopc: make(chan struct{}), done: make(chan rssPeak, 1)}
	go func() {
		var p rssPeak
		seen := map[int]bool{}
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			snap := sampleTree(root)
			p.samples++
			p.self = max(p.self, snap.self)
			p.childMax = max(p.childMax, snap.childMax)
			p.childrenSum = max(p.childrenSum, snap.childrenSum)
			p.tree = max(p.tree, snap.self+snap.childrenSum)
			p.children = max(p.children, snap.children)
			for _, pid := range snap.pids {
				seen[pid] = true
			}
			p.seen = len(seen)
			select {
			case <-s.stopc:
				s.done <- p
				return
			case <-tick.C:
			}
		}
	}()
	return s
}

func (s *rssSampler) snapshot() rssPeak {
	snap := sampleTree(s.root)
	return rssPeak{self: snap.self, childrenSum: snap.childrenSum, children: snap.children}
}

func (s *rssSampler) stop() rssPeak {
	close(s.stopc)
	return <-s.done
}

type treeSample struct {
	self, childMax, childrenSum int64
	children                    int
	pids                        []int
}

// sampleTree reads the RSS of root and the high-water mark of each of its
// descendants.
func sampleTree(root int) treeSample {
	var s treeSample
	s.self = readStatusKB(root, "VmRSS") << 10
	for _, pid := range descendants(root) {
		kb := readStatusKB(pid, "VmHWM")
		if kb == 0 {
			continue // gone, or a kernel thread
		}
		s.children++
		s.pids = append(s.pids, pid)
		s.childrenSum += kb << 10
		s.childMax = max(s.childMax, kb<<10)
	}
	return s
}

// descendants lists the processes below root, from /proc/*/stat's ppid.
func descendants(root int) []int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	parent := map[int]int{}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid …; comm may hold spaces and parentheses.
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) < 2 {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		parent[pid] = ppid
	}
	var out []int
	for pid := range parent {
		for p, n := parent[pid], 0; p != 0 && n < 64; p, n = parent[p], n+1 {
			if p == root {
				out = append(out, pid)
				break
			}
		}
	}
	return out
}

// readStatusKB reads a "Name:   123 kB" line of /proc/pid/status; 0 when
// absent.
func readStatusKB(pid int, name string) int64 {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if v, ok := strings.CutPrefix(line, name+":"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

// resetPeak resets the kernel's high-water mark (VmHWM) of pid, so that it
// measures from now rather than from whatever ran earlier in this test
// binary. Best effort: without it VmHWM only overstates.
func resetPeak(pid int) {
	os.WriteFile("/proc/"+strconv.Itoa(pid)+"/clear_refs", []byte("5"), 0)
}
