package postgres_test

import (
	"database/sql"
	"errors"
	"testing"

	"tuku/internal/errs"
	"tuku/internal/meta"
	"tuku/internal/meta/metatest"
	"tuku/internal/meta/postgres"
	"tuku/internal/testenv"
	"tuku/internal/tuku"
)

func open(t *testing.T, url string) meta.Store {
	t.Helper()
	s, err := postgres.Open(t.Context(), url)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	testenv.Postgres(t) // skip the whole suite at once when there is no server
	metatest.Run(t, func(t *testing.T) meta.Store {
		return open(t, testenv.Postgres(t))
	})
}

func TestReopenAndNewerSchema(t *testing.T) {
	url := testenv.Postgres(t)
	s, err := postgres.Open(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	c := &tuku.Customer{Name: "A", Code: "A"}
	if err := s.Tx(t.Context(), func(tx meta.Tx) error { return tx.CreateCustomer(t.Context(), c) }); err != nil {
		t.Fatal(err)
	}
	s.Close()

	s2 := open(t, url) // migrations already applied: a no-op
	err = s2.View(t.Context(), func(tx meta.Tx) error {
		_, err := tx.GetCustomer(t.Context(), c.ID)
		return err
	})
	if err != nil {
		t.Fatalf("after reopen: %v", err)
	}

	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (9999, 'future.sql', 0)`); err != nil {
		t.Fatal(err)
	}
	_, err = postgres.Open(t.Context(), url)
	if !errors.Is(err, errs.Unavailable) {
		t.Fatalf("Open of a newer schema: %v, want errs.Unavailable", err)
	}
}

func TestUnreachable(t *testing.T) {
	_, err := postgres.Open(t.Context(), "postgres://nobody@127.0.0.1:1/none?sslmode=disable&connect_timeout=2")
	if !errors.Is(err, errs.Unavailable) {
		t.Fatalf("Open of an unreachable server: %v, want errs.Unavailable", err)
	}
}
