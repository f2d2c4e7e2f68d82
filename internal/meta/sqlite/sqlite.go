// Package sqlite opens Tuku's metadata store in one SQLite file (the
// default). The implementation is shared with meta/postgres in meta/sqldb;
// this package holds the dialect, the connection set-up and the schema.
//
// Concurrency: SQLite has one writer at a time. Writes go through a pool of
// one connection whose transactions BEGIN IMMEDIATE (taking the write lock
// up front, so a transaction never fails half-way on a lock upgrade); reads
// use a separate pool, so with WAL they never wait for a writer. Other
// processes on the same file (a CLI beside a server) wait for the lock up to
// the busy timeout. Because the write pool has one connection, a function
// given to Tx must not start another Tx or use the job queue of the same
// store: it would wait for itself (until its context ends).
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"tuku/internal/errs"
	"tuku/internal/meta/sqldb"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations returns the schema migrations (for tests and tools).
func Migrations() fs.FS {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		panic(err) // the embedded directory always exists
	}
	return sub
}

// readConns is the size of the read pool: enough for a few concurrent
// requests on a 2-core machine.
const readConns = 4

// pragmas apply to every connection of both pools (busy_timeout first so
// that switching to WAL waits for other processes instead of failing).
var pragmas = []string{
	"busy_timeout(10000)",
	"journal_mode(WAL)",
	"synchronous(NORMAL)",
	"foreign_keys(ON)",
}

// Open opens (creating if needed) the database file at path and migrates it.
func Open(ctx context.Context, path string) (*sqldb.Store, error) {
	const op = "meta.sqlite.open"
	if path == "" || strings.ContainsAny(path, "?#") {
		return nil, errs.E(errs.Invalid, op, "the SQLite path must be a plain file name", nil)
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, errs.E(errs.Unavailable, op, "cannot create the database directory", err)
		}
	}
	dsn := func(extra ...string) string {
		var q []string
		for _, p := range append(pragmas, extra...) {
			q = append(q, "_pragma="+p)
		}
		return path + "?" + strings.Join(q, "&")
	}
	w, err := sql.Open("sqlite", dsn()+"&_txlock=immediate")
	if err != nil {
		return nil, errs.E(errs.Unavailable, op, "cannot open the database", err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	// query_only makes the database itself refuse writes in a View.
	r, err := sql.Open("sqlite", dsn("query_only(1)"))
	if err != nil {
		w.Close()
		return nil, errs.E(errs.Unavailable, op, "cannot open the database", err)
	}
	r.SetMaxOpenConns(readConns)
	r.SetMaxIdleConns(readConns)
	r.SetConnMaxIdleTime(0)
	s, err := sqldb.Open(ctx, sqldb.Config{Write: w, Read: r, Dialect: Dialect(), Migrations: Migrations()})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// Dialect is SQLite's sqldb.Dialect.
func Dialect() sqldb.Dialect {
	return sqldb.Dialect{
		Name:     "sqlite",
		Like:     "LIKE", // ASCII case-insensitive by default
		WriteTx:  sql.TxOptions{},
		ReadTx:   sql.TxOptions{ReadOnly: true}, // a deferred BEGIN: the snapshot starts at the first read
		Classify: classify,
	}
}

func classify(err error) sqldb.Class {
	var e *sqlite.Error
	if !errors.As(err, &e) {
		return sqldb.ClassOther
	}
	switch e.Code() {
	case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
		return sqldb.ClassUnique
	case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
		return sqldb.ClassForeignKey
	}
	switch e.Code() & 0xff {
	case sqlite3.SQLITE_READONLY:
		return sqldb.ClassReadOnly
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_IOERR,
		sqlite3.SQLITE_FULL:
		return sqldb.ClassUnavailable
	}
	return sqldb.ClassOther
}
