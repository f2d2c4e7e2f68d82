// Package app is the composition root: it turns a validated Config into the
// object graph (metadata store, blob store, image engine, service, job
// runner, HTTP handler) exactly once. It is the only package that imports
// adapters.
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"tuku/internal/blob"
	"tuku/internal/blob/local"
	"tuku/internal/blob/s3"
	"tuku/internal/errs"
	"tuku/internal/extract"
	"tuku/internal/httpapi"
	"tuku/internal/imaging"
	"tuku/internal/imaging/vips"
	"tuku/internal/jobs"
	"tuku/internal/meta"
	"tuku/internal/meta/postgres"
	"tuku/internal/meta/sqlite"
	"tuku/internal/service"
	"tuku/internal/web"
)

// Version is the build's version, set with -ldflags.
var Version = "dev"

// WorkerEnv marks a process started as an imaging worker.
const WorkerEnv = "TUKU_IMAGING_WORKER"

// MaybeServeImagingWorker turns this process into an imaging worker and
// exits when it was started as one. main and TestMain call it first.
func MaybeServeImagingWorker() {
	if os.Getenv(WorkerEnv) != "1" {
		return
	}
	if err := vips.ServeWorker(os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "imaging worker:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// Config is everything that can be configured. Zero values take defaults.
type Config struct {
	Data  string // data directory (default ./tuku-data)
	DB    string // "" = SQLite in Data; sqlite:PATH; postgres://…
	Blobs string // "" = file://Data/blobs; file://DIR; s3://bucket/prefix?endpoint=…
	Addr  string // listen address (default 127.0.0.1:8080)

	AdminEmail     string // the first admin's email (default admin@tuku.local)
	NamingTemplate string
	Limits         imaging.Limits
	ImagingWorkers int           // child processes (default number of CPUs)
	ImagingTimeout time.Duration // per image (default 60 s)
	JobWorkers     int           // background jobs in this process (default 1)
	Log            *slog.Logger
	// RateLimits are the API's request limits; the zero value takes the
	// defaults (httpapi.RateLimits), httpapi.NoRateLimits() turns them off.
	RateLimits httpapi.RateLimits
	// RequireMFA makes a second factor mandatory for these roles, or
	// "all" (service.Config.RequireMFA). SessionIdle and SessionMax are
	// the browser-session timeouts (defaults 30 min and 12 h).
	RequireMFA              []string
	SessionIdle, SessionMax time.Duration
}

// Defaults fills in zero values.
func (c *Config) Defaults() {
	if c.Data == "" {
		c.Data = "./tuku-data"
	}
	if c.Addr == "" {
		c.Addr = "127.0.0.1:8080"
	}
	if c.AdminEmail == "" {
		c.AdminEmail = "admin@tuku.local"
	}
	if c.Limits == (imaging.Limits{}) {
		c.Limits = imaging.DefaultLimits()
	}
	if c.ImagingWorkers <= 0 {
		c.ImagingWorkers = runtime.NumCPU()
	}
	if c.ImagingTimeout <= 0 {
		c.ImagingTimeout = 60 * time.Second
	}
	if c.JobWorkers <= 0 {
		c.JobWorkers = 1
	}
	if c.Log == nil {
		c.Log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
}

// Validate checks a defaulted config.
func (c *Config) Validate() error {
	if c.DB != "" && !strings.HasPrefix(c.DB, "postgres://") && !strings.HasPrefix(c.DB, "postgresql://") && !strings.HasPrefix(c.DB, "sqlite:") {
		return errs.Ef(errs.Invalid, "config", "--db must be postgres://… or sqlite:PATH, not %q", c.DB)
	}
	if c.Blobs != "" && !strings.HasPrefix(c.Blobs, "file://") && !strings.HasPrefix(c.Blobs, "s3://") {
		return errs.Ef(errs.Invalid, "config", "--blobs must be file://DIR or s3://bucket/prefix?endpoint=…, not %q", c.Blobs)
	}
	if c.Limits.MaxBytes <= 0 || c.Limits.MaxPixels <= 0 || c.Limits.MaxFrames <= 0 || c.Limits.MaxSide <= 0 {
		return errs.E(errs.Invalid, "config", "upload limits must be positive", nil)
	}
	if c.NamingTemplate != "" {
		if _, err := service.ParseNamingTemplate(c.NamingTemplate); err != nil {
			return err
		}
	}
	return nil
}

// App is the built object graph.
type App struct {
	Cfg     Config
	Service *service.Service
	Meta    meta.Store
	Blobs   blob.Store
	Engine  imaging.Engine
	Runner  *jobs.Runner
	Log     *slog.Logger
	handler http.Handler
}

// Open builds everything from cfg. Close releases it.
func Open(ctx context.Context, cfg Config) (*App, error) {
	cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	data, err := filepath.Abs(cfg.Data)
	if err != nil {
		return nil, errs.E(errs.Invalid, "config", "bad data directory", err)
	}
	cfg.Data = data
	if err := os.MkdirAll(data, 0o700); err != nil {
		return nil, errs.E(errs.Unavailable, "config", "cannot create the data directory "+data, err)
	}
	a := &App{Cfg: cfg, Log: cfg.Log}
	ok := false
	defer func() {
		if !ok {
			a.Close()
		}
	}()

	if a.Meta, err = openMeta(ctx, cfg); err != nil {
		return nil, err
	}
	if a.Blobs, err = openBlobs(ctx, cfg); err != nil {
		return nil, err
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, errs.E(errs.Unavailable, "config", "cannot find the tuku executable", err)
	}
	a.Engine, err = vips.New(vips.Config{
		Command: []string{exe},
		Env:     []string{WorkerEnv + "=1"},
		Workers: cfg.ImagingWorkers,
		Timeout: cfg.ImagingTimeout,
		Limits:  cfg.Limits,
	})
	if err != nil {
		return nil, err
	}
	a.Service, err = service.New(service.Config{
		NamingTemplate: cfg.NamingTemplate,
		Limits:         cfg.Limits,
		TempDir:        tempDir(cfg),
		RequireMFA:     cfg.RequireMFA,
		SessionIdle:    cfg.SessionIdle,
		SessionMax:     cfg.SessionMax,
	}, service.Deps{
		Meta: a.Meta, Blobs: a.Blobs, Engine: a.Engine, Extract: extract.Extract, Log: cfg.Log,
	})
	if err != nil {
		return nil, err
	}
	a.Runner = &jobs.Runner{
		Queue:    a.Meta.Jobs(),
		Handlers: map[string]jobs.Handler{service.JobRender: a.Service.HandleRenderJob},
		Workers:  cfg.JobWorkers,
		Log:      cfg.Log,
	}
	if err := a.buildHandler(); err != nil {
		return nil, err
	}
	ok = true
	return a, nil
}

// tempDir is beside a local blob store so that storing an upload is a
// rename, and inside the data dir otherwise.
func tempDir(cfg Config) string {
	return filepath.Join(cfg.Data, "tmp")
}

func openMeta(ctx context.Context, cfg Config) (meta.Store, error) {
	switch {
	case strings.HasPrefix(cfg.DB, "postgres://"), strings.HasPrefix(cfg.DB, "postgresql://"):
		return postgres.Open(ctx, cfg.DB)
	case strings.HasPrefix(cfg.DB, "sqlite:"):
		return sqlite.Open(ctx, strings.TrimPrefix(strings.TrimPrefix(cfg.DB, "sqlite:"), "//"))
	default:
		return sqlite.Open(ctx, filepath.Join(cfg.Data, "tuku.db"))
	}
}

func openBlobs(ctx context.Context, cfg Config) (blob.Store, error) {
	switch {
	case strings.HasPrefix(cfg.Blobs, "s3://"):
		sc, err := s3.ParseURL(cfg.Blobs)
		if err != nil {
			return nil, err
		}
		return s3.New(ctx, sc)
	case strings.HasPrefix(cfg.Blobs, "file://"):
		u, err := url.Parse(cfg.Blobs)
		if err != nil {
			return nil, errs.E(errs.Invalid, "config", "bad --blobs URL", err)
		}
		return local.New(u.Host + u.Path)
	default:
		return local.New(filepath.Join(cfg.Data, "blobs"))
	}
}

// CheckImaging starts an imaging worker and stops it again, to tell at
// start-up whether uploads can be decoded.
func (a *App) CheckImaging(ctx context.Context) error {
	if c, ok := a.Engine.(interface{ Check(context.Context) error }); ok {
		return c.Check(ctx)
	}
	return nil
}

// Serve is `tuku serve` after start-up: it serves Handler on ln and runs
// the background jobs in this process until ctx ends, then stops taking
// connections and waits up to 10 s for those in flight. It checks the
// imaging worker once at start and logs when it cannot run (uploads would
// fail; everything else still serves).
func (a *App) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           a.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(a.Log.Handler(), slog.LevelWarn),
	}
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	runnerDone := make(chan struct{})
	go func() { defer close(runnerDone); a.Runner.Run(rctx) }()
	go func() {
		if err := a.CheckImaging(rctx); err != nil && rctx.Err() == nil {
			a.Log.Error("imaging worker does not start; uploads will fail", "err", err)
		}
	}()
	shutDown := make(chan struct{})
	go func() {
		defer close(shutDown)
		<-rctx.Done()
		sctx, c2 := context.WithTimeout(context.Background(), 10*time.Second)
		defer c2()
		_ = srv.Shutdown(sctx)
	}()
	err := srv.Serve(ln)
	cancel()
	<-shutDown
	<-runnerDone
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return errs.E(errs.Unavailable, "serve", "server failed", err)
	}
	return nil
}

// Handler returns everything `tuku serve` serves: the REST API (with
// health checks and metrics) and the staff web interface on every other
// path. It is built once, by Open.
func (a *App) Handler() http.Handler { return a.handler }

func (a *App) buildHandler() error {
	api := httpapi.New(a.Service, httpapi.Options{Log: a.Log, Version: Version, RateLimits: a.Cfg.RateLimits})
	ui, err := web.New(a.Service, web.Options{Log: a.Log, Version: Version})
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	for _, p := range []string{"/api/", "/healthz", "/readyz", "/metrics"} {
		mux.Handle(p, api)
	}
	mux.Handle("/", ui)
	a.handler = mux
	return nil
}

// Close releases everything Open built.
func (a *App) Close() error {
	var errList []error
	if a.Engine != nil {
		errList = append(errList, a.Engine.Close())
	}
	if c, ok := a.Blobs.(io.Closer); ok {
		errList = append(errList, c.Close())
	}
	if a.Meta != nil {
		errList = append(errList, a.Meta.Close())
	}
	return errors.Join(errList...)
}
