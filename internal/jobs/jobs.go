// Package jobs runs handlers for the durable queue of package meta: each
// runner claims due jobs with a lease, runs the handler for the job's kind,
// and completes it or schedules a retry with exponential backoff. Handlers
// must be idempotent: a job whose worker died is handed out again when its
// lease expires.
package jobs

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"tuku/internal/meta"
	"tuku/internal/tuku"
)

// Handler does one job.
type Handler func(ctx context.Context, j *tuku.Job) error

// Runner polls a queue and runs handlers.
type Runner struct {
	Queue    meta.JobQueue
	Handlers map[string]Handler
	Workers  int           // concurrent jobs (default 1)
	Lease    time.Duration // default 5 minutes
	Poll     time.Duration // idle poll interval (default 500 ms)
	Log      *slog.Logger
	wake     chan struct{}
	once     sync.Once
}

func (r *Runner) init() {
	r.once.Do(func() {
		if r.Workers <= 0 {
			r.Workers = 1
		}
		if r.Lease <= 0 {
			r.Lease = 5 * time.Minute
		}
		if r.Poll <= 0 {
			r.Poll = 500 * time.Millisecond
		}
		if r.Log == nil {
			r.Log = slog.Default()
		}
		r.wake = make(chan struct{}, 1)
	})
}

// Wake makes an idle runner look for work now (after an enqueue).
func (r *Runner) Wake() {
	r.init()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Run works until ctx is cancelled.
func (r *Runner) Run(ctx context.Context) {
	r.init()
	kinds := make([]string, 0, len(r.Handlers))
	for k := range r.Handlers {
		kinds = append(kinds, k)
	}
	var wg sync.WaitGroup
	for i := 0; i < r.Workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				worked, err := r.RunOne(ctx, kinds)
				if err != nil {
					r.Log.Warn("job queue", "err", err)
				}
				if !worked || err != nil {
					select {
					case <-ctx.Done():
					case <-r.wake:
					case <-time.After(r.Poll):
					}
				}
			}
		}()
	}
	wg.Wait()
}

// Drain runs due jobs until none is left (for the CLI and tests).
func (r *Runner) Drain(ctx context.Context) error {
	r.init()
	kinds := make([]string, 0, len(r.Handlers))
	for k := range r.Handlers {
		kinds = append(kinds, k)
	}
	for {
		worked, err := r.RunOne(ctx, kinds)
		if err != nil {
			return err
		}
		if !worked {
			return nil
		}
	}
}

// RunOne claims and runs one job. It reports whether there was one.
func (r *Runner) RunOne(ctx context.Context, kinds []string) (bool, error) {
	r.init()
	j, err := r.Queue.Claim(ctx, kinds, r.Lease)
	if err != nil || j == nil {
		return false, err
	}
	h := r.Handlers[j.Kind]
	herr := safeRun(ctx, h, j)
	if herr == nil {
		return true, r.Queue.Complete(ctx, j.ID)
	}
	r.Log.Warn("job failed", "kind", j.Kind, "id", j.ID, "attempt", j.Attempts, "err", herr)
	return true, r.Queue.Fail(ctx, j.ID, herr.Error(), time.Now().Add(Backoff(j.Attempts)))
}

func safeRun(ctx context.Context, h Handler, j *tuku.Job) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("handler panic: %v", v)
		}
	}()
	if h == nil {
		return fmt.Errorf("no handler for job kind %q", j.Kind)
	}
	return h(ctx, j)
}

// Backoff is the delay before retry number attempt (1-based): 10 s
// doubling, at most an hour.
func Backoff(attempt int) time.Duration {
	d := 10 * time.Second
	for i := 1; i < attempt && d < time.Hour; i++ {
		d *= 2
	}
	if d > time.Hour {
		d = time.Hour
	}
	return d
}
