package sqlite_test

import (
	"database/sql"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"tuku/internal/errs"
	"tuku/internal/meta"
	"tuku/internal/meta/metatest"
	"tuku/internal/meta/sqlite"
	"tuku/internal/tuku"
)

func open(t *testing.T, path string) meta.Store {
	t.Helper()
	s, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	metatest.Run(t, func(t *testing.T) meta.Store {
		return open(t, filepath.Join(t.TempDir(), "meta.db"))
	})
}

// TestReopen checks that data survives reopening and that migrations are
// not applied twice.
func TestReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "meta.db")
	s, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	c := &tuku.Customer{Name: "A", Code: "A"}
	if err := s.Tx(t.Context(), func(tx meta.Tx) error { return tx.CreateCustomer(t.Context(), c) }); err != nil {
		t.Fatal(err)
	}
	s.Close()

	// WAL is a property of the file: readers do not wait for the writer.
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	var mode string
	if err := db.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q, %v; want wal", mode, err)
	}
	db.Close()

	s2 := open(t, path)
	err = s2.View(t.Context(), func(tx meta.Tx) error {
		_, err := tx.GetCustomer(t.Context(), c.ID)
		return err
	})
	if err != nil {
		t.Fatalf("after reopen: %v", err)
	}
}

// TestNewerSchemaRefused: a database migrated by a newer tuku must not be
// opened (and written) by an older one.
func TestNewerSchemaRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "meta.db")
	s, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (9999, 'future.sql', 0)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	_, err = sqlite.Open(t.Context(), path)
	if !errors.Is(err, errs.Unavailable) {
		t.Fatalf("Open of a newer schema: %v, want errs.Unavailable", err)
	}
	t.Log(err)
}

// TestReadsDoNotWaitForWriter: a View runs while a write transaction is
// open, and sees the last committed state.
func TestReadsDoNotWaitForWriter(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "meta.db"))
	ctx := t.Context()
	inTx := make(chan struct{})
	release := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- s.Tx(ctx, func(tx meta.Tx) error {
			if err := tx.CreateCustomer(ctx, &tuku.Customer{Name: "W", Code: "W"}); err != nil {
				return err
			}
			close(inTx)
			<-release
			return nil
		})
	}()
	<-inTx
	start := time.Now()
	err := s.View(ctx, func(tx meta.Tx) error {
		cs, err := tx.ListCustomers(ctx)
		if len(cs) != 0 {
			t.Errorf("View saw %d uncommitted customers", len(cs))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("View waited %v for the writer", d)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestTwoProcesses: two stores on one file (a CLI beside a server) both
// write without errors; SQLite's lock and busy timeout serialize them.
func TestTwoProcesses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "meta.db")
	a := open(t, path)
	b := open(t, path)
	ctx := t.Context()
	errc := make(chan error, 2)
	for _, s := range []meta.Store{a, b} {
		go func() {
			var err error
			for i := 0; i < 50 && err == nil; i++ {
				err = s.Tx(ctx, func(tx meta.Tx) error {
					_, err := tx.NextSeq(ctx, "shared")
					return err
				})
			}
			errc <- err
		}()
	}
	for range 2 {
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
	}
	err := a.Tx(ctx, func(tx meta.Tx) error {
		v, err := tx.NextSeq(ctx, "shared")
		if v != 101 {
			t.Errorf("NextSeq after 100 increments from two stores = %d, want 101", v)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}
