package service_test

import (
	"os"
	"testing"

	"tuku/internal/app"
)

// TestMain lets the test binary serve as the imaging worker child process
// for the tests that run a real application (app.Open).
func TestMain(m *testing.M) {
	app.MaybeServeImagingWorker()
	os.Exit(m.Run())
}
