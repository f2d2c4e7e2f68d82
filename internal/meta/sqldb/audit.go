package sqldb

import (
	"context"
	"encoding/base64"
	"strconv"
	"strings"
	"unicode/utf8"

	"tuku/internal/errs"
	"tuku/internal/meta"
	"tuku/internal/tuku"
)

// The audit log is append-only: audit_events has no UPDATE or DELETE in
// this package, and triggers in both schemas (0002_security.sql) refuse
// them from anyone else. audit_head is a single row (id = 1) holding the
// last row's seq and hash; AuditHead locks it and InsertAudit moves it
// only from (seq-1, prev_hash) to (seq, hash), so no caller can fork or
// rewind the chain.

const (
	auditDefaultLimit = 100
	auditMaxLimit     = 1000
)

const auditCols = `seq, time, actor_id, actor_email, action, target_type, target_id, customer_id, outcome,
	ip, user_agent, request_id, detail, prev_hash, hash`

func scanAudit(sc interface{ Scan(...any) error }, e *tuku.AuditEvent) error {
	var tm int64
	if err := sc.Scan(&e.Seq, &tm, &e.ActorID, &e.ActorEmail, &e.Action, &e.TargetType, &e.TargetID, &e.CustomerID, &e.Outcome,
		&e.IP, &e.UserAgent, &e.RequestID, &e.Detail, &e.PrevHash, &e.Hash); err != nil {
		return err
	}
	e.Time = fromNS(tm)
	return nil
}

// AuditHead implements meta.Tx. In a Tx on PostgreSQL it takes the head
// row's lock (Dialect.LockHead), held until commit or rollback; in a View
// it only reads, since a read-only transaction may not lock rows.
func (t *Tx) AuditHead(ctx context.Context) (int64, string, error) {
	q := `SELECT seq, hash FROM audit_head WHERE id = 1`
	if !t.ro && t.s.d.LockHead != "" {
		q += " " + t.s.d.LockHead
	}
	var seq int64
	var hash string
	err := t.queryRow(ctx, q).Scan(&seq, &hash)
	if err != nil {
		return 0, "", t.s.mapErr("meta.audit_head", err, "", "")
	}
	return seq, hash, nil
}

// InsertAudit implements meta.Tx. e.Seq must be the head's seq + 1 and
// e.PrevHash the head's hash, else errs.Conflict; an empty Hash or Action
// is errs.Invalid. The row is stored exactly as given (a zero Time is
// stored as 0): the caller's hash covers it.
func (t *Tx) InsertAudit(ctx context.Context, e *tuku.AuditEvent) error {
	const op = "meta.insert_audit"
	if err := t.writable(op); err != nil {
		return err
	}
	if e.Seq < 1 || e.Hash == "" || e.Action == "" {
		return errs.E(errs.Invalid, op, "an audit row needs a sequence number, an action and a hash", nil)
	}
	// Moving the head first both checks the chain and, on PostgreSQL,
	// takes the head's row lock if AuditHead did not: a concurrent append
	// that read the same head then matches no row once this commits.
	res, err := t.exec(ctx, `UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1 AND seq = ? AND hash = ?`,
		e.Seq, e.Hash, e.Seq-1, e.PrevHash)
	if err != nil {
		return t.s.mapErr(op, err, "", "")
	}
	n, err := res.RowsAffected()
	if err != nil {
		return t.s.mapErr(op, err, "", "")
	}
	if n == 0 {
		return errs.E(errs.Conflict, op, "the audit row does not follow the head of the log", nil)
	}
	_, err = t.exec(ctx, `INSERT INTO audit_events (`+auditCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		e.Seq, toNS(e.Time), e.ActorID, e.ActorEmail, e.Action, e.TargetType, e.TargetID, e.CustomerID, e.Outcome,
		e.IP, e.UserAgent, e.RequestID, e.Detail, e.PrevHash, e.Hash)
	return t.s.mapErr(op, err, "", "an audit row with this sequence number already exists")
}

// encodeAuditCursor and decodeAuditCursor make ListAudit's opaque cursor:
// the seq of the last row of the page.
func encodeAuditCursor(seq int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte("a" + strconv.FormatInt(seq, 10)))
}

func decodeAuditCursor(c string) (int64, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err == nil {
		s, ok := strings.CutPrefix(string(b), "a")
		var seq int64
		if seq, err = strconv.ParseInt(s, 10, 64); ok && err == nil && seq > 0 && strconv.FormatInt(seq, 10) == s {
			return seq, nil
		}
	}
	return 0, errs.E(errs.Invalid, "meta.list_audit", "invalid page cursor", err)
}

// ListAudit implements meta.Tx: keyset pagination over seq DESC. An
// Action ending in "." matches every action with that prefix.
func (t *Tx) ListAudit(ctx context.Context, f meta.AuditFilter) ([]tuku.AuditEvent, string, error) {
	const op = "meta.list_audit"
	limit := f.Limit
	if limit <= 0 {
		limit = auditDefaultLimit
	}
	limit = min(limit, auditMaxLimit)
	var conds []string
	var args []any
	add := func(c string, a ...any) {
		conds = append(conds, c)
		args = append(args, a...)
	}
	if f.ActorID != "" {
		add(`actor_id = ?`, f.ActorID)
	}
	if f.Action != "" {
		if strings.HasSuffix(f.Action, ".") {
			// substr rather than LIKE: no wildcards to escape, and case
			// sensitive in both engines.
			add(`substr(action, 1, ?) = ?`, utf8.RuneCountInString(f.Action), f.Action)
		} else {
			add(`action = ?`, f.Action)
		}
	}
	if f.TargetID != "" {
		add(`target_id = ?`, f.TargetID)
	}
	if f.CustomerID != "" {
		add(`customer_id = ?`, f.CustomerID)
	}
	if f.Outcome != "" {
		add(`outcome = ?`, f.Outcome)
	}
	if !f.From.IsZero() {
		add(`time >= ?`, toNS(f.From))
	}
	if !f.To.IsZero() {
		add(`time < ?`, toNS(f.To))
	}
	if f.Cursor != "" {
		last, err := decodeAuditCursor(f.Cursor)
		if err != nil {
			return nil, "", err
		}
		add(`seq < ?`, last)
	}
	q := `SELECT ` + auditCols + ` FROM audit_events`
	if len(conds) > 0 {
		q += ` WHERE ` + strings.Join(conds, ` AND `)
	}
	// One row more than asked tells whether there is a next page.
	args = append(args, limit+1)
	rows, err := t.query(ctx, q+` ORDER BY seq DESC LIMIT ?`, args...)
	if err != nil {
		return nil, "", t.s.mapErr(op, err, "", "")
	}
	defer rows.Close()
	out := make([]tuku.AuditEvent, 0, min(limit, 64))
	for rows.Next() {
		var e tuku.AuditEvent
		if err := scanAudit(rows, &e); err != nil {
			return nil, "", t.s.mapErr(op, err, "", "")
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, "", t.s.mapErr(op, err, "", "")
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		next = encodeAuditCursor(out[limit-1].Seq)
	}
	return out, next, nil
}

// WalkAudit implements meta.Tx. It streams the rows (memory stays flat
// however long the log is) and calls fn while the result set is open, so
// fn must not use the transaction: on PostgreSQL and on SQLite's single
// writer connection the connection is busy until the walk ends. fn's error
// is returned as is.
func (t *Tx) WalkAudit(ctx context.Context, from int64, fn func(e *tuku.AuditEvent) error) error {
	const op = "meta.walk_audit"
	rows, err := t.query(ctx, `SELECT `+auditCols+` FROM audit_events WHERE seq >= ? ORDER BY seq`, from)
	if err != nil {
		return t.s.mapErr(op, err, "", "")
	}
	defer rows.Close()
	var e tuku.AuditEvent
	for rows.Next() {
		e = tuku.AuditEvent{}
		if err := scanAudit(rows, &e); err != nil {
			return t.s.mapErr(op, err, "", "")
		}
		if err := fn(&e); err != nil {
			return err
		}
	}
	return t.s.mapErr(op, rows.Err(), "", "")
}
