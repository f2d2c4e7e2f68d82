package metatest

import (
	"database/sql"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"tuku/internal/errs"
	"tuku/internal/meta"
	"tuku/internal/tuku"
)

// rawStore is what meta/sqldb's Store offers to go around it.
type rawStore interface {
	RawDB() *sql.DB
	DialectName() string
}

// AllowAuditTamper switches off the append-only triggers of audit_events
// and returns the store's raw database, so a tamper-detection test can
// edit, delete or reorder audit rows with SQL. Write the statements with
// literals, not placeholders (PostgreSQL and SQLite spell them
// differently). On SQLite the triggers are dropped; on PostgreSQL they are
// disabled with ALTER TABLE audit_events DISABLE TRIGGER USER (the test
// server's user owns the table). On SQLite do not use the returned DB while
// a transaction of the store is running: the store has one writer
// connection and this is it.
func AllowAuditTamper(t testing.TB, s meta.Store) *sql.DB {
	t.Helper()
	r, ok := s.(rawStore)
	if !ok {
		t.Fatalf("AllowAuditTamper: %T gives no raw database", s)
	}
	var stmts []string
	switch r.DialectName() {
	case "sqlite":
		stmts = []string{`DROP TRIGGER IF EXISTS audit_events_no_update`, `DROP TRIGGER IF EXISTS audit_events_no_delete`}
	case "postgres":
		stmts = []string{`ALTER TABLE audit_events DISABLE TRIGGER USER`}
	default:
		t.Fatalf("AllowAuditTamper: unknown dialect %q", r.DialectName())
	}
	for _, q := range stmts {
		if _, err := r.RawDB().ExecContext(t.Context(), q); err != nil {
			t.Fatalf("AllowAuditTamper: %s: %v", q, err)
		}
	}
	return r.RawDB()
}

// chainHash is the suite's stand-in for package audit's hash: enough to
// check that rows chain, not a real digest.
func chainHash(seq int64, prev string) string { return fmt.Sprintf("h%d<%s", seq, prev) }

// appendAudit appends e after the head in its own transaction, filling in
// Seq, PrevHash and Hash.
func appendAudit(t *testing.T, s meta.Store, e *tuku.AuditEvent) {
	t.Helper()
	update(t, s, func(tx meta.Tx) error { return appendIn(t, tx, e) })
}

func appendIn(t *testing.T, tx meta.Tx, e *tuku.AuditEvent) error {
	seq, hash, err := tx.AuditHead(t.Context())
	if err != nil {
		return err
	}
	e.Seq, e.PrevHash, e.Hash = seq+1, hash, chainHash(seq+1, hash)
	return tx.InsertAudit(t.Context(), e)
}

func head(t *testing.T, s meta.Store) (int64, string) {
	t.Helper()
	var seq int64
	var hash string
	view(t, s, func(tx meta.Tx) error {
		var err error
		seq, hash, err = tx.AuditHead(t.Context())
		return err
	})
	return seq, hash
}

func walkAll(t *testing.T, s meta.Store, from int64) []tuku.AuditEvent {
	t.Helper()
	var out []tuku.AuditEvent
	view(t, s, func(tx meta.Tx) error {
		return tx.WalkAudit(t.Context(), from, func(e *tuku.AuditEvent) error {
			out = append(out, *e)
			return nil
		})
	})
	return out
}

func sameAudit(a, b tuku.AuditEvent) bool {
	if !sameTime(a.Time, b.Time) {
		return false
	}
	a.Time, b.Time = time.Time{}, time.Time{}
	return a == b
}

func testAuditChain(t *testing.T, s meta.Store) {
	ctx := t.Context()
	if seq, hash := head(t, s); seq != 0 || hash != "" {
		t.Fatalf("empty log: AuditHead = %d, %q; want 0, \"\"", seq, hash)
	}
	e1 := &tuku.AuditEvent{Time: at("2024-01-01T08:00:00.123456789+08:00"), ActorID: "u1", ActorEmail: "张三@example.com",
		Action: "auth.login", TargetType: "user", TargetID: "u1", Outcome: "ok", IP: "2001:db8::1",
		UserAgent: "Mozilla/5.0", RequestID: "req-1", Detail: `{"mfa":true}`}
	appendAudit(t, s, e1)
	if e1.Seq != 1 || e1.PrevHash != "" {
		t.Fatalf("first row: seq %d prev %q, want 1 and \"\"", e1.Seq, e1.PrevHash)
	}
	if seq, hash := head(t, s); seq != 1 || hash != e1.Hash {
		t.Errorf("after one append: AuditHead = %d, %q; want 1, %q", seq, hash, e1.Hash)
	}

	for _, tc := range []struct {
		name string
		e    tuku.AuditEvent
		kind errs.Kind
	}{
		{"seq skips one", tuku.AuditEvent{Seq: 3, PrevHash: e1.Hash, Hash: "x", Action: "a"}, errs.Conflict},
		{"seq repeats the head", tuku.AuditEvent{Seq: 1, PrevHash: "", Hash: "x", Action: "a"}, errs.Conflict},
		{"wrong prev hash", tuku.AuditEvent{Seq: 2, PrevHash: "forged", Hash: "x", Action: "a"}, errs.Conflict},
		{"empty prev hash", tuku.AuditEvent{Seq: 2, PrevHash: "", Hash: "x", Action: "a"}, errs.Conflict},
		{"no hash", tuku.AuditEvent{Seq: 2, PrevHash: e1.Hash, Action: "a"}, errs.Invalid},
		{"no action", tuku.AuditEvent{Seq: 2, PrevHash: e1.Hash, Hash: "x"}, errs.Invalid},
		{"seq zero", tuku.AuditEvent{Seq: 0, Hash: "x", Action: "a"}, errs.Invalid},
	} {
		err := s.Tx(ctx, func(tx meta.Tx) error { e := tc.e; return tx.InsertAudit(ctx, &e) })
		wantKind(t, "InsertAudit("+tc.name+")", err, tc.kind)
	}
	err := s.View(ctx, func(tx meta.Tx) error {
		e := tuku.AuditEvent{Seq: 2, PrevHash: e1.Hash, Hash: "x", Action: "a"}
		return tx.InsertAudit(ctx, &e)
	})
	wantKind(t, "InsertAudit in a View", err, errs.Invalid)

	// A rolled-back append leaves neither row nor head behind.
	boom := errors.New("boom")
	err = s.Tx(ctx, func(tx meta.Tx) error {
		if err := appendIn(t, tx, &tuku.AuditEvent{Action: "asset.delete"}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Tx = %v, want boom", err)
	}
	if seq, hash := head(t, s); seq != 1 || hash != e1.Hash {
		t.Errorf("after a rollback: AuditHead = %d, %q; want 1, %q", seq, hash, e1.Hash)
	}

	e2 := &tuku.AuditEvent{Time: at("2024-01-01T01:00:00Z"), ActorID: "system", Action: "asset.upload", CustomerID: "c1", Outcome: "ok"}
	appendAudit(t, s, e2)
	got := walkAll(t, s, 0)
	if len(got) != 2 || !sameAudit(got[0], *e1) || !sameAudit(got[1], *e2) {
		t.Fatalf("WalkAudit = %+v, want %+v then %+v", got, e1, e2)
	}
	if got[1].PrevHash != e1.Hash || got[0].Time.Location() != time.UTC {
		t.Errorf("row 2 prev_hash %q (want %q), time zone %v (want UTC)", got[1].PrevHash, e1.Hash, got[0].Time.Location())
	}
}

func testAuditConcurrent(t *testing.T, s meta.Store) {
	ctx := t.Context()
	const n = 8
	var wg sync.WaitGroup
	errc := make(chan error, n)
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errc <- s.Tx(ctx, func(tx meta.Tx) error {
				seq, hash, err := tx.AuditHead(ctx)
				if err != nil {
					return err
				}
				// Widen the window between reading the head and appending.
				time.Sleep(2 * time.Millisecond)
				return tx.InsertAudit(ctx, &tuku.AuditEvent{
					Seq: seq + 1, PrevHash: hash, Hash: fmt.Sprint(seq + 1),
					Action: "test.concurrent", TargetID: fmt.Sprint(i), Time: time.Now(),
				})
			})
		}()
	}
	close(start)
	wg.Wait()
	close(errc)
	for err := range errc {
		if err != nil {
			t.Errorf("concurrent append: %v", err)
		}
	}
	rows := walkAll(t, s, 1)
	if len(rows) != n {
		t.Fatalf("%d rows after %d concurrent appends", len(rows), n)
	}
	targets := map[string]bool{}
	prev := ""
	for i, e := range rows {
		if e.Seq != int64(i+1) || e.PrevHash != prev || e.Hash != fmt.Sprint(i+1) {
			t.Errorf("row %d: seq %d prev %q hash %q; want seq %d prev %q hash %q", i, e.Seq, e.PrevHash, e.Hash, i+1, prev, fmt.Sprint(i+1))
		}
		prev = e.Hash
		targets[e.TargetID] = true
	}
	if len(targets) != n {
		t.Errorf("rows come from %d transactions, want %d", len(targets), n)
	}
	if seq, hash := head(t, s); seq != n || hash != fmt.Sprint(n) {
		t.Errorf("AuditHead = %d, %q; want %d, %q", seq, hash, n, fmt.Sprint(n))
	}
}

func testAuditList(t *testing.T, s meta.Store) {
	ctx := t.Context()
	base := at("2024-03-01T00:00:00Z")
	// 105 rows: seq i at base + i minutes. Actions cycle through four
	// kinds; actors, customers and outcomes follow simple rules so each
	// filter's answer can be computed.
	actions := []string{"asset.upload", "asset.view", "auth.login", "assets.bulk"}
	var all []tuku.AuditEvent
	update(t, s, func(tx meta.Tx) error {
		for i := 1; i <= 105; i++ {
			e := tuku.AuditEvent{
				Time:       base.Add(time.Duration(i) * time.Minute),
				ActorID:    fmt.Sprint("u", i%3),
				Action:     actions[i%4],
				TargetID:   fmt.Sprint("t", i%5),
				CustomerID: fmt.Sprint("c", i%2),
				Outcome:    map[bool]string{true: "denied", false: "ok"}[i%7 == 0],
			}
			if err := appendIn(t, tx, &e); err != nil {
				return err
			}
			all = append(all, e)
		}
		return nil
	})
	// want returns the seqs of the rows matching keep, newest first.
	want := func(keep func(e tuku.AuditEvent) bool) []int64 {
		out := []int64{}
		for i := len(all) - 1; i >= 0; i-- {
			if keep(all[i]) {
				out = append(out, all[i].Seq)
			}
		}
		return out
	}
	seqs := func(es []tuku.AuditEvent) []int64 {
		out := []int64{}
		for _, e := range es {
			out = append(out, e.Seq)
		}
		return out
	}
	from, to := base.Add(10*time.Minute), base.Add(20*time.Minute)
	for _, tc := range []struct {
		name string
		f    meta.AuditFilter
		keep func(e tuku.AuditEvent) bool
	}{
		{"actor", meta.AuditFilter{ActorID: "u1", Limit: 1000}, func(e tuku.AuditEvent) bool { return e.ActorID == "u1" }},
		{"exact action", meta.AuditFilter{Action: "asset.view", Limit: 1000}, func(e tuku.AuditEvent) bool { return e.Action == "asset.view" }},
		// "asset." must not match "assets.bulk".
		{"action prefix", meta.AuditFilter{Action: "asset.", Limit: 1000}, func(e tuku.AuditEvent) bool {
			return e.Action == "asset.upload" || e.Action == "asset.view"
		}},
		{"action without dot is exact", meta.AuditFilter{Action: "asset", Limit: 1000}, func(tuku.AuditEvent) bool { return false }},
		{"target", meta.AuditFilter{TargetID: "t3", Limit: 1000}, func(e tuku.AuditEvent) bool { return e.TargetID == "t3" }},
		{"customer", meta.AuditFilter{CustomerID: "c0", Limit: 1000}, func(e tuku.AuditEvent) bool { return e.CustomerID == "c0" }},
		{"outcome", meta.AuditFilter{Outcome: "denied", Limit: 1000}, func(e tuku.AuditEvent) bool { return e.Outcome == "denied" }},
		{"time range", meta.AuditFilter{From: from, To: to, Limit: 1000}, func(e tuku.AuditEvent) bool {
			return !e.Time.Before(from) && e.Time.Before(to)
		}},
		{"combined", meta.AuditFilter{ActorID: "u2", Action: "asset.", CustomerID: "c1", Limit: 1000}, func(e tuku.AuditEvent) bool {
			return e.ActorID == "u2" && e.CustomerID == "c1" && (e.Action == "asset.upload" || e.Action == "asset.view")
		}},
		{"default limit 100", meta.AuditFilter{}, func(e tuku.AuditEvent) bool { return e.Seq > 5 }},
		{"limit over the maximum", meta.AuditFilter{Limit: 5000}, func(tuku.AuditEvent) bool { return true }},
	} {
		view(t, s, func(tx meta.Tx) error {
			got, next, err := tx.ListAudit(ctx, tc.f)
			if err != nil {
				return err
			}
			w := want(tc.keep)
			if !reflect.DeepEqual(seqs(got), w) {
				t.Errorf("ListAudit(%s) = %v, want %v", tc.name, seqs(got), w)
			}
			wantNext := tc.name == "default limit 100"
			if (next != "") != wantNext {
				t.Errorf("ListAudit(%s): next cursor %q, want one: %v", tc.name, next, wantNext)
			}
			return nil
		})
	}

	// Paging with a filter: 7-row pages of customer c1 rows, newest first.
	var paged []int64
	cursor := ""
	pages := 0
	for {
		var got []tuku.AuditEvent
		view(t, s, func(tx meta.Tx) error {
			var err error
			got, cursor, err = tx.ListAudit(ctx, meta.AuditFilter{CustomerID: "c1", Cursor: cursor, Limit: 7})
			return err
		})
		pages++
		if len(got) > 7 {
			t.Fatalf("page of %d rows, limit 7", len(got))
		}
		paged = append(paged, seqs(got)...)
		if cursor == "" || pages > 20 {
			break
		}
	}
	if w := want(func(e tuku.AuditEvent) bool { return e.CustomerID == "c1" }); !reflect.DeepEqual(paged, w) || pages != 8 {
		t.Errorf("paging: %d pages, %v; want 8 pages, %v", pages, paged, w)
	}
	// The rows themselves come back whole.
	view(t, s, func(tx meta.Tx) error {
		got, _, err := tx.ListAudit(ctx, meta.AuditFilter{Limit: 1})
		if err != nil {
			return err
		}
		if len(got) != 1 || !sameAudit(got[0], all[104]) {
			t.Errorf("ListAudit(limit 1) = %+v, want %+v", got, all[104])
		}
		for _, c := range []string{"garbage!", "YTEy", "YQ", "YTA", "YS0x", "YTAx", "MTI"} {
			// YTEy is "a12", which is valid; the rest are not.
			_, _, err := tx.ListAudit(ctx, meta.AuditFilter{Cursor: c})
			if c == "YTEy" {
				if err != nil {
					t.Errorf("ListAudit(cursor a12): %v", err)
				}
				continue
			}
			wantKind(t, "ListAudit(cursor "+c+")", err, errs.Invalid)
		}
		return nil
	})
}

func testAuditWalk(t *testing.T, s meta.Store) {
	ctx := t.Context()
	for i := 0; i < 10; i++ {
		appendAudit(t, s, &tuku.AuditEvent{Action: "test.walk", TargetID: fmt.Sprint(i)})
	}
	for _, tc := range []struct {
		from int64
		want int
	}{{0, 10}, {1, 10}, {4, 7}, {10, 1}, {11, 0}} {
		got := walkAll(t, s, tc.from)
		if len(got) != tc.want {
			t.Errorf("WalkAudit(from %d): %d rows, want %d", tc.from, len(got), tc.want)
			continue
		}
		for i, e := range got {
			if want := max(tc.from, 1) + int64(i); e.Seq != want || e.TargetID != fmt.Sprint(want-1) {
				t.Errorf("WalkAudit(from %d) row %d: seq %d target %q, want seq %d", tc.from, i, e.Seq, e.TargetID, want)
			}
		}
	}
	// fn's first error stops the walk and comes back as is; in a Tx too.
	stop := errors.New("stop")
	var seen []int64
	err := s.Tx(ctx, func(tx meta.Tx) error {
		return tx.WalkAudit(ctx, 2, func(e *tuku.AuditEvent) error {
			seen = append(seen, e.Seq)
			if e.Seq == 5 {
				return stop
			}
			return nil
		})
	})
	if !errors.Is(err, stop) || !reflect.DeepEqual(seen, []int64{2, 3, 4, 5}) {
		t.Errorf("WalkAudit with early stop: %v, saw %v; want stop after [2 3 4 5]", err, seen)
	}
	// The transaction is usable after an early stop.
	update(t, s, func(tx meta.Tx) error {
		stopped := tx.WalkAudit(ctx, 0, func(*tuku.AuditEvent) error { return stop })
		if !errors.Is(stopped, stop) {
			t.Errorf("WalkAudit = %v, want stop", stopped)
		}
		return appendIn(t, tx, &tuku.AuditEvent{Action: "test.after_stop"})
	})
	if seq, _ := head(t, s); seq != 11 {
		t.Errorf("AuditHead after the append following a stopped walk = %d, want 11", seq)
	}
}

// testAuditAppendOnly checks the triggers: raw SQL can neither update nor
// delete audit rows until a test switches them off on purpose.
func testAuditAppendOnly(t *testing.T, s meta.Store) {
	ctx := t.Context()
	r, ok := s.(rawStore)
	if !ok {
		t.Skipf("%T gives no raw database", s)
	}
	for i := 0; i < 3; i++ {
		appendAudit(t, s, &tuku.AuditEvent{Action: "test.raw", Detail: "original"})
	}
	db := r.RawDB()
	for _, q := range []string{
		`UPDATE audit_events SET detail = 'edited' WHERE seq = 2`,
		`UPDATE audit_events SET seq = 9 WHERE seq = 3`,
		`DELETE FROM audit_events WHERE seq = 2`,
		`DELETE FROM audit_events`,
	} {
		if _, err := db.ExecContext(ctx, q); err == nil {
			t.Errorf("%s: accepted, want the append-only trigger to refuse it", q)
		}
	}
	if r.DialectName() == "postgres" {
		if _, err := db.ExecContext(ctx, `TRUNCATE audit_events`); err == nil {
			t.Errorf("TRUNCATE audit_events: accepted, want it refused")
		}
	}
	rows := walkAll(t, s, 0)
	if len(rows) != 3 || rows[1].Detail != "original" {
		t.Fatalf("after refused tampering: %+v, want the 3 original rows", rows)
	}

	// The documented way for tamper-detection tests still works.
	db = AllowAuditTamper(t, s)
	if _, err := db.ExecContext(ctx, `UPDATE audit_events SET detail = 'edited' WHERE seq = 2`); err != nil {
		t.Fatalf("UPDATE after AllowAuditTamper: %v", err)
	}
	if _, err := db.ExecContext(ctx, `DELETE FROM audit_events WHERE seq = 3`); err != nil {
		t.Fatalf("DELETE after AllowAuditTamper: %v", err)
	}
	rows = walkAll(t, s, 0)
	if len(rows) != 2 || rows[1].Detail != "edited" {
		t.Errorf("after tampering: %+v, want 2 rows, the second edited", rows)
	}
}

// testAccountCascade deletes a user with raw SQL (there is no DeleteUser
// yet) and checks that the rows hanging off it go too, while the audit
// rows naming the user stay.
func testAccountCascade(t *testing.T, s meta.Store) {
	ctx := t.Context()
	r, ok := s.(rawStore)
	if !ok {
		t.Skipf("%T gives no raw database", s)
	}
	u := addUser(t, s, "gone@example.com")
	keep := addUser(t, s, "keep@example.com")
	c := addCustomer(t, s, "A")
	p := addProject(t, s, c.ID, "P")
	update(t, s, func(tx meta.Tx) error {
		for _, uid := range []string{u.ID, keep.ID} {
			if err := tx.CreateSession(ctx, &tuku.Session{Hash: sha("s" + uid), UserID: uid}); err != nil {
				return err
			}
			if err := tx.PutMFA(ctx, &tuku.MFA{UserID: uid, Secret: "x"}); err != nil {
				return err
			}
			if err := tx.PutGrant(ctx, &tuku.Grant{UserID: uid, CustomerID: c.ID, ProjectID: p.ID, Level: tuku.LevelViewer}); err != nil {
				return err
			}
			if err := tx.CreateToken(ctx, &tuku.Token{UserID: uid, Name: "t", Hash: sha("t" + uid)}); err != nil {
				return err
			}
		}
		return appendIn(t, tx, &tuku.AuditEvent{Action: "user.create", ActorID: u.ID, TargetID: u.ID})
	})
	if _, err := r.RawDB().ExecContext(ctx, `DELETE FROM users WHERE id = '`+u.ID+`'`); err != nil {
		t.Fatalf("raw DELETE of a user: %v", err)
	}
	view(t, s, func(tx meta.Tx) error {
		for _, tc := range []struct {
			uid  string
			want int
		}{{u.ID, 0}, {keep.ID, 1}} {
			n := 0
			if _, err := tx.GetSession(ctx, sha("s"+tc.uid)); err == nil {
				n++
			}
			if n != tc.want {
				t.Errorf("sessions of %s: %d, want %d", tc.uid, n, tc.want)
			}
			if _, err := tx.GetMFA(ctx, tc.uid); (err == nil) != (tc.want == 1) {
				t.Errorf("MFA of %s: err %v, want present: %v", tc.uid, err, tc.want == 1)
			}
			gs, err := tx.ListGrants(ctx, meta.GrantFilter{UserID: tc.uid})
			if err != nil {
				return err
			}
			if len(gs) != tc.want {
				t.Errorf("grants of %s: %d, want %d", tc.uid, len(gs), tc.want)
			}
			ks, err := tx.ListTokens(ctx, tc.uid)
			if err != nil {
				return err
			}
			if len(ks) != tc.want {
				t.Errorf("tokens of %s: %d, want %d", tc.uid, len(ks), tc.want)
			}
		}
		return nil
	})
	if rows := walkAll(t, s, 0); len(rows) != 1 || rows[0].ActorID != u.ID {
		t.Errorf("audit rows after the user's deletion: %+v, want the one row kept", rows)
	}
}
