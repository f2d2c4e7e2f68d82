package testenv

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
)

// Postgres returns the URL of a fresh, empty PostgreSQL database made for
// this test and dropped when it ends. The server is named by
// TUKU_TEST_POSTGRES, an admin URL such as the one scripts/pg.sh prints;
// without it the test is skipped (or fails when postgres is required).
func Postgres(t testing.TB) string {
	t.Helper()
	admin := os.Getenv("TUKU_TEST_POSTGRES")
	if admin == "" {
		Missing(t, "postgres", "TUKU_TEST_POSTGRES is not set (start a server with scripts/pg.sh)")
		return ""
	}
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatalf("TUKU_TEST_POSTGRES: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db, err := sql.Open("pgx", admin)
	if err != nil {
		t.Fatalf("TUKU_TEST_POSTGRES: %v", err)
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		Missing(t, "postgres", "cannot reach "+u.Redacted()+": "+err.Error())
		return ""
	}

	// A random suffix rather than the test name: names are limited to 63
	// bytes and parallel packages may run tests with the same name.
	var b [6]byte
	rand.Read(b[:])
	name := "tuku_test_" + hex.EncodeToString(b[:])
	if _, err := db.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		db.Close()
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		defer db.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		// FORCE ends connections a test forgot to close.
		if _, err := db.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop test database %s: %v", name, err)
		}
	})
	u.Path = "/" + name
	return strings.TrimSpace(u.String())
}
