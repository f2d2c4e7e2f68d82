package sqldb

import (
	"context"
	"encoding/json"
	"time"

	"tuku/internal/errs"
	"tuku/internal/tuku"
)

// ---- user and token changes ----

// UpdateUser implements meta.Tx. The email, ID and CreatedAt are not
// changed (the email is the sign-in name; changing it is another use case).
func (t *Tx) UpdateUser(ctx context.Context, u *tuku.User) error {
	const op = "meta.update_user"
	if err := t.writable(op); err != nil {
		return err
	}
	res, err := t.exec(ctx, `UPDATE users SET display_name = ?, role = ?, password_hash = ?, disabled = ?, locale = ?,
		password_changed_at = ?, must_change_password = ? WHERE id = ?`,
		u.DisplayName, string(u.Role), u.PasswordHash, u.Disabled, u.Locale, toNS(u.PasswordChangedAt), u.MustChangePassword, u.ID)
	if err != nil {
		return t.s.mapErr(op, err, "", "")
	}
	return t.mustAffect(op, res, "user not found")
}

// ListTokens implements meta.Tx: a user's tokens, revoked ones included,
// oldest first.
func (t *Tx) ListTokens(ctx context.Context, userID string) ([]tuku.Token, error) {
	const op = "meta.list_tokens"
	rows, err := t.query(ctx, `SELECT `+tokenCols+` FROM tokens WHERE user_id = ? ORDER BY created_at, id`, userID)
	if err != nil {
		return nil, t.s.mapErr(op, err, "", "")
	}
	defer rows.Close()
	out := []tuku.Token{}
	for rows.Next() {
		k, err := scanToken(rows)
		if err != nil {
			return nil, t.s.mapErr(op, err, "", "")
		}
		out = append(out, *k)
	}
	return out, t.s.mapErr(op, rows.Err(), "", "")
}

// GetToken implements meta.Tx.
func (t *Tx) GetToken(ctx context.Context, id string) (*tuku.Token, error) {
	k, err := scanToken(t.queryRow(ctx, `SELECT `+tokenCols+` FROM tokens WHERE id = ?`, id))
	if err != nil {
		return nil, t.s.mapErr("meta.get_token", err, "token not found", "")
	}
	return k, nil
}

// RevokeToken implements meta.Tx. COALESCE keeps the first revocation
// time, so the audit trail and the token agree on when it died.
func (t *Tx) RevokeToken(ctx context.Context, id string, at time.Time) error {
	const op = "meta.revoke_token"
	if err := t.writable(op); err != nil {
		return err
	}
	if at.IsZero() {
		at = nowUTC()
	}
	res, err := t.exec(ctx, `UPDATE tokens SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?`, toNS(at), id)
	if err != nil {
		return t.s.mapErr(op, err, "", "")
	}
	return t.mustAffect(op, res, "token not found")
}

// ---- sessions ----

const sessionCols = `hash, user_id, created_at, last_seen, mfa_pending, ip, user_agent`

// CreateSession implements meta.Tx. Zero CreatedAt and LastSeen are set
// to now; an unknown user is errs.Invalid, an existing hash errs.Conflict.
func (t *Tx) CreateSession(ctx context.Context, s *tuku.Session) error {
	const op = "meta.create_session"
	if err := t.writable(op); err != nil {
		return err
	}
	if s.Hash == "" {
		return errs.E(errs.Invalid, op, "a session needs a hash", nil)
	}
	if s.CreatedAt.IsZero() {
		s.CreatedAt = nowUTC()
	}
	if s.LastSeen.IsZero() {
		s.LastSeen = s.CreatedAt
	}
	_, err := t.exec(ctx, `INSERT INTO sessions (`+sessionCols+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		s.Hash, s.UserID, toNS(s.CreatedAt), toNS(s.LastSeen), s.MFAPending, s.IP, s.UserAgent)
	return t.s.mapErr(op, err, "", "this session already exists")
}

// GetSession implements meta.Tx.
func (t *Tx) GetSession(ctx context.Context, hash string) (*tuku.Session, error) {
	var s tuku.Session
	var created, seen int64
	err := t.queryRow(ctx, getSessionQuery, hash).
		Scan(&s.Hash, &s.UserID, &created, &seen, &s.MFAPending, &s.IP, &s.UserAgent)
	if err != nil {
		return nil, t.s.mapErr("meta.get_session", err, "session not found", "")
	}
	s.CreatedAt, s.LastSeen = fromNS(created), fromNS(seen)
	return &s, nil
}

// getSessionQuery runs on every request of a signed-in browser: it is
// prepared at Open (see hotQueries).
const getSessionQuery = `SELECT ` + sessionCols + ` FROM sessions WHERE hash = ?`

// TouchSession implements meta.Tx (NotFound when the session is gone).
func (t *Tx) TouchSession(ctx context.Context, s *tuku.Session) error {
	const op = "meta.touch_session"
	if err := t.writable(op); err != nil {
		return err
	}
	res, err := t.exec(ctx, `UPDATE sessions SET last_seen = ?, mfa_pending = ? WHERE hash = ?`,
		toNS(s.LastSeen), s.MFAPending, s.Hash)
	if err != nil {
		return t.s.mapErr(op, err, "", "")
	}
	return t.mustAffect(op, res, "session not found")
}

// DeleteSession implements meta.Tx. A session that does not exist (any
// more) is errs.NotFound; a logout may ignore that.
func (t *Tx) DeleteSession(ctx context.Context, hash string) error {
	const op = "meta.delete_session"
	if err := t.writable(op); err != nil {
		return err
	}
	res, err := t.exec(ctx, `DELETE FROM sessions WHERE hash = ?`, hash)
	if err != nil {
		return t.s.mapErr(op, err, "", "")
	}
	return t.mustAffect(op, res, "session not found")
}

// DeleteUserSessions implements meta.Tx.
func (t *Tx) DeleteUserSessions(ctx context.Context, userID string) (int, error) {
	return t.deleteCount(ctx, "meta.delete_user_sessions", `DELETE FROM sessions WHERE user_id = ?`, userID)
}

// DeleteSessionsBefore implements meta.Tx.
func (t *Tx) DeleteSessionsBefore(ctx context.Context, before time.Time) (int, error) {
	return t.deleteCount(ctx, "meta.delete_sessions_before", `DELETE FROM sessions WHERE last_seen < ?`, toNS(before))
}

func (t *Tx) deleteCount(ctx context.Context, op, q string, args ...any) (int, error) {
	if err := t.writable(op); err != nil {
		return 0, err
	}
	res, err := t.exec(ctx, q, args...)
	if err != nil {
		return 0, t.s.mapErr(op, err, "", "")
	}
	n, err := res.RowsAffected()
	return int(n), t.s.mapErr(op, err, "", "")
}

// ---- MFA ----

// GetMFA implements meta.Tx. RecoveryCodes is never nil.
func (t *Tx) GetMFA(ctx context.Context, userID string) (*tuku.MFA, error) {
	const op = "meta.get_mfa"
	var m tuku.MFA
	var codes string
	var created int64
	q := `SELECT user_id, secret, enabled, last_step, recovery_codes, created_at FROM mfa WHERE user_id = ?`
	if !t.ro && t.s.d.LockHead != "" {
		// In a write transaction the row stays locked until it ends, so two
		// concurrent uses of one TOTP or recovery code cannot both read the
		// old last step and both succeed (PostgreSQL runs Read Committed;
		// SQLite serialises writers anyway).
		q += " " + t.s.d.LockHead
	}
	err := t.queryRow(ctx, q, userID).
		Scan(&m.UserID, &m.Secret, &m.Enabled, &m.LastStep, &codes, &created)
	if err != nil {
		return nil, t.s.mapErr(op, err, "no second factor", "")
	}
	if err := json.Unmarshal([]byte(codes), &m.RecoveryCodes); err != nil {
		return nil, errs.E(errs.Internal, op, "", err)
	}
	if m.RecoveryCodes == nil {
		m.RecoveryCodes = []string{}
	}
	m.CreatedAt = fromNS(created)
	return &m, nil
}

// PutMFA implements meta.Tx: it inserts or replaces the user's row. A
// zero CreatedAt is set to now. The recovery code hashes are stored as a
// JSON array: they are always read and written together.
func (t *Tx) PutMFA(ctx context.Context, m *tuku.MFA) error {
	const op = "meta.put_mfa"
	if err := t.writable(op); err != nil {
		return err
	}
	if m.CreatedAt.IsZero() {
		m.CreatedAt = nowUTC()
	}
	codes := m.RecoveryCodes
	if codes == nil {
		codes = []string{}
	}
	b, err := json.Marshal(codes)
	if err != nil {
		return errs.E(errs.Internal, op, "", err)
	}
	_, err = t.exec(ctx, `INSERT INTO mfa (user_id, secret, enabled, last_step, recovery_codes, created_at)
		VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (user_id) DO UPDATE SET secret = excluded.secret, enabled = excluded.enabled,
			last_step = excluded.last_step, recovery_codes = excluded.recovery_codes, created_at = excluded.created_at`,
		m.UserID, m.Secret, m.Enabled, m.LastStep, string(b), toNS(m.CreatedAt))
	return t.s.mapErr(op, err, "", "")
}

// DeleteMFA implements meta.Tx (NotFound when the user has none).
func (t *Tx) DeleteMFA(ctx context.Context, userID string) error {
	const op = "meta.delete_mfa"
	if err := t.writable(op); err != nil {
		return err
	}
	res, err := t.exec(ctx, `DELETE FROM mfa WHERE user_id = ?`, userID)
	if err != nil {
		return t.s.mapErr(op, err, "", "")
	}
	return t.mustAffect(op, res, "no second factor")
}
