// Package service holds Tuku's use cases: filing customers and projects,
// ingesting images, reading and listing assets, serving renditions, users
// and tokens. HTTP, the CLI and background jobs all go through it. Every use
// case checks authz first and writes its rows (and the jobs it enqueues) in
// one meta transaction. It depends on interfaces only, never on adapters.
package service

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"tuku/internal/blob"
	"tuku/internal/errs"
	"tuku/internal/extract"
	"tuku/internal/imaging"
	"tuku/internal/meta"
)

// ExtractFunc reads a file's own metadata; see package extract.
type ExtractFunc func(ctx context.Context, r io.ReadSeeker, format string) (*extract.Metadata, error)

// Config is the service's tunable behaviour.
type Config struct {
	// NamingTemplate builds display names; see Namer.
	NamingTemplate string
	// Limits bound what an upload may be.
	Limits imaging.Limits
	// TempDir holds uploads while they are checked. It should be on the
	// same file system as a local blob store so storing is a rename.
	TempDir string
	// IngestSizes are the renditions made during ingest (default "grid");
	// BackgroundSizes are rendered by a job after ingest.
	IngestSizes     []string
	BackgroundSizes []string
	// CacheTTL bounds how long the thumbnail path trusts what it read
	// about an asset (default 2 s; negative turns the cache off). Changes
	// made by other processes take effect within it.
	CacheTTL time.Duration

	// RequireMFA makes a second factor mandatory: role names ("admin",
	// "member") or "all" (RequireMFAAll). A user it covers who has not
	// enrolled gets a session that may only enrol. Until Tuku has stored
	// settings, this is how an administrator requires MFA.
	RequireMFA []string
	// SessionIdle ends a browser session unused for this long (default
	// 30 min); SessionMax ends any session this long after sign-in
	// (default 12 h).
	SessionIdle time.Duration
	SessionMax  time.Duration
}

// DefaultNamingTemplate is the display-name template of DESIGN.md.
const DefaultNamingTemplate = "{customer}_{date:YYYYMMDD}_{desc}_{seq:02}.{ext}"

// Deps are the service's collaborators, built by the composition root.
type Deps struct {
	Meta    meta.Store
	Blobs   blob.Store
	Engine  imaging.Engine
	Extract ExtractFunc
	Log     *slog.Logger
	Now     func() time.Time // default time.Now
}

// Service is safe for concurrent use.
type Service struct {
	cfg    Config
	meta   meta.Store
	blobs  blob.Store
	engine imaging.Engine
	extr   ExtractFunc
	log    *slog.Logger
	now    func() time.Time
	namer  *Namer
	render *flight
	cache  *renditionCache
	// accessGen changes whenever a credential or a right may have been
	// withdrawn (token revoked, user disabled, password or MFA reset,
	// grant changed), so callers that cache authentication know to check
	// again.
	accessGen atomic.Uint64
	auth      *authState
	// settings caches the stored settings (settings.go); zero value ready.
	settings settingsCache
}

// New validates cfg and builds a Service.
func New(cfg Config, d Deps) (*Service, error) {
	if d.Meta == nil || d.Blobs == nil || d.Engine == nil || d.Extract == nil {
		return nil, errs.E(errs.Invalid, "service.new", "missing dependency", nil)
	}
	if cfg.NamingTemplate == "" {
		cfg.NamingTemplate = DefaultNamingTemplate
	}
	namer, err := ParseNamingTemplate(cfg.NamingTemplate)
	if err != nil {
		return nil, err
	}
	if cfg.Limits == (imaging.Limits{}) {
		cfg.Limits = imaging.DefaultLimits()
	}
	if cfg.TempDir == "" {
		cfg.TempDir = os.TempDir()
	}
	if err := os.MkdirAll(cfg.TempDir, 0o700); err != nil {
		return nil, errs.E(errs.Unavailable, "service.new", "cannot create the temporary directory", err)
	}
	if cfg.CacheTTL == 0 {
		cfg.CacheTTL = 2 * time.Second
	}
	if len(cfg.IngestSizes) == 0 {
		cfg.IngestSizes = []string{"grid"}
	}
	if cfg.BackgroundSizes == nil {
		cfg.BackgroundSizes = []string{"preview"}
	}
	for _, n := range append(append([]string{}, cfg.IngestSizes...), cfg.BackgroundSizes...) {
		if _, ok := imaging.SizeByName(n); !ok {
			return nil, errs.Ef(errs.Invalid, "service.new", "unknown rendition size %q", n)
		}
	}
	auth, err := newAuthState(&cfg)
	if err != nil {
		return nil, err
	}
	if d.Log == nil {
		d.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	return &Service{
		cfg: cfg, meta: d.Meta, blobs: d.Blobs, engine: d.Engine, extr: d.Extract,
		log: d.Log, now: d.Now, namer: namer, render: newFlight(),
		cache: newRenditionCache(cfg.CacheTTL, 100_000), auth: auth,
	}, nil
}

// AccessGeneration returns a number that changes whenever a credential or
// a right may have been withdrawn in this process. A cached principal is
// good only while it does not change. (Other processes' changes reach a
// cache through its time-to-live.)
func (s *Service) AccessGeneration() uint64 { return s.accessGen.Load() }

func (s *Service) accessChanged() { s.accessGen.Add(1) }

// Limits returns the configured upload limits: the most an upload may
// ever be. An administrator may lower them at run time (settings.go);
// ingest applies the lower ones.
func (s *Service) Limits() imaging.Limits { return s.cfg.Limits }

// Ready reports whether the service's stores answer.
func (s *Service) Ready(ctx context.Context) error {
	if err := s.meta.Ping(ctx); err != nil {
		return errs.E(errs.Unavailable, "ready", "database unavailable", err)
	}
	return nil
}

// tempFile creates a file in the service's temp dir.
func (s *Service) tempFile(pattern string) (*os.File, error) {
	f, err := os.CreateTemp(s.cfg.TempDir, pattern)
	if err != nil {
		return nil, errs.E(errs.Unavailable, "tempfile", "cannot create a temporary file", err)
	}
	return f, nil
}

func (s *Service) tempPath(name string) string {
	return filepath.Join(s.cfg.TempDir, name)
}
