package service

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"tuku/internal/audit"
	"tuku/internal/authz"
	"tuku/internal/errs"
	"tuku/internal/meta"
	"tuku/internal/tuku"
)

// Audit outcomes (AuditEvent.Outcome).
const (
	OutcomeOK     = "ok"
	OutcomeDenied = "denied" // not allowed (permission, unauthenticated)
	OutcomeFailed = "failed" // allowed but it did not work (bad input, bad password, …)
)

// Caps on audit text fields, in bytes, so that a hostile request cannot
// grow the log without bound.
const (
	auditFieldMax  = 256
	auditDetailMax = 2048
)

// audit appends ev to the audit log inside tx, the transaction of the
// change it records, so the row exists if and only if the change commits.
// It fills Time (now, UTC, whole microseconds so every database keeps it
// exactly), the actor from p unless ev already names one (a failed sign-in
// names the email that was tried; p nil and no actor = unknown), IP, user
// agent and request id from p, an empty Outcome as "ok"; caps every text
// field; then chains the row to the head of the log (AuditHead also locks
// the log until tx ends, so concurrent appends serialise) and inserts it.
func (s *Service) audit(ctx context.Context, tx meta.Tx, p *authz.Principal, ev tuku.AuditEvent) error {
	ev.Time = s.now().UTC().Truncate(time.Microsecond)
	if p != nil {
		if ev.ActorID == "" && ev.ActorEmail == "" {
			ev.ActorID, ev.ActorEmail = p.UserID, p.Email
		}
		if ev.IP == "" {
			ev.IP = p.IP
		}
		if ev.UserAgent == "" {
			ev.UserAgent = p.UserAgent
		}
		if ev.RequestID == "" {
			ev.RequestID = p.RequestID
		}
	}
	if ev.Outcome == "" {
		ev.Outcome = OutcomeOK
	}
	for _, f := range []*string{&ev.ActorID, &ev.ActorEmail, &ev.Action, &ev.TargetType, &ev.TargetID,
		&ev.CustomerID, &ev.Outcome, &ev.IP, &ev.UserAgent, &ev.RequestID} {
		*f = cleanText(*f, auditFieldMax)
	}
	ev.Detail = auditText(ev.Detail, auditDetailMax)
	if ev.Action == "" {
		return errs.E(errs.Internal, "audit", "an audit event needs an action", nil)
	}
	seq, head, err := tx.AuditHead(ctx)
	if err != nil {
		return err
	}
	audit.Chain(seq, head, &ev)
	return tx.InsertAudit(ctx, &ev)
}

// auditText keeps a free-text detail storable and bounded: valid UTF-8,
// no NUL (PostgreSQL text cannot hold it), at most max bytes.
func auditText(s string, max int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.ReplaceAll(s, "\x00", "")
	return truncateUTF8(s, max)
}

// auditDetail encodes key/value pairs as a small JSON object for
// AuditEvent.Detail, keys sorted, each value capped so the object stays
// well under the detail cap (and so stays valid JSON).
func auditDetail(kv map[string]string) string {
	if len(kv) == 0 {
		return ""
	}
	keys := make([]string, 0, len(kv))
	for k := range kv {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	m := make(map[string]string, len(kv))
	budget := auditDetailMax/len(kv) - 16
	for _, k := range keys {
		m[k] = truncateUTF8(strings.ToValidUTF8(kv[k], "\uFFFD"), max(16, min(budget, 256)))
	}
	b, _ := json.Marshal(m) // a map of strings always encodes
	return string(b)
}

// ---- reading the log: verify, list, export (admins only) ----

// checkAuditReader lets admins (including the operator's CLI) read the
// log; members never, not even managers: it names other customers' staff
// and files. A token restricted to one customer reads no log either.
func checkAuditReader(p *authz.Principal, op string) error {
	if err := authz.Check(p, authz.ViewSystem, authz.Resource{}); err != nil {
		return err
	}
	if p.Role != tuku.RoleAdmin || p.OnlyCustomerID != "" {
		return errs.E(errs.Permission, op, "only administrators may read the audit log", nil)
	}
	return nil
}

// VerifyAudit walks the whole audit log in seq order and reports the first
// row that breaks the chain. expectHead, when not "", is a head hash the
// operator recorded earlier; the report fails unless it is still in the
// intact chain. A broken chain is a Report with OK false, not an error.
func (s *Service) VerifyAudit(ctx context.Context, p *authz.Principal, expectHead string) (audit.Report, error) {
	const op = "audit.verify"
	if err := checkAuditReader(p, op); err != nil {
		return audit.Report{}, err
	}
	expectHead = strings.ToLower(strings.TrimSpace(expectHead))
	var rep audit.Report
	err := s.meta.View(ctx, func(tx meta.Tx) error {
		var err error
		// The head record first: the walk holds the connection until it
		// ends. Both read the same snapshot.
		seq, hash, err := tx.AuditHead(ctx)
		if err != nil {
			return err
		}
		rep, err = audit.Verify(expectHead, func(fn func(*tuku.AuditEvent) error) error {
			return tx.WalkAudit(ctx, 1, fn)
		})
		if err != nil {
			return err
		}
		rep = rep.CheckHead(seq, hash)
		return nil
	})
	return rep, err
}

// AuditQuery are the filters of an audit listing, as the API and CLI take
// them. Times are RFC 3339 or YYYY-MM-DD (To is inclusive of its day).
type AuditQuery struct {
	Actor    string // user ID, or an email (resolved to its user)
	Action   string // exact, or a prefix ending in "." ("asset.")
	Target   string // target ID
	Customer string // customer ID or code
	Outcome  string
	From, To string
	Cursor   string
	Limit    int
}

// AuditPage is one page of the log, newest first.
type AuditPage struct {
	Events     []tuku.AuditEvent `json:"events"`
	NextCursor string            `json:"next_cursor"`
}

// ListAudit returns one page of the audit log, newest first.
func (s *Service) ListAudit(ctx context.Context, p *authz.Principal, q AuditQuery) (*AuditPage, error) {
	const op = "audit.list"
	if err := checkAuditReader(p, op); err != nil {
		return nil, err
	}
	if q.Limit < 0 || q.Limit > 1000 {
		return nil, errs.E(errs.Invalid, op, "limit must be between 1 and 1000", nil)
	}
	var page AuditPage
	err := s.meta.View(ctx, func(tx meta.Tx) error {
		f, err := auditFilter(ctx, tx, q)
		if err != nil {
			return err
		}
		page.Events, page.NextCursor, err = tx.ListAudit(ctx, f)
		if errs.KindOf(err) == errs.Invalid {
			return errs.E(errs.Invalid, op, "invalid cursor", err)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if page.Events == nil {
		page.Events = []tuku.AuditEvent{}
	}
	return &page, nil
}

// auditFilter turns the query's references into a meta filter. Unknown
// actors and customers (an email or code that names nobody) match no row
// rather than being an error: the log outlives what it names.
func auditFilter(ctx context.Context, tx meta.Tx, q AuditQuery) (meta.AuditFilter, error) {
	const op = "audit.list"
	f := meta.AuditFilter{
		ActorID: strings.TrimSpace(q.Actor), Action: strings.TrimSpace(q.Action),
		TargetID: strings.TrimSpace(q.Target), CustomerID: strings.TrimSpace(q.Customer),
		Outcome: strings.TrimSpace(q.Outcome), Cursor: q.Cursor, Limit: q.Limit,
	}
	if strings.Contains(f.ActorID, "@") {
		u, err := tx.GetUserByEmail(ctx, strings.ToLower(f.ActorID))
		if err == nil {
			f.ActorID = u.ID
		} else if errs.KindOf(err) != errs.NotFound {
			return f, err
		}
	}
	if f.CustomerID != "" && !tuku.ValidID(f.CustomerID) {
		if c, err := tx.GetCustomerByCode(ctx, f.CustomerID); err == nil {
			f.CustomerID = c.ID
		} else if errs.KindOf(err) != errs.NotFound {
			return f, err
		}
	}
	var err error
	if f.From, err = auditTime(q.From, false); err != nil {
		return f, errs.E(errs.Invalid, op, errs.Message(err), nil)
	}
	if f.To, err = auditTime(q.To, true); err != nil {
		return f, errs.E(errs.Invalid, op, errs.Message(err), nil)
	}
	return f, nil
}

// auditTime reads a bound: RFC 3339 (to the nanosecond) or a day.
func auditTime(s string, end bool) (time.Time, error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	return parseDay(s, end)
}

// auditCSVHeader are the export's columns, in order.
var auditCSVHeader = []string{"seq", "time", "actor_id", "actor_email", "action", "target_type", "target_id",
	"customer_id", "outcome", "ip", "user_agent", "request_id", "detail", "prev_hash", "hash"}

// ExportAuditCSV writes every row matching q (q.Cursor and q.Limit
// ignored), newest first, as CSV to w, page by page so memory stays
// bounded. Cells a spreadsheet would run as a formula are neutralised.
// The export itself is audited (action "audit.export").
func (s *Service) ExportAuditCSV(ctx context.Context, p *authz.Principal, q AuditQuery, w io.Writer) error {
	const op = "audit.export"
	if err := checkAuditReader(p, op); err != nil {
		return err
	}
	// Record the export before it runs: a failed write to w should not
	// hide that someone took the log.
	err := s.meta.Tx(ctx, func(tx meta.Tx) error {
		return s.audit(ctx, tx, p, tuku.AuditEvent{Action: "audit.export", TargetType: "audit",
			Detail: auditDetail(map[string]string{"actor": q.Actor, "action": q.Action, "target": q.Target,
				"customer": q.Customer, "outcome": q.Outcome, "from": q.From, "to": q.To})})
	})
	if err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	if err := cw.Write(auditCSVHeader); err != nil {
		return errs.E(errs.Unavailable, op, "cannot write the export", err)
	}
	q.Cursor, q.Limit = "", 1000
	for {
		var events []tuku.AuditEvent
		var next string
		err := s.meta.View(ctx, func(tx meta.Tx) error {
			f, err := auditFilter(ctx, tx, q)
			if err != nil {
				return err
			}
			events, next, err = tx.ListAudit(ctx, f)
			return err
		})
		if err != nil {
			return err
		}
		for i := range events {
			if err := cw.Write(auditCSVRecord(&events[i])); err != nil {
				return errs.E(errs.Unavailable, op, "cannot write the export", err)
			}
		}
		cw.Flush()
		if err := cw.Error(); err != nil {
			return errs.E(errs.Unavailable, op, "cannot write the export", err)
		}
		if next == "" {
			return nil
		}
		q.Cursor = next
	}
}

func auditCSVRecord(e *tuku.AuditEvent) []string {
	rec := []string{strconv.FormatInt(e.Seq, 10), e.Time.UTC().Format(time.RFC3339Nano), e.ActorID, e.ActorEmail,
		e.Action, e.TargetType, e.TargetID, e.CustomerID, e.Outcome, e.IP, e.UserAgent, e.RequestID,
		e.Detail, e.PrevHash, e.Hash}
	for i := range rec {
		rec[i] = CSVSafe(rec[i])
	}
	return rec
}

// CSVSafe neutralises a cell that a spreadsheet would evaluate (OWASP's
// CSV injection advice): one starting with = + - @ tab or carriage return
// gets a leading single quote, so it shows as text. Quoting of commas,
// quotes and newlines is encoding/csv's job.
func CSVSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
