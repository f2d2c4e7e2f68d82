// Package sqldb is the one implementation of meta.Store over database/sql,
// shared by meta/sqlite and meta/postgres. The engines differ only in a
// Dialect value (placeholders, LIKE, job claiming, error codes, transaction
// options) and in their numbered migrations; every query is written once.
//
// Storage conventions, the same in both engines: times are BIGINT unix
// nanoseconds in UTC (0 for the zero time), so they round-trip exactly and
// compare without time-zone rules; IDs are text; an asset's sort_time is its
// capture time in unix seconds (a capture time without offset read as if it
// were UTC), else its upload time, and drives the From/To filters.
package sqldb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"io/fs"
	"math/rand/v2"
	"time"

	"tuku/internal/errs"
	"tuku/internal/meta"
)

// Store implements meta.Store.
type Store struct {
	w, r *sql.DB // write and read pools; the same pool for PostgreSQL
	d    *Dialect
	wp   pool // statements prepared on w
	rp   pool // statements prepared on r
}

// pool holds the hot statements prepared on one *sql.DB, keyed by their
// text before rebinding. It is filled once at Open and only read after.
type pool struct {
	stmts map[string]*sql.Stmt
}

// hotQueries are prepared at Open. Preparing later, inside a transaction,
// could wait for a connection the transaction itself holds.
var hotQueries = []string{
	getAssetByIDQuery,
	tagsOfOneQuery,
	getRenditionQuery,
	getTokenQuery,
	getUserQuery,
	getImportRecordQuery,
	getSessionQuery,
	grantsOfUserQuery,
}

func (p *pool) prepare(ctx context.Context, db *sql.DB, d *Dialect) error {
	p.stmts = make(map[string]*sql.Stmt, len(hotQueries))
	for _, q := range hotQueries {
		st, err := db.PrepareContext(ctx, d.rebind(q))
		if err != nil {
			return err
		}
		p.stmts[q] = st
	}
	return nil
}

var _ meta.Store = (*Store)(nil)

// Config is what an engine package hands to Open.
type Config struct {
	// Write is the pool for Tx and the job queue; Read the pool for View
	// (may be the same as Write). Open takes ownership: Close closes them.
	Write, Read *sql.DB
	Dialect     Dialect
	// Migrations holds NNNN_name.sql files, applied in order.
	Migrations fs.FS
}

// Open checks that the database answers, applies pending migrations and
// returns the store. A database migrated by a newer binary is refused with
// errs.Unavailable.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	if cfg.Read == nil {
		cfg.Read = cfg.Write
	}
	d := cfg.Dialect
	s := &Store{w: cfg.Write, r: cfg.Read, d: &d}
	fail := func(err error) (*Store, error) {
		s.Close()
		return nil, err
	}
	if err := s.w.PingContext(ctx); err != nil {
		return fail(errs.E(errs.Unavailable, "meta.open", "cannot connect to the "+d.Name+" database", err))
	}
	if err := migrate(ctx, s, cfg.Migrations); err != nil {
		return fail(err)
	}
	if err := s.wp.prepare(ctx, s.w, s.d); err != nil {
		return fail(s.mapErr("meta.prepare", err, "", ""))
	}
	if s.r == s.w {
		s.rp = s.wp
	} else if err := s.rp.prepare(ctx, s.r, s.d); err != nil {
		return fail(s.mapErr("meta.prepare", err, "", ""))
	}
	return s, nil
}

// Tx implements meta.Store. Serialization failures and deadlocks
// (ClassRetry) run fn again, up to Dialect.MaxRetries times.
func (s *Store) Tx(ctx context.Context, fn func(tx meta.Tx) error) error {
	return s.writeTx(ctx, func(t *Tx) error { return fn(t) })
}

func (s *Store) writeTx(ctx context.Context, fn func(t *Tx) error) error {
	for attempt := 0; ; attempt++ {
		err := s.run(ctx, s.w, &s.d.WriteTx, false, fn)
		if err == nil || attempt >= s.d.MaxRetries || s.d.Classify(err) != ClassRetry {
			return err
		}
		// Back off with jitter so the transactions that collided do not
		// collide again in lockstep.
		wait := time.Duration(1<<attempt)*5*time.Millisecond + rand.N(5*time.Millisecond)
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
	}
}

// View implements meta.Store.
func (s *Store) View(ctx context.Context, fn func(tx meta.Tx) error) error {
	return s.run(ctx, s.r, &s.d.ReadTx, true, func(t *Tx) error { return fn(t) })
}

func (s *Store) run(ctx context.Context, db *sql.DB, opts *sql.TxOptions, readOnly bool, fn func(t *Tx) error) (err error) {
	stx, err := db.BeginTx(ctx, opts)
	if err != nil {
		return s.mapErr("meta.begin", err, "", "")
	}
	p := &s.rp
	if db == s.w {
		p = &s.wp
	}
	t := &Tx{s: s, tx: stx, pool: p, ro: readOnly}
	defer func() {
		if p := recover(); p != nil {
			stx.Rollback()
			panic(p)
		}
	}()
	if err := fn(t); err != nil {
		stx.Rollback()
		return err
	}
	if err := stx.Commit(); err != nil {
		return s.mapErr("meta.commit", err, "", "")
	}
	return nil
}

// Jobs implements meta.Store.
func (s *Store) Jobs() meta.JobQueue { return (*jobQueue)(s) }

// Ping implements meta.Store.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.r.PingContext(ctx); err != nil {
		return s.mapErr("meta.ping", err, "", "")
	}
	return nil
}

// Close implements meta.Store.
func (s *Store) Close() error {
	err := s.w.Close()
	if s.r != s.w {
		if rerr := s.r.Close(); err == nil {
			err = rerr
		}
	}
	return err
}

// mapErr turns a database error into an errs kind. notFound and conflict
// are the public messages for sql.ErrNoRows and unique violations.
func (s *Store) mapErr(op string, err error, notFound, conflict string) error {
	if err == nil {
		return nil
	}
	var e *errs.Error
	if errors.As(err, &e) {
		return err
	}
	if errors.Is(err, sql.ErrNoRows) {
		if notFound == "" {
			notFound = "not found"
		}
		return errs.E(errs.NotFound, op, notFound, err)
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return errs.E(errs.Unavailable, op, "the request was cancelled or timed out", err)
	}
	switch s.d.Classify(err) {
	case ClassUnique:
		if conflict == "" {
			conflict = "already exists"
		}
		return errs.E(errs.Conflict, op, conflict, err)
	case ClassForeignKey:
		return errs.E(errs.Invalid, op, "refers to a record that does not exist", err)
	case ClassReadOnly:
		return errs.E(errs.Invalid, op, "write in a read-only transaction", err)
	case ClassRetry:
		return errs.E(errs.Conflict, op, "a concurrent change won, try again", err)
	case ClassUnavailable:
		return errs.E(errs.Unavailable, op, "the database is unavailable", err)
	}
	if errors.Is(err, driver.ErrBadConn) || errors.Is(err, sql.ErrConnDone) {
		return errs.E(errs.Unavailable, op, "the database is unavailable", err)
	}
	return errs.E(errs.Internal, op, "", err)
}

// toNS and fromNS are the storage form of times (see the package comment).
func toNS(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromNS(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// RawDB returns the write pool, for tests that must go around the store:
// the audit tamper-detection tests edit rows with raw SQL (see
// metatest.AllowAuditTamper). The application never calls it. On SQLite
// the pool has one connection: do not use it while a Tx is running.
func (s *Store) RawDB() *sql.DB { return s.w }

// DialectName is the engine's name: "sqlite" or "postgres".
func (s *Store) DialectName() string { return s.d.Name }
