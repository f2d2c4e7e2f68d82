package main

import (
	"context"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	_ "modernc.org/sqlite" // the "sqlite" driver, for tampering with the database file

	"tuku/internal/audit"
	"tuku/internal/testenv"
	"tuku/internal/tuku"
)

// TestAuditChain runs a scripted session of audited actions through the
// CLI, checks that `tuku audit verify` passes and that the log holds what
// happened, then tampers with single rows in raw SQL (edit, delete,
// reorder, cut the tail) and checks that verify fails naming the row.
func TestAuditChain(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		k := newTK(t)
		auditChain(t, k, openSQLite(t, k))
	})
	t.Run("postgres", func(t *testing.T) {
		pg := testenv.Postgres(t)
		k := newTK(t, "--db", pg)
		auditChain(t, k, openPostgres(t, pg))
	})
}

// rawDB is direct SQL access to a test instance's database, behind Tuku's
// back, as an attacker with write access to it would have.
type rawDB struct {
	db *sql.DB
	pg bool
}

func openSQLite(t *testing.T, k *tk) *rawDB {
	t.Helper()
	k.ok("customer", "list") // creates and migrates the database
	db, err := sql.Open("sqlite", "file:"+filepath.Join(k.args[1], "tuku.db")+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return &rawDB{db: db}
}

func openPostgres(t *testing.T, url string) *rawDB {
	t.Helper()
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return &rawDB{db: db, pg: true}
}

// exec runs one statement, with ? placeholders on both databases.
func (r *rawDB) exec(t *testing.T, q string, args ...any) {
	t.Helper()
	if r.pg {
		n := 0
		q = regexp.MustCompile(`\?`).ReplaceAllStringFunc(q, func(string) string { n++; return "$" + strconv.Itoa(n) })
	}
	if _, err := r.db.ExecContext(context.Background(), q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// allowTampering drops the append-only guard the migrations install
// (0002_security.sql): whoever holds the database can do this, which is
// why the chain exists.
func (r *rawDB) allowTampering(t *testing.T) {
	t.Helper()
	if r.pg {
		r.exec(t, `ALTER TABLE audit_events DISABLE TRIGGER USER`)
		return
	}
	r.exec(t, `DROP TRIGGER audit_events_no_update`)
	r.exec(t, `DROP TRIGGER audit_events_no_delete`)
}

// auditRow is one row as `tuku audit list --json` prints it.
type auditRow = tuku.AuditEvent

func listAudit(t *testing.T, k *tk, args ...string) []auditRow {
	t.Helper()
	out := k.ok(append([]string{"audit", "list", "--json", "--limit", "1000"}, args...)...)
	var rows []auditRow
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if l == "" {
			continue
		}
		var e auditRow
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			t.Fatalf("audit list line %q: %v", l, err)
		}
		rows = append(rows, e)
	}
	return rows
}

var okLine = regexp.MustCompile(`^audit chain OK: (\d+) rows, head (\d+) ([0-9a-f]{64})?( \(contains expected head at seq \d+\))?\n$`)

// verifyOK runs `tuku audit verify` and returns the row count and head hash.
func verifyOK(t *testing.T, k *tk, args ...string) (int, string) {
	t.Helper()
	out := k.ok(append([]string{"audit", "verify"}, args...)...)
	m := okLine.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("audit verify printed %q", out)
	}
	if m[1] != m[2] {
		t.Fatalf("rows %s but head seq %s", m[1], m[2])
	}
	n, _ := strconv.Atoi(m[1])
	return n, m[3]
}

// verifyBroken runs `tuku audit verify` expecting exit 1 naming seq.
func verifyBroken(t *testing.T, k *tk, seq int64, problem string) {
	t.Helper()
	out, errOut, code := k.run("audit", "verify")
	if code != 1 {
		t.Fatalf("audit verify after tampering: exit %d, stdout %q stderr %q", code, out, errOut)
	}
	want := fmt.Sprintf("audit chain BROKEN at seq %d: %s", seq, problem)
	if !strings.HasPrefix(errOut, want) {
		t.Fatalf("audit verify said %q, want it to start with %q", errOut, want)
	}
	// --json says the same.
	out, _, code = k.run("audit", "verify", "--json")
	var rep struct {
		OK      bool   `json:"ok"`
		BadSeq  int64  `json:"bad_seq"`
		Problem string `json:"problem"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil || code != 1 || rep.OK || rep.BadSeq != seq || rep.Problem != problem {
		t.Fatalf("verify --json: exit %d %q (%v)", code, out, err)
	}
}

func auditChain(t *testing.T, k *tk, db *rawDB) {
	dir := t.TempDir()

	// An empty log verifies.
	if n, _ := verifyOK(t, k); n != 0 {
		t.Fatalf("fresh instance has %d audit rows", n)
	}

	// The scripted session.
	k.ok("customer", "add", "Acme 装饰", "--code", "ACME")
	k.ok("customer", "add", `=HYPERLINK("http://x")`, "--code", "EVIL")
	k.ok("project", "add", "--customer", "ACME", "门店")
	a := writeJPEG(t, dir, "a.jpg", 320, 240)
	b := writeJPEG(t, dir, "b.jpg", 400, 300)
	ls, code := k.importJSON(a, b, "--customer", "ACME", "--project", "门店")
	if code != 0 || len(ls) != 2 || ls[0].Status != "imported" || ls[1].Status != "imported" {
		t.Fatalf("import: %+v exit %d", ls, code)
	}
	// Output lines come in completion order.
	assetA, assetB := ls[0].AssetID, ls[1].AssetID
	if ls[0].Path != a {
		assetA, assetB = assetB, assetA
	}
	// The same bytes under another name: a duplicate.
	dup := filepath.Join(dir, "copy-of-a.jpg")
	data, err := os.ReadFile(a)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dup, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if ls, _ := k.importJSON(dup, "--customer", "ACME"); len(ls) != 1 || ls[0].Status != "duplicate" || ls[0].AssetID != assetA {
		t.Fatalf("duplicate import: %+v", ls)
	}
	// Not an image: rejected, and logged as a failed upload.
	junk := filepath.Join(dir, "notes.jpg")
	if err := os.WriteFile(junk, []byte("this is not an image at all, only text"), 0o644); err != nil {
		t.Fatal(err)
	}
	if ls, _ := k.importJSON(junk, "--customer", "ACME"); len(ls) != 1 || ls[0].Status != "rejected" {
		t.Fatalf("junk import: %+v", ls)
	}
	// Reading an original is audited; a thumbnail is not.
	k.ok("asset", "get", assetA, "-o", filepath.Join(dir, "out.jpg"))
	k.ok("asset", "get", assetA, "--size", "grid", "-o", filepath.Join(dir, "thumb.jpg"))
	k.ok("user", "add", "--email", "bob@example.com", "--role", "member")
	k.ok("token", "create", "--email", "bob@example.com", "--read-only")

	n, head := verifyOK(t, k)
	rows := listAudit(t, k)
	if len(rows) != n {
		t.Fatalf("verify counted %d rows, list shows %d", n, len(rows))
	}
	// What the session must have left, in order (other actions may add rows
	// in between; each of these appears exactly as often as listed).
	want := []struct{ action, outcome, target string }{
		{"customer.create", "ok", ""},
		{"customer.create", "ok", ""},
		{"project.create", "ok", ""},
		{"asset.upload", "ok", ""}, // a and b, in either order
		{"asset.upload", "ok", ""},
		{"asset.upload", "ok", assetA}, // the duplicate names the existing asset
		{"asset.upload", "failed", ""},
		{"asset.download", "ok", assetA},
		{"user.create", "ok", ""},
		{"token.create", "ok", ""},
	}
	// rows are newest first; walk them oldest first.
	j := 0
	for i := len(rows) - 1; i >= 0 && j < len(want); i-- {
		e := rows[i]
		if e.Seq != int64(len(rows)-i) {
			t.Fatalf("row %d has seq %d", len(rows)-i, e.Seq)
		}
		w := want[j]
		if e.Action == w.action && e.Outcome == w.outcome && (w.target == "" || e.TargetID == w.target) {
			if e.ActorID != "system" || e.Hash == "" || (e.Seq > 1 && e.PrevHash == "") {
				t.Errorf("row %d: %+v", e.Seq, e)
			}
			j++
		}
	}
	if j != len(want) {
		t.Fatalf("the log lacks %+v (and what follows); it has:\n%s", want[j], k.ok("audit", "list", "--limit", "1000"))
	}
	for _, e := range rows {
		if e.Action == "asset.download" && e.TargetID != assetA {
			t.Errorf("unexpected download row %+v (thumbnails are not audited)", e)
		}
		if e.Action == "asset.upload" && e.Outcome == "failed" && !strings.Contains(e.Detail, `"error":"unsupported"`) {
			t.Errorf("failed upload detail %q lacks the error code", e.Detail)
		}
	}
	if got := listAudit(t, k, "--target", assetB); len(got) != 1 || got[0].Action != "asset.upload" || got[0].Outcome != "ok" {
		t.Fatalf("rows about %s: %+v", assetB, got)
	}
	if got := listAudit(t, k, "--target", assetA); len(got) != 3 {
		t.Fatalf("rows about %s: %+v, want upload, duplicate upload, download", assetA, got)
	}
	if got := listAudit(t, k, "--action", "asset.", "--outcome", "failed"); len(got) != 1 || got[0].Action != "asset.upload" {
		t.Fatalf("filtered list: %+v", got)
	}

	// The head anchors: the current head and an older one are in the
	// chain; a hash from nowhere is not.
	verifyOK(t, k, "--expect-head", head)
	verifyOK(t, k, "--expect-head", rows[len(rows)-3].Hash)
	if _, errOut, code := k.run("audit", "verify", "--expect-head", strings.Repeat("ab", 32)); code != 1 || !strings.Contains(errOut, "expected_head_missing") {
		t.Fatalf("unknown anchor: exit %d %q", code, errOut)
	}

	// Tampering. Each case breaks one thing, checks verify names the
	// row, then puts the row back and checks the chain is whole again.
	db.allowTampering(t)
	row := func(seq int64) auditRow {
		for _, e := range rows {
			if e.Seq == seq {
				return e
			}
		}
		t.Fatalf("no row %d", seq)
		return auditRow{}
	}
	put := func(e auditRow) {
		db.exec(t, `INSERT INTO audit_events (seq, time, actor_id, actor_email, action, target_type, target_id,
			customer_id, outcome, ip, user_agent, request_id, detail, prev_hash, hash)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			e.Seq, e.Time.UnixNano(), e.ActorID, e.ActorEmail, e.Action, e.TargetType, e.TargetID,
			e.CustomerID, e.Outcome, e.IP, e.UserAgent, e.RequestID, e.Detail, e.PrevHash, e.Hash)
	}
	last := int64(n)
	t.Run("edit", func(t *testing.T) {
		for _, c := range []struct {
			seq int64
			col string
			val any
		}{
			{3, "detail", `{"name":"something else"}`},
			{4, "actor_id", "mallory"},
			{5, "time", row(5).Time.UnixNano() + 1000},
			{last, "outcome", "denied"},
			{1, "target_id", "x"},
		} {
			db.exec(t, `UPDATE audit_events SET `+c.col+` = ? WHERE seq = ?`, c.val, c.seq)
			verifyBroken(t, k, c.seq, "hash_mismatch")
			db.exec(t, `DELETE FROM audit_events WHERE seq = ?`, c.seq)
			put(row(c.seq))
			verifyOK(t, k)
		}
	})
	t.Run("delete", func(t *testing.T) {
		db.exec(t, `DELETE FROM audit_events WHERE seq = ?`, 4)
		verifyBroken(t, k, 4, "seq_gap")
		put(row(4))
		// The newest row: the chain left is valid, but the head record
		// (and an anchor) know it was longer.
		db.exec(t, `DELETE FROM audit_events WHERE seq = ?`, last)
		verifyBroken(t, k, last, "head_record_mismatch")
		put(row(last))
		verifyOK(t, k, "--expect-head", head)
	})
	t.Run("reorder", func(t *testing.T) {
		// Swap the seq of rows 2 and 6 (through a free number: seq is
		// the primary key).
		db.exec(t, `UPDATE audit_events SET seq = -1 WHERE seq = 2`)
		db.exec(t, `UPDATE audit_events SET seq = 2 WHERE seq = 6`)
		db.exec(t, `UPDATE audit_events SET seq = 6 WHERE seq = -1`)
		verifyBroken(t, k, 2, "prev_hash_mismatch")
		db.exec(t, `UPDATE audit_events SET seq = -1 WHERE seq = 2`)
		db.exec(t, `UPDATE audit_events SET seq = 2 WHERE seq = 6`)
		db.exec(t, `UPDATE audit_events SET seq = 6 WHERE seq = -1`)
		// Adjacent rows.
		db.exec(t, `UPDATE audit_events SET seq = -1 WHERE seq = 7`)
		db.exec(t, `UPDATE audit_events SET seq = 7 WHERE seq = 8`)
		db.exec(t, `UPDATE audit_events SET seq = 8 WHERE seq = -1`)
		verifyBroken(t, k, 7, "prev_hash_mismatch")
		db.exec(t, `UPDATE audit_events SET seq = -1 WHERE seq = 7`)
		db.exec(t, `UPDATE audit_events SET seq = 7 WHERE seq = 8`)
		db.exec(t, `UPDATE audit_events SET seq = 8 WHERE seq = -1`)
		verifyOK(t, k, "--expect-head", head)
	})
	t.Run("insert", func(t *testing.T) {
		// A forged row appended behind Tuku's back, chained correctly:
		// the head record says the log ends before it.
		e := row(last)
		e.Detail = "forged"
		audit.Chain(last, e.Hash, &e)
		put(e)
		verifyBroken(t, k, last+1, "head_record_mismatch")
		db.exec(t, `DELETE FROM audit_events WHERE seq = ?`, last+1)
		// The same with a wrong hash fails on the row itself.
		e.Hash = strings.Repeat("0", 64)
		put(e)
		verifyBroken(t, k, last+1, "hash_mismatch")
		db.exec(t, `DELETE FROM audit_events WHERE seq = ?`, last+1)
		verifyOK(t, k)
	})
}

// TestAuditConcurrentUploads: eight imports at once, each its own process
// image (own connection pool), append to the log without a gap or fork.
func TestAuditConcurrentUploads(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { concurrentUploads(t, newTK(t)) })
	t.Run("postgres", func(t *testing.T) { concurrentUploads(t, newTK(t, "--db", testenv.Postgres(t))) })
}

func concurrentUploads(t *testing.T, k *tk) {
	k.ok("customer", "add", "Acme", "--code", "ACME")
	dir := t.TempDir()
	const n = 8
	files := make([]string, n)
	for i := range files {
		files[i] = writeJPEG(t, dir, fmt.Sprintf("f%d.jpg", i), 200+8*i, 150)
	}
	var wg sync.WaitGroup
	codes := make([]int, n)
	outs := make([]string, n)
	for i := range files {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var errOut string
			outs[i], errOut, codes[i] = k.run("import", "--json", files[i], "--customer", "ACME")
			outs[i] += errOut
		}()
	}
	wg.Wait()
	for i := range codes {
		if codes[i] != 0 || !strings.Contains(outs[i], `"status":"imported"`) {
			t.Fatalf("import %d: exit %d: %s", i, codes[i], outs[i])
		}
	}
	rows, head := verifyOK(t, k)
	if rows != n+1 {
		t.Fatalf("%d rows, want %d (customer + %d uploads)", rows, n+1, n)
	}
	ups := listAudit(t, k, "--action", "asset.upload")
	seen := map[string]bool{}
	for _, e := range ups {
		seen[e.TargetID] = true
	}
	if len(ups) != n || len(seen) != n {
		t.Fatalf("%d upload rows for %d assets, want %d", len(ups), len(seen), n)
	}
	if ups[0].Hash != head {
		t.Fatalf("newest upload row %d is not the head", ups[0].Seq)
	}
}

// TestAuditExportCSV: the export is well-formed CSV with every row, and a
// customer named like a spreadsheet formula never lands as a formula cell.
func TestAuditExportCSV(t *testing.T) {
	k := newTK(t)
	payload := `=HYPERLINK("http://x","click"),"` + "\n" + `@SUM(1)`
	k.ok("customer", "add", payload, "--code", "EVIL")
	k.ok("customer", "add", "Acme", "--code", "ACME")
	n, _ := verifyOK(t, k)
	out := filepath.Join(t.TempDir(), "audit.csv")
	k.ok("audit", "export", "-o", out)
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	if st.Mode().Perm() != 0o600 {
		t.Errorf("export mode %v, want 0600", st.Mode().Perm())
	}
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("export is not valid CSV: %v", err)
	}
	wantHeader := "seq,time,actor_id,actor_email,action,target_type,target_id,customer_id,outcome,ip,user_agent,request_id,detail,prev_hash,hash"
	if strings.Join(recs[0], ",") != wantHeader {
		t.Fatalf("header %q", recs[0])
	}
	// Every row, plus the export's own, newest first.
	if len(recs) != 1+n+1 || recs[1][4] != "audit.export" || recs[len(recs)-1][0] != "1" {
		t.Fatalf("%d records: %q", len(recs), recs)
	}
	found := false
	for _, rec := range recs[1:] {
		for _, cell := range rec {
			if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
				t.Errorf("formula cell %q", cell)
			}
		}
		var d map[string]string
		if rec[4] == "customer.create" && json.Unmarshal([]byte(rec[12]), &d) == nil && d["name"] != "" {
			// cleanText keeps the newline; the CSV round-trips it.
			found = found || d["name"] == payload
		}
	}
	if !found {
		t.Fatalf("the customer's name did not round-trip through the export: %q", recs)
	}
	// The verify still passes after the export appended its row.
	if m, _ := verifyOK(t, k); m != n+1 {
		t.Fatalf("rows after export %d, want %d", m, n+1)
	}
	// To standard output, filtered.
	csvOut := k.ok("audit", "export", "-o", "-", "--action", "customer.create")
	recs, err = csv.NewReader(strings.NewReader(csvOut)).ReadAll()
	if err != nil || len(recs) != 3 {
		t.Fatalf("filtered export: %v %q", err, recs)
	}
}
