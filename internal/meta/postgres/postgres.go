// Package postgres opens Tuku's metadata store in a PostgreSQL database,
// for deployments that run several tuku processes. The implementation is
// shared with meta/sqlite in meta/sqldb; this package holds the dialect,
// the connection set-up and the schema.
//
// Transactions run at READ COMMITTED (Views at REPEATABLE READ READ ONLY, a
// consistent snapshot that never fails to serialize); Tx functions are run
// again on serialization failures and deadlocks; workers claim jobs with
// FOR UPDATE SKIP LOCKED.
package postgres

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"io/fs"
	"net"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver

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

// maxConns bounds the pool; PostgreSQL's default max_connections is 100
// and several tuku processes may share a server.
const maxConns = 16

// Open connects to the database at url (postgres://...) and migrates it.
func Open(ctx context.Context, url string) (*sqldb.Store, error) {
	const op = "meta.postgres.open"
	if !strings.HasPrefix(url, "postgres://") && !strings.HasPrefix(url, "postgresql://") {
		return nil, errs.E(errs.Invalid, op, "the PostgreSQL URL must start with postgres://", nil)
	}
	db, err := sql.Open("pgx", url)
	if err != nil {
		return nil, errs.E(errs.Invalid, op, "invalid PostgreSQL URL", err)
	}
	db.SetMaxOpenConns(maxConns)
	db.SetMaxIdleConns(maxConns / 2)
	db.SetConnMaxIdleTime(5 * time.Minute)
	return sqldb.Open(ctx, sqldb.Config{Write: db, Read: db, Dialect: Dialect(), Migrations: Migrations()})
}

// Dialect is PostgreSQL's sqldb.Dialect.
func Dialect() sqldb.Dialect {
	return sqldb.Dialect{
		Name:               "postgres",
		DollarPlaceholders: true,
		Like:               "ILIKE",
		SkipLocked:         "FOR UPDATE SKIP LOCKED",
		LockHead:           "FOR UPDATE",
		// Any constant will do; it only has to be the same in every
		// tuku process using this database.
		MigrationLock: "SELECT pg_advisory_xact_lock(7275847)",
		WriteTx:       sql.TxOptions{Isolation: sql.LevelReadCommitted},
		ReadTx:        sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true},
		MaxRetries:    4,
		Classify:      classify,
	}
}

func classify(err error) sqldb.Class {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "23505": // unique_violation
			return sqldb.ClassUnique
		case "23503": // foreign_key_violation
			return sqldb.ClassForeignKey
		case "25006": // read_only_sql_transaction
			return sqldb.ClassReadOnly
		case "40001", "40P01": // serialization_failure, deadlock_detected
			return sqldb.ClassRetry
		}
		switch pe.Code[:min(2, len(pe.Code))] {
		case "08", "53", "57": // connection, resources, operator intervention (shutdown)
			return sqldb.ClassUnavailable
		}
		return sqldb.ClassOther
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	if errors.As(err, &ce) || errors.As(err, &ne) || pgconn.Timeout(err) {
		return sqldb.ClassUnavailable
	}
	return sqldb.ClassOther
}
