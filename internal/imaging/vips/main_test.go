package vips

import (
	"fmt"
	"os"
	"testing"
	"time"
)

// workerEnv makes the test binary act as an imaging worker: the pool under
// test starts os.Args[0] with it, exactly as production starts
// `tuku imaging-worker`.
const workerEnv = "TUKU_TEST_IMAGING_WORKER"

func TestMain(m *testing.M) {
	if os.Getenv(workerEnv) == "1" {
		if err := ServeWorker(os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// newEngine starts a pool of test-binary workers, closed at cleanup.
func newEngine(t testing.TB, cfg Config) *Engine {
	t.Helper()
	cfg.Command = []string{os.Args[0]}
	cfg.Env = append(cfg.Env, workerEnv+"=1")
	cfg.testOps = true
	if cfg.Timeout == 0 {
		cfg.Timeout = 60 * time.Second
	}
	e, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}
