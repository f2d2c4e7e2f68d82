package service

import "sync"

// flight coalesces concurrent calls with the same key: the first caller
// does the work, the others wait for and share its result. A photo is
// rendered once however many browsers ask for it at the same moment.
type flight struct {
	mu    sync.Mutex
	calls map[string]*flightCall
}

type flightCall struct {
	done chan struct{}
	err  error
}

func newFlight() *flight { return &flight{calls: map[string]*flightCall{}} }

// do runs fn once per key among concurrent callers and returns its error to all.
func (f *flight) do(key string, fn func() error) error {
	f.mu.Lock()
	if c, ok := f.calls[key]; ok {
		f.mu.Unlock()
		<-c.done
		return c.err
	}
	c := &flightCall{done: make(chan struct{})}
	f.calls[key] = c
	f.mu.Unlock()

	c.err = fn()
	close(c.done)

	f.mu.Lock()
	delete(f.calls, key)
	f.mu.Unlock()
	return c.err
}
