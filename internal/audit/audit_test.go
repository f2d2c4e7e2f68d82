package audit

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"tuku/internal/errs"
	"tuku/internal/tuku"
)

// chain builds n valid rows, each with distinct content in every field.
func chain(n int) []tuku.AuditEvent {
	rows := make([]tuku.AuditEvent, n)
	var seq int64
	var head string
	t0 := time.Date(2026, 3, 1, 8, 0, 0, 123456000, time.UTC)
	for i := range rows {
		rows[i] = tuku.AuditEvent{
			Time:       t0.Add(time.Duration(i) * time.Minute),
			ActorID:    fmt.Sprintf("u%d", i),
			ActorEmail: fmt.Sprintf("u%d@example.com", i),
			Action:     "asset.upload",
			TargetType: "asset",
			TargetID:   fmt.Sprintf("a%d", i),
			CustomerID: "c1",
			Outcome:    "ok",
			IP:         "192.0.2.1",
			UserAgent:  "test/1.0",
			RequestID:  fmt.Sprintf("r%d", i),
			Detail:     `{"k":"v"}`,
		}
		Chain(seq, head, &rows[i])
		seq, head = rows[i].Seq, rows[i].Hash
	}
	return rows
}

func walkOf(rows []tuku.AuditEvent) func(fn func(*tuku.AuditEvent) error) error {
	return func(fn func(*tuku.AuditEvent) error) error {
		for i := range rows {
			e := rows[i] // a copy: the store hands out fresh rows
			if err := fn(&e); err != nil {
				return err
			}
		}
		return nil
	}
}

// bySeq orders rows as the store's walk does (ORDER BY seq).
func bySeq(rows []tuku.AuditEvent) []tuku.AuditEvent {
	out := append([]tuku.AuditEvent(nil), rows...)
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].Seq < out[j-1].Seq; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

func verify(t *testing.T, expect string, rows []tuku.AuditEvent) Report {
	t.Helper()
	r, err := Verify(expect, walkOf(bySeq(rows)))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestChainValid(t *testing.T) {
	for _, n := range []int{0, 1, 2, 7} {
		rows := chain(n)
		r := verify(t, "", rows)
		if !r.OK || r.Rows != int64(n) || r.HeadSeq != int64(n) {
			t.Fatalf("n=%d: %+v", n, r)
		}
		if n > 0 {
			if r.HeadHash != rows[n-1].Hash || len(r.HeadHash) != 64 {
				t.Fatalf("n=%d: head %q", n, r.HeadHash)
			}
			if rows[0].PrevHash != "" || rows[0].Seq != 1 {
				t.Fatalf("first row %+v", rows[0])
			}
			want := fmt.Sprintf("audit chain OK: %d rows, head %d %s", n, n, rows[n-1].Hash)
			if r.String() != want {
				t.Fatalf("String() = %q, want %q", r.String(), want)
			}
		}
	}
}

// TestHashKnownValue pins the encoding: if this changes, doc/audit.md and
// Version must change too, or every stored chain stops verifying.
func TestHashKnownValue(t *testing.T) {
	e := &tuku.AuditEvent{Seq: 1, Time: time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC), ActorID: "system",
		ActorEmail: "system", Action: "user.create", TargetType: "user", TargetID: "u1", Outcome: "ok"}
	got := Hash("", e)
	// Computed independently from doc/audit.md's byte layout (Python's
	// hashlib over struct.pack('>q', …) fields).
	const want = "b2313367c878ae9c7390ba3d5b931a1571134fcfc965fccd1c08bc2ac317afec"
	if got != want {
		t.Fatalf("Hash = %s, want %s", got, want)
	}
	// Time zones do not matter, only the instant.
	e2 := *e
	e2.Time = e.Time.In(time.FixedZone("CST", 8*3600))
	if Hash("", &e2) != got {
		t.Fatal("hash depends on the time zone")
	}
}

// TestHashUnambiguous: moving bytes from one field to the next, or into
// the previous hash, changes the hash (length prefixes).
func TestHashUnambiguous(t *testing.T) {
	base := tuku.AuditEvent{Seq: 3, Action: "ab", TargetType: "c"}
	moved := tuku.AuditEvent{Seq: 3, Action: "a", TargetType: "bc"}
	if Hash("", &base) == Hash("", &moved) {
		t.Fatal("field boundary not encoded")
	}
	if Hash("x", &tuku.AuditEvent{ActorID: ""}) == Hash("", &tuku.AuditEvent{ActorID: "x"}) {
		t.Fatal("prev hash and actor collide")
	}
	seen := map[string]string{}
	for _, f := range fields {
		e := tuku.AuditEvent{Seq: 1}
		f.set(&e, "z")
		h := Hash("", &e)
		if other, ok := seen[h]; ok {
			t.Fatalf("fields %s and %s hash alike", f.name, other)
		}
		seen[h] = f.name
	}
}

// fields are the content fields and how to change one.
var fields = []struct {
	name string
	set  func(e *tuku.AuditEvent, v string)
}{
	{"time", func(e *tuku.AuditEvent, v string) { e.Time = e.Time.Add(time.Duration(len(v)) * time.Nanosecond) }},
	{"actor_id", func(e *tuku.AuditEvent, v string) { e.ActorID += v }},
	{"actor_email", func(e *tuku.AuditEvent, v string) { e.ActorEmail += v }},
	{"action", func(e *tuku.AuditEvent, v string) { e.Action += v }},
	{"target_type", func(e *tuku.AuditEvent, v string) { e.TargetType += v }},
	{"target_id", func(e *tuku.AuditEvent, v string) { e.TargetID += v }},
	{"customer_id", func(e *tuku.AuditEvent, v string) { e.CustomerID += v }},
	{"outcome", func(e *tuku.AuditEvent, v string) { e.Outcome += v }},
	{"ip", func(e *tuku.AuditEvent, v string) { e.IP += v }},
	{"user_agent", func(e *tuku.AuditEvent, v string) { e.UserAgent += v }},
	{"request_id", func(e *tuku.AuditEvent, v string) { e.RequestID += v }},
	{"detail", func(e *tuku.AuditEvent, v string) { e.Detail += v }},
}

func TestEditAnyFieldOfAnyRow(t *testing.T) {
	const n = 5
	for i := 0; i < n; i++ {
		for _, f := range fields {
			t.Run(fmt.Sprintf("row%d/%s", i+1, f.name), func(t *testing.T) {
				rows := chain(n)
				f.set(&rows[i], "z")
				r := verify(t, "", rows)
				if r.OK || r.BadSeq != int64(i+1) || r.Problem != HashMismatch {
					t.Fatalf("report %+v, want hash mismatch at %d", r, i+1)
				}
				if r.HeadSeq != int64(i) || r.Rows != int64(i+1) {
					t.Fatalf("good prefix %d rows %d, want %d %d", r.HeadSeq, r.Rows, i, i+1)
				}
				if !strings.Contains(r.String(), fmt.Sprintf("BROKEN at seq %d", i+1)) {
					t.Fatalf("String() = %q", r.String())
				}
			})
		}
		t.Run(fmt.Sprintf("row%d/prev_hash", i+1), func(t *testing.T) {
			rows := chain(n)
			rows[i].PrevHash = strings.Repeat("0", 64)
			r := verify(t, "", rows)
			if r.OK || r.BadSeq != int64(i+1) || r.Problem != PrevMismatch {
				t.Fatalf("report %+v, want prev mismatch at %d", r, i+1)
			}
		})
		t.Run(fmt.Sprintf("row%d/hash", i+1), func(t *testing.T) {
			rows := chain(n)
			rows[i].Hash = strings.Repeat("f", 64)
			r := verify(t, "", rows)
			if r.OK || r.BadSeq != int64(i+1) || r.Problem != HashMismatch {
				t.Fatalf("report %+v, want hash mismatch at %d", r, i+1)
			}
		})
		t.Run(fmt.Sprintf("row%d/seq", i+1), func(t *testing.T) {
			rows := chain(n)
			rows[i].Seq += 100 // moves the row to the end of the walk
			r := verify(t, "", rows)
			if r.OK || r.BadSeq != int64(i+1) || r.Problem != SeqGap {
				t.Fatalf("report %+v, want seq gap at %d", r, i+1)
			}
		})
		// Recomputing the edited row's own hash (as an attacker who knows
		// the format would) only moves the break to the next row.
		t.Run(fmt.Sprintf("row%d/rehashed", i+1), func(t *testing.T) {
			rows := chain(n)
			rows[i].Detail = "forged"
			rows[i].Hash = Hash(rows[i].PrevHash, &rows[i])
			r := verify(t, "", rows)
			if i == n-1 {
				// The last row: nothing after it to disagree, only an anchor can tell.
				if !r.OK {
					t.Fatalf("report %+v", r)
				}
				r = verify(t, chain(n)[n-1].Hash, rows)
				if r.OK || r.Problem != HeadMissing || r.BadSeq != int64(n+1) {
					t.Fatalf("with anchor: %+v", r)
				}
				return
			}
			if r.OK || r.BadSeq != int64(i+2) || r.Problem != PrevMismatch {
				t.Fatalf("report %+v, want prev mismatch at %d", r, i+2)
			}
		})
	}
}

func TestDeleteRow(t *testing.T) {
	const n = 6
	for i := 0; i < n-1; i++ {
		rows := chain(n)
		rows = append(rows[:i:i], rows[i+1:]...)
		r := verify(t, "", rows)
		if r.OK || r.BadSeq != int64(i+1) || r.Problem != SeqGap {
			t.Fatalf("delete row %d: %+v", i+1, r)
		}
		if !strings.Contains(r.Detail, fmt.Sprintf("row %d is missing", i+1)) {
			t.Fatalf("detail %q", r.Detail)
		}
	}
	// Deleting the last rows leaves a shorter valid chain: only an anchor
	// recorded before shows it.
	full := chain(n)
	anchor := full[n-1].Hash
	r := verify(t, anchor, full[:n-2])
	if r.OK || r.Problem != HeadMissing || r.BadSeq != int64(n-1) {
		t.Fatalf("truncation with anchor: %+v", r)
	}
	if r := verify(t, "", full[:n-2]); !r.OK || r.Rows != n-2 {
		t.Fatalf("truncation without anchor: %+v", r)
	}
	// Deleting and renumbering the rest breaks the chain at the deletion.
	rows := chain(n)
	rows = append(rows[:2:2], rows[3:]...)
	for j := 2; j < len(rows); j++ {
		rows[j].Seq--
	}
	if r := verify(t, "", rows); r.OK || r.BadSeq != 3 || r.Problem != PrevMismatch {
		t.Fatalf("delete and renumber: %+v", r)
	}
}

func TestSwapRows(t *testing.T) {
	const n = 6
	for i := 0; i < n; i++ {
		for j := i + 1; j < n; j++ {
			rows := chain(n)
			// Swap their positions in the log, as swapping their seq
			// values in the table does.
			rows[i].Seq, rows[j].Seq = rows[j].Seq, rows[i].Seq
			r := verify(t, "", rows)
			if r.OK || r.BadSeq != int64(i+1) || r.Problem != PrevMismatch {
				t.Fatalf("swap %d,%d: %+v", i+1, j+1, r)
			}
			// Swapping the content but keeping seq in place.
			rows = chain(n)
			rows[i], rows[j] = rows[j], rows[i]
			rows[i].Seq, rows[j].Seq = int64(i+1), int64(j+1)
			r = verify(t, "", rows)
			if r.OK || r.BadSeq != int64(i+1) {
				t.Fatalf("swap content %d,%d: %+v", i+1, j+1, r)
			}
		}
	}
}

func TestInsertRow(t *testing.T) {
	const n = 5
	for k := 0; k < n; k++ {
		for _, rehash := range []bool{false, true} {
			rows := chain(n)
			ins := rows[k]
			ins.Detail = "inserted"
			ins.Hash = "bogus"
			if rehash { // a well-formed row chained to its predecessor
				Chain(int64(k), rows[k].PrevHash, &ins)
			}
			out := append(append(append([]tuku.AuditEvent(nil), rows[:k]...), ins), rows[k:]...)
			for j := k + 1; j < len(out); j++ {
				out[j].Seq++
			}
			r := verify(t, "", out)
			want, prob := int64(k+1), HashMismatch
			if rehash {
				want, prob = int64(k+2), PrevMismatch
			}
			if r.OK || r.BadSeq != want || r.Problem != prob {
				t.Fatalf("insert at %d rehash=%v: %+v, want %s at %d", k+1, rehash, r, prob, want)
			}
		}
	}
	// A duplicate seq (no renumbering) is reported at that seq.
	rows := chain(3)
	dup := rows[1]
	dup.Detail = "x"
	out := []tuku.AuditEvent{rows[0], rows[1], dup, rows[2]}
	if r := verify(t, "", out); r.OK || r.BadSeq != 2 || r.Problem != SeqGap {
		t.Fatalf("duplicate seq: %+v", r)
	}
}

func TestFirstRowMustBeSeq1(t *testing.T) {
	rows := chain(3)[1:]
	r := verify(t, "", rows)
	if r.OK || r.BadSeq != 1 || r.Problem != SeqGap {
		t.Fatalf("%+v", r)
	}
}

func TestExpectHead(t *testing.T) {
	rows := chain(6)
	r := verify(t, rows[2].Hash, rows)
	if !r.OK || r.ExpectSeq != 3 || !strings.Contains(r.String(), "expected head at seq 3") {
		t.Fatalf("%+v", r)
	}
	// An anchor after the break does not count.
	rows[1].Detail = "edited"
	r = verify(t, rows[4].Hash, rows)
	if r.OK || r.BadSeq != 2 {
		t.Fatalf("%+v", r)
	}
	// An anchor from another log.
	r = verify(t, strings.Repeat("a", 64), chain(3))
	if r.OK || r.Problem != HeadMissing {
		t.Fatalf("%+v", r)
	}
}

func TestVerifyReadError(t *testing.T) {
	boom := errs.E(errs.Unavailable, "walk", "db down", nil)
	_, err := Verify("", func(fn func(*tuku.AuditEvent) error) error { return boom })
	if !errors.Is(err, errs.Unavailable) {
		t.Fatalf("err = %v", err)
	}
	// The walk stops at the first bad row.
	rows := chain(5)
	rows[1].Outcome = "denied"
	calls := 0
	_, err = Verify("", func(fn func(*tuku.AuditEvent) error) error {
		for i := range rows {
			calls++
			if err := fn(&rows[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil || calls != 2 {
		t.Fatalf("err %v calls %d", err, calls)
	}
}

func TestCheckHead(t *testing.T) {
	rows := chain(5)
	r := verify(t, "", rows)
	if got := r.CheckHead(5, rows[4].Hash); !got.OK {
		t.Fatalf("matching head: %+v", got)
	}
	cases := []struct {
		name    string
		rows    []tuku.AuditEvent
		seq     int64
		hash    string
		wantBad int64
	}{
		{"tail deleted", rows[:3], 5, rows[4].Hash, 4},
		{"appended behind Tuku's back", rows, 3, rows[2].Hash, 4},
		{"head hash differs", rows, 5, strings.Repeat("0", 64), 5},
	}
	for _, c := range cases {
		got := verify(t, "", c.rows).CheckHead(c.seq, c.hash)
		if got.OK || got.Problem != HeadRecord || got.BadSeq != c.wantBad {
			t.Errorf("%s: %+v, want bad seq %d", c.name, got, c.wantBad)
		}
	}
	// A broken report stays as it was.
	bad := append([]tuku.AuditEvent(nil), rows...)
	bad[1].IP = "203.0.113.9"
	if got := verify(t, "", bad).CheckHead(5, rows[4].Hash); got.BadSeq != 2 || got.Problem != HashMismatch {
		t.Fatalf("%+v", got)
	}
}
