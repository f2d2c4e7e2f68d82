package sqldb

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"

	"tuku/internal/errs"
)

type migration struct {
	version int
	name    string
	sql     string
}

// loadMigrations reads NNNN_name.sql files, sorted by version.
func loadMigrations(fsys fs.FS) ([]migration, error) {
	if fsys == nil {
		return nil, nil
	}
	names, err := fs.Glob(fsys, "*.sql")
	if err != nil {
		return nil, err
	}
	var ms []migration
	seen := map[int]string{}
	for _, n := range names {
		num, _, ok := strings.Cut(path.Base(n), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %q: name must be NNNN_description.sql", n)
		}
		if prev, dup := seen[v]; dup {
			return nil, fmt.Errorf("migrations %q and %q share version %d", prev, n, v)
		}
		seen[v] = n
		b, err := fs.ReadFile(fsys, n)
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: n, sql: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	return ms, nil
}

// SchemaVersion is the newest migration in fsys, i.e. the schema version a
// binary built with it knows.
func SchemaVersion(fsys fs.FS) (int, error) {
	ms, err := loadMigrations(fsys)
	if err != nil || len(ms) == 0 {
		return 0, err
	}
	return ms[len(ms)-1].version, nil
}

// migrate applies pending migrations, each in its own transaction together
// with its schema_migrations row, so a crash leaves the schema at a known
// version. Each transaction re-reads the version under the dialect's lock,
// so concurrent starts (a CLI and a server) apply every migration once.
func migrate(ctx context.Context, s *Store, fsys fs.FS) error {
	const op = "meta.migrate"
	ms, err := loadMigrations(fsys)
	if err != nil {
		return errs.E(errs.Internal, op, "", err)
	}
	known := 0
	if len(ms) > 0 {
		known = ms[len(ms)-1].version
	}
	for {
		done := false
		err := s.run(ctx, s.w, &s.d.WriteTx, false, func(t *Tx) error {
			if s.d.MigrationLock != "" {
				if _, err := t.tx.ExecContext(ctx, s.d.MigrationLock); err != nil {
					return err
				}
			}
			if _, err := t.tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
				version INTEGER PRIMARY KEY,
				name TEXT NOT NULL,
				applied_at BIGINT NOT NULL)`); err != nil {
				return err
			}
			var cur int
			if err := t.tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&cur); err != nil {
				return err
			}
			if cur > known {
				return errs.Ef(errs.Unavailable, op,
					"the database schema is at version %d but this tuku knows only up to %d: upgrade tuku (do not downgrade a migrated database)", cur, known)
			}
			var next *migration
			for i := range ms {
				if ms[i].version > cur {
					next = &ms[i]
					break
				}
			}
			if next == nil {
				done = true
				return nil
			}
			if _, err := t.tx.ExecContext(ctx, next.sql); err != nil {
				return fmt.Errorf("migration %s: %w", next.name, err)
			}
			_, err := t.tx.ExecContext(ctx, s.d.rebind(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`),
				next.version, next.name, toNS(nowUTC()))
			return err
		})
		if err != nil {
			return s.mapErr(op, err, "", "")
		}
		if done {
			return nil
		}
	}
}
