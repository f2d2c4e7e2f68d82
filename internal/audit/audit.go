// Package audit is the format of Tuku's tamper-evident audit log: every row
// carries the SHA-256 of its own content and of the previous row's hash, so
// editing, deleting, inserting or reordering a row breaks the chain at that
// row. The exact encoding is written down in doc/audit.md; changing it needs
// a new version byte.
//
// The package is pure: meta stores the rows (AuditHead, InsertAudit,
// WalkAudit) and service appends them inside the transaction of the change
// they record.
package audit

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"

	"tuku/internal/errs"
	"tuku/internal/tuku"
)

// Version is the first byte of every encoded row. A new encoding gets a new
// version; rows keep the version they were written with.
const Version byte = 1

// Hash returns the hex SHA-256 of row e chained to prevHash. It covers every
// content field of e (not e.PrevHash or e.Hash themselves: prevHash is the
// argument, so a row is checked against its predecessor, not against what it
// claims). Each field is length-prefixed so no two different rows encode
// alike.
func Hash(prevHash string, e *tuku.AuditEvent) string {
	h := sha256.New()
	h.Write([]byte{Version})
	writeInt(h, e.Seq)
	writeInt(h, e.Time.UnixNano())
	for _, s := range []string{
		prevHash,
		e.ActorID, e.ActorEmail,
		e.Action,
		e.TargetType, e.TargetID,
		e.CustomerID,
		e.Outcome,
		e.IP, e.UserAgent, e.RequestID,
		e.Detail,
	} {
		writeString(h, s)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// writeInt writes v as 8 bytes, big-endian, two's complement.
func writeInt(h hash.Hash, v int64) {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(v))
	h.Write(b[:])
}

// writeString writes len(s) as 8 bytes big-endian, then s's bytes.
func writeString(h hash.Hash, s string) {
	writeInt(h, int64(len(s)))
	h.Write([]byte(s))
}

// Chain makes e the row after (headSeq, headHash), the last row of the log
// (0, "" when it is empty): it sets Seq, PrevHash and Hash. e.Time must
// already be final, and as the store keeps it: Hash covers it to the
// nanosecond, so a store that rounds times must get rounded times.
func Chain(headSeq int64, headHash string, e *tuku.AuditEvent) {
	e.Seq = headSeq + 1
	e.PrevHash = headHash
	e.Hash = Hash(headHash, e)
}

// Problem says what is wrong with a row.
type Problem string

// The ways a row can break the chain.
const (
	// SeqGap: the row's seq is not the previous row's seq + 1 (a row
	// deleted, inserted or moved, or the first row is not seq 1).
	SeqGap Problem = "seq_gap"
	// PrevMismatch: the row's prev_hash is not the previous row's hash (a
	// row deleted or inserted before it, or its prev_hash edited).
	PrevMismatch Problem = "prev_hash_mismatch"
	// HashMismatch: the row's hash does not match its content (the row
	// was edited).
	HashMismatch Problem = "hash_mismatch"
	// HeadRecord: the chain is intact but does not end where the store's
	// own head record (meta's audit_head) says it does: rows were cut
	// from the end, or added without going through Tuku.
	HeadRecord Problem = "head_record_mismatch"
	// HeadMissing: the expected head (an anchor recorded earlier) is not
	// in the chain at its seq (the log was rewritten or truncated).
	HeadMissing Problem = "expected_head_missing"
)

// Report is the result of Verify.
type Report struct {
	OK       bool   `json:"ok"`
	Rows     int64  `json:"rows"`      // rows read
	HeadSeq  int64  `json:"head_seq"`  // last row's seq (of the good prefix when not OK)
	HeadHash string `json:"head_hash"` // last row's hash (idem)
	// When not OK: the first bad row and what is wrong with it.
	BadSeq  int64   `json:"bad_seq,omitempty"`
	Problem Problem `json:"problem,omitempty"`
	Detail  string  `json:"detail,omitempty"`
	// ExpectHead is the anchor checked, if any; ExpectSeq its seq.
	ExpectHead string `json:"expect_head,omitempty"`
	ExpectSeq  int64  `json:"expect_seq,omitempty"`
}

// String is the one-line summary `tuku audit verify` prints.
func (r Report) String() string {
	if r.OK {
		s := fmt.Sprintf("audit chain OK: %d rows, head %d %s", r.Rows, r.HeadSeq, r.HeadHash)
		if r.ExpectHead != "" {
			s += fmt.Sprintf(" (contains expected head at seq %d)", r.ExpectSeq)
		}
		return s
	}
	return fmt.Sprintf("audit chain BROKEN at seq %d: %s: %s", r.BadSeq, r.Problem, r.Detail)
}

// Verifier checks rows one at a time, in the order the store returns them
// (by seq). The zero value expects the log from seq 1. Use Add for each row
// and Report at the end, or Verify.
type Verifier struct {
	// ExpectHead, if set, is a row hash recorded earlier (an anchor kept
	// outside the database); Report fails unless some row has this hash
	// and the chain is intact up to it.
	ExpectHead string

	r       Report
	stopped bool
	found   bool
}

// Add checks the next row. It returns false once a bad row was found (the
// rest need not be read).
func (v *Verifier) Add(e *tuku.AuditEvent) bool {
	if v.stopped {
		return false
	}
	v.r.Rows++
	bad := func(p Problem, format string, args ...any) bool {
		v.r.BadSeq, v.r.Problem, v.r.Detail = e.Seq, p, fmt.Sprintf(format, args...)
		v.stopped = true
		return false
	}
	if want := v.r.HeadSeq + 1; e.Seq != want {
		if e.Seq > want {
			// Name the missing row, not the one after it: that is
			// where the chain was cut.
			v.r.BadSeq, v.r.Problem, v.stopped = want, SeqGap, true
			v.r.Detail = fmt.Sprintf("row %d is missing: seq %d follows seq %d", want, e.Seq, v.r.HeadSeq)
			return false
		}
		return bad(SeqGap, "seq %d follows seq %d: out of order or repeated", e.Seq, v.r.HeadSeq)
	}
	if e.PrevHash != v.r.HeadHash {
		return bad(PrevMismatch, "prev_hash %s is not the hash %s of seq %d", short(e.PrevHash), short(v.r.HeadHash), v.r.HeadSeq)
	}
	if got := Hash(e.PrevHash, e); got != e.Hash {
		return bad(HashMismatch, "stored hash %s, content hashes to %s: the row was changed", short(e.Hash), short(got))
	}
	v.r.HeadSeq, v.r.HeadHash = e.Seq, e.Hash
	if v.ExpectHead != "" && e.Hash == v.ExpectHead {
		v.found = true
		v.r.ExpectSeq = e.Seq
	}
	return true
}

// Report returns the result so far; call it after the last Add.
func (v *Verifier) Report() Report {
	r := v.r
	r.ExpectHead = v.ExpectHead
	r.OK = !v.stopped
	if r.OK && v.ExpectHead != "" && !v.found {
		r.OK = false
		r.BadSeq = r.HeadSeq + 1
		r.Problem = HeadMissing
		r.Detail = fmt.Sprintf("no row of the intact chain (seq 1..%d) has the expected head hash %s", r.HeadSeq, short(v.ExpectHead))
	}
	return r
}

// CheckHead compares an intact chain's end with the head the store
// recorded on its last append (seq, hash). Deleting the newest rows leaves
// a valid shorter chain; only this record, or an anchor kept elsewhere,
// shows it. A report that is already broken is returned as is.
func (r Report) CheckHead(seq int64, hash string) Report {
	if !r.OK || (seq == r.HeadSeq && hash == r.HeadHash) {
		return r
	}
	r.OK, r.Problem = false, HeadRecord
	switch {
	case seq > r.HeadSeq:
		r.BadSeq = r.HeadSeq + 1
		r.Detail = fmt.Sprintf("row %d is missing: the chain ends at seq %d but the log's head record is seq %d %s", r.HeadSeq+1, r.HeadSeq, seq, short(hash))
	case seq < r.HeadSeq:
		r.BadSeq = seq + 1
		r.Detail = fmt.Sprintf("row %d was not appended by Tuku: the log's head record is seq %d", seq+1, seq)
	default:
		r.BadSeq = seq
		r.Detail = fmt.Sprintf("row %d has hash %s but the log's head record says %s", seq, short(r.HeadHash), short(hash))
	}
	return r
}

// stop ends a walk early once a bad row was found.
type stop struct{}

func (stop) Error() string { return "audit: stop" }

// Verify reads the whole log through walk (which calls fn for each row in
// seq order, stopping at fn's first error and returning it, as
// meta.Tx.WalkAudit does) and reports the first bad row. expectHead is an
// optional anchor (see Verifier.ExpectHead). The error is only for a failed
// read; a broken chain is a Report with OK false.
func Verify(expectHead string, walk func(fn func(*tuku.AuditEvent) error) error) (Report, error) {
	v := &Verifier{ExpectHead: expectHead}
	err := walk(func(e *tuku.AuditEvent) error {
		if !v.Add(e) {
			return stop{}
		}
		return nil
	})
	if err != nil && !errors.As(err, new(stop)) {
		return Report{}, errs.E(errs.KindOf(err), "audit.verify", "cannot read the audit log", err)
	}
	return v.Report(), nil
}

// short abbreviates a hex hash for messages.
func short(h string) string {
	if h == "" {
		return `""`
	}
	if len(h) > 16 {
		return h[:16] + "…"
	}
	return h
}
