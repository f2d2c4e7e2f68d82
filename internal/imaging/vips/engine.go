// Package vips is Tuku's imaging.Engine on libvips. Untrusted files are
// decoded only in long-lived child processes (ServeWorker, started from
// Config.Command), one request at a time each: a decoder that crashes,
// hangs or balloons fails that one request, the child is replaced and
// every other request carries on. Inside a child, libvips runs with one
// thread, no operation cache, untrusted operations blocked and only the
// JPEG, PNG, WebP, GIF, HEIF/AVIF and TIFF loaders reachable, each called
// directly for the format sniffed from the file's magic bytes.
package vips

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"tuku/internal/errs"
	"tuku/internal/imaging"
)

// Version is the rendering version: bump it whenever renditions change
// (sizes, encoder settings, colour handling) so cached renditions keyed by
// it are rebuilt.
const Version = 1

// Config configures an Engine. Zero fields take the documented defaults.
type Config struct {
	// Command starts one worker: argv whose process calls ServeWorker on
	// its stdin and stdout, e.g. [os.Executable(), "imaging-worker"].
	Command []string
	// Env is added to the parent's environment for workers.
	Env []string
	// Workers is how many children run at once (default runtime.NumCPU()).
	Workers int
	// Timeout bounds one request inside a child (default 60s); a child
	// that takes longer is killed.
	Timeout time.Duration
	// MemoryLimit caps each child's data memory in bytes (default 1 GiB).
	MemoryLimit uint64
	// Limits are checked from headers before decoding (default
	// imaging.DefaultLimits()).
	Limits imaging.Limits
	// IdleTimeout stops a worker that has had no request for this long
	// (default 1 minute), so an idle server does not keep decoders'
	// memory.
	IdleTimeout time.Duration

	// testOps lets tests send crash/hang/alloc requests to workers.
	testOps bool
}

func (c *Config) withDefaults() Config {
	out := *c
	if out.Workers <= 0 {
		out.Workers = runtime.NumCPU()
	}
	if out.Timeout <= 0 {
		out.Timeout = 60 * time.Second
	}
	if out.IdleTimeout <= 0 {
		out.IdleTimeout = time.Minute
	}
	if out.MemoryLimit == 0 {
		out.MemoryLimit = 1 << 30
	}
	if out.Limits == (imaging.Limits{}) {
		out.Limits = imaging.DefaultLimits()
	}
	return out
}

// Validate reports configuration errors.
func (c *Config) Validate() error {
	if len(c.Command) == 0 {
		return errs.E(errs.Invalid, "imaging.config", "imaging worker command is empty", nil)
	}
	if c.Workers < 0 || c.Timeout < 0 {
		return errs.E(errs.Invalid, "imaging.config", "imaging workers and timeout must not be negative", nil)
	}
	return nil
}

// Engine is an imaging.Engine backed by a pool of worker processes.
type Engine struct {
	cfg   Config
	slots chan struct{} // one token per request in flight, at most Workers

	mu     sync.Mutex
	idle   []*worker
	live   map[*worker]struct{}
	closed bool
	reaper *time.Timer // pending reap of idle workers, nil when none
}

var _ imaging.Engine = (*Engine)(nil)

// New returns the engine. Workers start on demand, up to Workers: a
// worker costs about half a second to start (exec and loading libvips), a
// price CLI commands that decode nothing should not pay. Warm starts one
// ahead of time.
func New(cfg Config) (*Engine, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	e := &Engine{cfg: cfg.withDefaults(), live: map[*worker]struct{}{}}
	e.slots = make(chan struct{}, e.cfg.Workers)
	return e, nil
}

// Check starts a worker and stops it again: it tells at start-up whether
// Command works, without keeping an idle decoder's memory.
func (e *Engine) Check(ctx context.Context) error {
	w, err := e.start(ctx)
	if err != nil {
		return err
	}
	e.discard(w)
	return nil
}

// Warm starts one idle worker, checking that Command works, so the first
// upload does not wait for it. It stops after IdleTimeout like any other.
func (e *Engine) Warm(ctx context.Context) error {
	w, err := e.start(ctx)
	if err != nil {
		return err
	}
	e.put(w)
	return nil
}

// Version implements imaging.Engine.
func (e *Engine) Version() int { return Version }

// Close stops every worker. Requests still running fail.
func (e *Engine) Close() error {
	e.mu.Lock()
	e.closed = true
	ws := make([]*worker, 0, len(e.live))
	for w := range e.live {
		ws = append(ws, w)
	}
	e.idle = nil
	if e.reaper != nil {
		e.reaper.Stop()
		e.reaper = nil
	}
	e.mu.Unlock()
	for _, w := range ws {
		w.stop()
	}
	return nil
}

// Probe implements imaging.Engine.
func (e *Engine) Probe(ctx context.Context, path string) (imaging.Info, error) {
	resp, err := e.run(ctx, opProbe, path, nil)
	if err != nil {
		return imaging.Info{}, err
	}
	return resp.Info, nil
}

// Render implements imaging.Engine.
func (e *Engine) Render(ctx context.Context, path string, outs []imaging.Output) ([]imaging.Rendered, error) {
	if len(outs) == 0 {
		return nil, errs.E(errs.Invalid, "imaging.render", "no renditions asked for", nil)
	}
	resp, err := e.run(ctx, opRender, path, outs)
	if err != nil {
		return nil, err
	}
	return resp.Rendered, nil
}

// Analyze implements imaging.Engine.
func (e *Engine) Analyze(ctx context.Context, path string, outs []imaging.Output) (*imaging.Analysis, error) {
	resp, err := e.run(ctx, opAnalyze, path, outs)
	if err != nil {
		return nil, err
	}
	return &imaging.Analysis{Info: resp.Info, Outputs: resp.Rendered, PHash: resp.PHash, Clarity: resp.Clarity}, nil
}

// run does the checks that need no decoder in this process (the file's
// size and magic bytes, the outputs), then hands the file to a worker.
func (e *Engine) run(ctx context.Context, o op, path string, outs []imaging.Output) (*response, error) {
	opName := "imaging." + string(o)
	if err := checkOutputs(outs); err != nil {
		return nil, err
	}
	format, err := sniffFile(path, e.cfg.Limits)
	if err != nil {
		return nil, err
	}
	return e.do(ctx, request{Op: o, Path: path, Format: format, Limits: e.cfg.Limits, Outs: outs}, opName)
}

func sniffFile(path string, limits imaging.Limits) (imaging.Format, error) {
	const op = "imaging.sniff"
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return "", errs.E(errs.NotFound, op, "file not found", err)
		}
		return "", errs.E(errs.Internal, op, "", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return "", errs.E(errs.Internal, op, "", err)
	}
	if !st.Mode().IsRegular() {
		return "", errs.E(errs.Invalid, op, "not a regular file", nil)
	}
	if err := limits.CheckBytes(st.Size()); err != nil {
		return "", err
	}
	head := make([]byte, imaging.SniffLen)
	n, err := io.ReadFull(f, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return "", errs.E(errs.Internal, op, "", err)
	}
	format, err := imaging.Sniff(head[:n])
	if err != nil {
		return "", err
	}
	// libnsgif sizes a GIF by its frames when the logical screen is
	// absurd, so libvips would report a 65535x65535 canvas as 1x1. The
	// canvas is what the file claims and what other decoders allocate:
	// hold it to the limits too.
	if format == imaging.GIF && n >= 10 {
		canvas := imaging.Info{Format: format, Width: int(binary.LittleEndian.Uint16(head[6:8])),
			Height: int(binary.LittleEndian.Uint16(head[8:10])), Frames: 1}
		if err := limits.Check(canvas); err != nil {
			return "", err
		}
	}
	return format, nil
}

func checkOutputs(outs []imaging.Output) error {
	const op = "imaging.render"
	for i, o := range outs {
		switch o.Spec.Format {
		case imaging.JPEG, imaging.PNG, imaging.WebP, imaging.AVIF:
		default:
			return errs.Ef(errs.Invalid, op, "output %d: cannot encode %q (JPEG, PNG, WebP or AVIF)", i, o.Spec.Format)
		}
		if o.Path == "" || o.Spec.Width < 0 || o.Spec.Height < 0 || o.Spec.Quality < 0 || o.Spec.Quality > 100 {
			return errs.Ef(errs.Invalid, op, "output %d: bad path, size or quality", i)
		}
	}
	return nil
}

// do sends one request to an idle worker (starting one if needed) and
// waits for its answer, the timeout, ctx, or the worker's death.
func (e *Engine) do(ctx context.Context, req request, opName string) (*response, error) {
	select {
	case e.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, cancelled(opName, ctx.Err())
	}
	defer func() { <-e.slots }()

	w, err := e.get(ctx)
	if err != nil {
		return nil, err
	}
	resp, err := w.call(ctx, req, e.cfg.Timeout)
	if err != nil {
		// The worker's state is unknown: a fresh one replaces it on demand.
		e.discard(w)
		e.mu.Lock()
		closed := e.closed
		e.mu.Unlock()
		switch {
		case closed:
			return nil, errs.E(errs.Unavailable, opName, "the imaging engine is shut down", err)
		case errors.Is(err, errTimeout):
			return nil, errs.E(errs.BadImage, opName, msgTimeout, err)
		case ctx.Err() != nil:
			return nil, cancelled(opName, ctx.Err())
		}
		msg := msgCrashed
		if w.outOfMemory(e.cfg.MemoryLimit) {
			msg = msgMemory
		}
		return nil, errs.E(errs.BadImage, opName, msg, err)
	}
	e.put(w)
	if resp.Error != nil {
		return nil, resp.Error.err(opName)
	}
	return resp, nil
}

func cancelled(op string, err error) error {
	return errs.E(errs.Unavailable, op, "the request was cancelled", err)
}

func (e *Engine) get(ctx context.Context) (*worker, error) {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil, errs.E(errs.Unavailable, "imaging", "the imaging engine is shut down", errClosed)
	}
	if n := len(e.idle); n > 0 {
		w := e.idle[n-1]
		e.idle = e.idle[:n-1]
		e.mu.Unlock()
		return w, nil
	}
	e.mu.Unlock()
	return e.start(ctx)
}

func (e *Engine) put(w *worker) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		go w.stop()
		return
	}
	w.idleSince = time.Now()
	e.idle = append(e.idle, w)
	if e.reaper == nil {
		e.reaper = time.AfterFunc(e.cfg.IdleTimeout, e.reap)
	}
}

// reap stops the workers idle for IdleTimeout and schedules itself again
// while others are idle.
func (e *Engine) reap() {
	e.mu.Lock()
	e.reaper = nil
	if e.closed {
		e.mu.Unlock()
		return
	}
	now := time.Now()
	var stale []*worker
	keep := e.idle[:0]
	next := e.cfg.IdleTimeout
	for _, w := range e.idle {
		if d := now.Sub(w.idleSince); d >= e.cfg.IdleTimeout {
			stale = append(stale, w)
			delete(e.live, w)
		} else {
			keep = append(keep, w)
			next = min(next, e.cfg.IdleTimeout-d)
		}
	}
	e.idle = keep
	if len(keep) > 0 {
		e.reaper = time.AfterFunc(next, e.reap)
	}
	e.mu.Unlock()
	for _, w := range stale {
		w.stop()
	}
}

func (e *Engine) discard(w *worker) {
	e.mu.Lock()
	delete(e.live, w)
	e.mu.Unlock()
	w.stop()
}

// startTimeout bounds a worker's start-up.
const startTimeout = 30 * time.Second

var (
	errTimeout = errors.New("imaging worker timed out")
	errClosed  = errors.New("imaging engine closed")
)

// worker is one child process.
type worker struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout *bufio.Reader
	stderr *stderrLog
	exited chan struct{} // closed once the process has been waited for
	pid    int
	nextID uint64

	idleSince time.Time // when it was last returned to the pool
}

func (e *Engine) start(ctx context.Context) (*worker, error) {
	const op = "imaging.worker"
	cmd := exec.Command(e.cfg.Command[0], e.cfg.Command[1:]...)
	// Few malloc arenas: a child runs one decode at a time and every
	// arena is address space counted against the memory cap.
	cmd.Env = append(append(os.Environ(), "MALLOC_ARENA_MAX=2"), e.cfg.Env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // never outlive the server
	w := &worker{cmd: cmd, stderr: &stderrLog{}, exited: make(chan struct{})}
	cmd.Stderr = w.stderr
	var err error
	if w.stdin, err = cmd.StdinPipe(); err != nil {
		return nil, errs.E(errs.Internal, op, "", err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, errs.E(errs.Internal, op, "", err)
	}
	w.stdout = bufio.NewReader(out)
	if err := cmd.Start(); err != nil {
		return nil, errs.E(errs.Unavailable, op, "cannot start the imaging worker", err)
	}
	w.pid = cmd.Process.Pid
	go func() {
		_ = cmd.Wait()
		close(w.exited)
	}()
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		w.stop()
		return nil, errs.E(errs.Unavailable, op, "the imaging engine is shut down", errClosed)
	}
	e.live[w] = struct{}{}
	e.mu.Unlock()

	var reply helloReply
	// Start-up (exec, loading libvips and its modules: ~0.5 s) is not the
	// file's fault, so it has its own, fixed allowance.
	err = w.exchange(ctx, hello{Protocol: protocolVersion, MemoryLimit: e.cfg.MemoryLimit, TestOps: e.cfg.testOps}, &reply, startTimeout)
	if err == nil && reply.Error != nil {
		err = reply.Error.err(op)
	}
	if err != nil {
		e.discard(w)
		return nil, errs.E(errs.Unavailable, op, "the imaging worker did not start", fmt.Errorf("%w; stderr: %s", err, w.stderr.String()))
	}
	return w, nil
}

func (w *worker) call(ctx context.Context, req request, timeout time.Duration) (*response, error) {
	w.nextID++
	req.ID = w.nextID
	w.stderr.reset() // what the child says from now on is about this request
	var resp response
	if err := w.exchange(ctx, req, &resp, timeout); err != nil {
		return nil, err
	}
	if resp.ID != req.ID {
		return nil, fmt.Errorf("imaging worker answered request %d, want %d", resp.ID, req.ID)
	}
	return &resp, nil
}

// exchange writes msg and reads one JSON line into reply. On timeout or
// cancellation it kills the child: a decoder cannot be interrupted any
// other way, and the pipe read below then returns.
func (w *worker) exchange(ctx context.Context, msg, reply any, timeout time.Duration) error {
	line, err := json.Marshal(msg)
	if err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() {
		if _, err := w.stdin.Write(append(line, '\n')); err != nil {
			done <- w.died(err)
			return
		}
		b, err := w.stdout.ReadBytes('\n')
		if err != nil {
			done <- w.died(err)
			return
		}
		done <- json.Unmarshal(b, reply)
	}()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case err := <-done:
		return err
	case <-timer.C:
		w.kill()
		<-done
		return fmt.Errorf("%w after %s", errTimeout, timeout)
	case <-ctx.Done():
		w.kill()
		<-done
		return ctx.Err()
	}
}

// died describes why the pipe broke: the child's exit status once known.
func (w *worker) died(err error) error {
	select {
	case <-w.exited:
	case <-time.After(5 * time.Second):
		w.kill()
		<-w.exited
	}
	if ps := w.cmd.ProcessState; ps != nil {
		if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return fmt.Errorf("imaging worker %d killed by %v: %w", w.pid, ws.Signal(), err)
		}
		// The Go runtime turns a signal inside C code into exit status 2
		// after printing "SIGSEGV: segmentation violation" or the like.
		return fmt.Errorf("imaging worker %d exited (%v%s): %w; stderr: %s", w.pid, ps, w.stderr.signal(), err, w.stderr.firstLine())
	}
	return fmt.Errorf("imaging worker %d: %w", w.pid, err)
}

// outOfMemory reports whether a dead child ran out of memory: its last
// words were about memory, or it had come close to the cap.
func (w *worker) outOfMemory(limit uint64) bool {
	if ps := w.cmd.ProcessState; ps != nil && limit > 0 {
		if ru, ok := ps.SysUsage().(*syscall.Rusage); ok && uint64(ru.Maxrss)*1024 >= limit/10*9 {
			return true
		}
	}
	s := strings.ToLower(w.stderr.String())
	return strings.Contains(s, "out of memory") || strings.Contains(s, "cannot allocate") ||
		strings.Contains(s, "failed to allocate")
}

func (w *worker) kill() {
	_ = w.cmd.Process.Kill()
}

// stop ends the child: closing stdin asks it to exit; if it does not
// within a second it is killed.
func (w *worker) stop() {
	_ = w.stdin.Close()
	select {
	case <-w.exited:
		return
	case <-time.After(time.Second):
	}
	w.kill()
	<-w.exited
}

// stderrLog keeps what a child wrote to stderr since the current request
// began: the first 4 KiB (where fatal errors are announced) and the last
// 4 KiB (where glib and libvips complain), to explain a child's death.
type stderrLog struct {
	mu   sync.Mutex
	head []byte
	tail []byte
}

const stderrKeep = 4 << 10

func (l *stderrLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := len(p)
	if room := stderrKeep - len(l.head); room > 0 {
		k := min(room, len(p))
		l.head = append(l.head, p[:k]...)
		p = p[k:]
	}
	l.tail = append(l.tail, p...)
	if over := len(l.tail) - stderrKeep; over > 0 {
		l.tail = append(l.tail[:0], l.tail[over:]...)
	}
	return n, nil
}

func (l *stderrLog) reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.head, l.tail = l.head[:0], l.tail[:0]
}

func (l *stderrLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return string(bytes.TrimSpace(append(append([]byte(nil), l.head...), l.tail...)))
}

// firstLine returns the first non-empty line, where the Go runtime and
// glib announce fatal errors.
func (l *stderrLog) firstLine() string {
	line, _, _ := strings.Cut(l.String(), "\n")
	return strings.TrimSpace(line)
}

// signal names the signal a Go runtime crash report mentions, as ", SIGSEGV".
func (l *stderrLog) signal() string {
	s := l.String()
	for _, sig := range []string{"SIGSEGV", "SIGABRT", "SIGBUS", "SIGFPE", "SIGILL", "SIGTRAP"} {
		if strings.Contains(s, sig) {
			return ", " + sig
		}
	}
	return ""
}
