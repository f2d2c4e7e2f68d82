package sqldb

import (
	"database/sql"
	"strconv"
	"strings"
)

// Class is what a driver error means to the store, as told by a Dialect.
type Class int

const (
	ClassOther       Class = iota
	ClassUnique            // a unique or primary key constraint failed
	ClassForeignKey        // a row refers to one that does not exist
	ClassReadOnly          // a write in a read-only transaction
	ClassRetry             // serialization failure or deadlock: run the transaction again
	ClassUnavailable       // the database cannot be reached or is locked
)

// Dialect is everything that differs between the SQL engines. The queries
// themselves are shared: they are written with ? placeholders and the
// portable subset both engines speak (ON CONFLICT upserts, RETURNING).
type Dialect struct {
	Name string // "sqlite" or "postgres", for messages

	// DollarPlaceholders rewrites ? into $1, $2, ... (PostgreSQL).
	DollarPlaceholders bool

	// Like is the case-insensitive LIKE operator: SQLite's LIKE already
	// folds ASCII case, PostgreSQL needs ILIKE.
	Like string

	// SkipLocked ends the subquery that picks a job to claim. PostgreSQL has
	// many writers and needs "FOR UPDATE SKIP LOCKED" so that two workers
	// neither wait for nor take the same row; SQLite has a single writer
	// (BEGIN IMMEDIATE) so the plain statement is already atomic.
	SkipLocked string

	// LockHead ends a query that reads a row a write transaction is about
	// to update conditionally: the audit log's head, a user's MFA row.
	// PostgreSQL needs "FOR UPDATE": the row lock makes concurrent appends
	// wait for each other until commit, so each chains onto the last. On
	// SQLite writes are already serialised (one writer connection, BEGIN
	// IMMEDIATE), so the plain select is enough.
	LockHead string

	// MigrationLock, if set, runs first in every migration transaction so
	// that two processes starting at once do not migrate concurrently
	// (SQLite's BEGIN IMMEDIATE already serializes them).
	MigrationLock string

	// WriteTx and ReadTx are the options for Store.Tx and Store.View.
	WriteTx sql.TxOptions
	ReadTx  sql.TxOptions

	// MaxRetries is how often Store.Tx runs a function again after a
	// ClassRetry error.
	MaxRetries int

	// Classify tells what a driver error means; it must look through
	// wrapping (errors.As).
	Classify func(error) Class
}

// rebind rewrites ? placeholders for the dialect, leaving string literals
// alone.
func (d *Dialect) rebind(q string) string {
	if !d.DollarPlaceholders || !strings.Contains(q, "?") {
		return q
	}
	var b strings.Builder
	b.Grow(len(q) + 16)
	n := 0
	inStr := false
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch {
		case c == '\'':
			inStr = !inStr // '' inside a literal toggles twice: still correct
			b.WriteByte(c)
		case c == '?' && !inStr:
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// placeholders returns "?, ?, ..." with n marks (n >= 1).
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}
