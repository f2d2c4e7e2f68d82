package service

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"image/png"
	"net/netip"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"tuku/internal/authz"
	"tuku/internal/errs"
	"tuku/internal/meta"
	"tuku/internal/tuku"
)

// Sign-in, browser sessions, the second factor and login throttling.
//
// A session is a random 32-byte secret in the browser's cookie; the
// database keeps only its SHA-256 (tuku.Session.Hash), so a copy of the
// database signs nobody in. Every sign-in makes a new session (a value the
// browser held before is never promoted), and so does every step up
// (completing MFA, changing the password). A session dies when it has been
// idle for Config.SessionIdle, when it is older than Config.SessionMax, on
// logout, and when its user is disabled, changes password or has MFA reset.

// Session and throttling defaults.
const (
	DefaultSessionIdle = 30 * time.Minute
	DefaultSessionMax  = 12 * time.Hour

	// sessionTouchEvery: last_seen is written at most this often, so a
	// page of thumbnails costs reads only. The idle timeout is therefore
	// precise to this much.
	sessionTouchEvery = time.Minute

	// Throttling: an account may fail freeAccountFailures times (an IP
	// address, which many people may share behind NAT, freeIPFailures
	// times) before each further attempt must wait throttleBase, doubling
	// per failure up to throttleMax. Counts are forgotten after
	// throttleWindow without failures (counted from when the last delay
	// ended), so nobody is locked out for good.
	freeAccountFailures = 5
	freeIPFailures      = 20
	throttleBase        = time.Second
	throttleMax         = 15 * time.Minute
	throttleWindow      = 15 * time.Minute
	// maxThrottleEntries bounds the throttle's memory (about 100 bytes an
	// entry).
	maxThrottleEntries = 100_000

	// sessionSecretLen is the cookie secret's length in bytes (43
	// characters of base64url).
	sessionSecretLen = 32
	recoveryCodes    = 10
	totpPeriod       = 30 // seconds
	// totpSkew is how many 30-second steps either side of now a code may
	// come from (clock drift, slow typing).
	totpSkew = 1
)

// RequireMFAAll in Config.RequireMFA makes a second factor mandatory for
// everyone.
const RequireMFAAll = "all"

// Client is where a request comes from: recorded on sessions and in the
// audit log, and the key of per-address throttling.
type Client struct {
	IP        string // the peer address, never a forwarded header
	UserAgent string
	RequestID string
}

// from returns an anonymous principal carrying the client's details, for
// audit rows of callers not (yet) known.
func (c Client) from() *authz.Principal {
	return &authz.Principal{IP: c.IP, UserAgent: c.UserAgent, RequestID: c.RequestID, Via: "session"}
}

// withClient copies the client's details into p.
func (c Client) into(p *authz.Principal) *authz.Principal {
	p.IP, p.UserAgent, p.RequestID = c.IP, c.UserAgent, c.RequestID
	return p
}

// authState is the service's sign-in machinery.
type authState struct {
	idle, max    time.Duration
	requireAll   bool
	requireRoles map[tuku.Role]bool
	throttle     *throttle
	// kdf bounds concurrent argon2 runs: each takes 64 MiB, so a burst of
	// sign-ins must queue rather than exhaust memory.
	kdf chan struct{}
	// dummyHash is checked against when an email is unknown, so that an
	// unknown email costs the same argon2 time as a wrong password.
	// Computed on first use: it costs one argon2 run.
	dummyHash func() string
}

func newAuthState(cfg *Config) (*authState, error) {
	if cfg.SessionIdle == 0 {
		cfg.SessionIdle = DefaultSessionIdle
	}
	if cfg.SessionMax == 0 {
		cfg.SessionMax = DefaultSessionMax
	}
	if cfg.SessionIdle < 0 || cfg.SessionMax < 0 {
		return nil, errs.E(errs.Invalid, "service.new", "session timeouts must be positive", nil)
	}
	a := &authState{
		idle: cfg.SessionIdle, max: cfg.SessionMax,
		requireRoles: map[tuku.Role]bool{},
		throttle:     newThrottle(maxThrottleEntries),
		kdf:          make(chan struct{}, max(1, runtime.GOMAXPROCS(0))),
		dummyHash: sync.OnceValue(func() string {
			h, err := HashPassword(RandomSecret(16))
			if err != nil {
				panic("crypto/rand failed: " + err.Error())
			}
			return h
		}),
	}
	for _, r := range cfg.RequireMFA {
		switch {
		case r == RequireMFAAll:
			a.requireAll = true
		case tuku.Role(r).Valid():
			a.requireRoles[tuku.Role(r)] = true
		default:
			return nil, errs.Ef(errs.Invalid, "service.new", "RequireMFA: unknown role %q (all, admin, member)", r)
		}
	}
	return a, nil
}

func (a *authState) mfaRequired(r tuku.Role) bool { return a.requireAll || a.requireRoles[r] }

// ThrottledError is a sign-in (or MFA step) refused because of recent
// failures. Its kind is errs.RateLimit; Wait is when to try again.
type ThrottledError struct {
	Wait time.Duration
	err  error
}

func (e *ThrottledError) Error() string { return e.err.Error() }
func (e *ThrottledError) Unwrap() error { return e.err }

func throttled(op string, wait time.Duration) error {
	return &ThrottledError{Wait: wait, err: errs.E(errs.RateLimit, op, "too many failed attempts, try again later", nil)}
}

// SessionState describes a live session.
type SessionState struct {
	User *tuku.User `json:"user"`
	// MFARequired: the password was right, the second factor is still to
	// come (VerifyMFA). Nothing else but Logout works yet.
	MFARequired bool `json:"mfa_required"`
	// MFAEnrolRequired: a second factor is mandatory for this user, who
	// has none: the session may only enrol (EnrolMFA, ConfirmMFA).
	MFAEnrolRequired bool `json:"mfa_enrol_required"`
	// Expires is when the session ends at the latest (absolute timeout).
	Expires time.Time `json:"expires"`
}

// newSessionSecret returns a cookie secret and the hash to store.
func newSessionSecret() (secret, hash string) {
	b := make([]byte, sessionSecretLen)
	if _, err := rand.Read(b); err != nil {
		panic("crypto/rand failed: " + err.Error()) // never on Linux
	}
	secret = base64.RawURLEncoding.EncodeToString(b)
	return secret, hashSecret(secret)
}

func hashSecret(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// validSessionSecret checks the shape before anything is looked up:
// exactly what newSessionSecret makes. The alphabet is checked by hand
// because the base64 decoder skips CR and LF.
func validSessionSecret(s string) bool {
	if len(s) != base64.RawURLEncoding.EncodedLen(sessionSecretLen) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	return err == nil && len(b) == sessionSecretLen
}

// Login checks an email and password and starts a session. It returns the
// session's secret (for the cookie; shown nowhere else) and its state:
// when the user has MFA, or must enrol, the session is pending until the
// second step. Unknown emails, wrong passwords and disabled accounts all
// fail with the same errs.Unauth error after the same argon2 work; after
// repeated failures of an account or an address, attempts are refused with
// a *ThrottledError (errs.RateLimit) until its Wait has passed.
func (s *Service) Login(ctx context.Context, email, password string, c Client) (string, *SessionState, error) {
	const op = "auth.login"
	bad := errs.E(errs.Unauth, op, "email or password is wrong", nil)
	email = tuku.NormEmail(email)
	if len(email) > 254 {
		email = email[:254]
	}
	now := s.now()
	keys := throttleKeys(email, c.IP)
	if wait := s.auth.throttle.begin(now, keys...); wait > 0 {
		s.auditFailure(ctx, c, nil, email, op, "throttled")
		return "", nil, throttled(op, wait)
	}

	var u *tuku.User
	err := s.meta.View(ctx, func(tx meta.Tx) error {
		var err error
		u, err = tx.GetUserByEmail(ctx, email)
		return err
	})
	if errors.Is(err, errs.NotFound) {
		u, err = nil, nil
	}
	if err != nil {
		return "", nil, err
	}
	hash := s.auth.dummyHash()
	if u != nil {
		hash = u.PasswordHash
	}
	pwOK, err := s.checkPassword(ctx, hash, password)
	if err != nil {
		return "", nil, err
	}
	if u == nil || !pwOK || u.Disabled {
		reason := "wrong password"
		switch {
		case u == nil:
			reason = "unknown email"
		case pwOK:
			reason = "disabled"
		}
		s.auditFailure(ctx, c, u, email, op, reason)
		return "", nil, bad
	}
	// The account's count starts over; the address's does not, or one
	// valid account would let an address guess at all the others.
	s.auth.throttle.succeeded(keys...)

	secret, sh := newSessionSecret()
	var st *SessionState
	err = s.meta.Tx(ctx, func(tx meta.Tx) error {
		var err error
		st, err = s.sessionState(ctx, tx, u, true)
		if err != nil {
			return err
		}
		st.Expires = now.Add(s.auth.max).UTC()
		// Housekeeping: sessions idle past the timeout are dead anyway.
		if _, err := tx.DeleteSessionsBefore(ctx, now.Add(-s.auth.idle)); err != nil {
			return err
		}
		sess := &tuku.Session{Hash: sh, UserID: u.ID, CreatedAt: now.UTC(), LastSeen: now.UTC(),
			MFAPending: st.MFARequired || st.MFAEnrolRequired, IP: c.IP, UserAgent: capUA(c.UserAgent)}
		if err := tx.CreateSession(ctx, sess); err != nil {
			return err
		}
		detail := ""
		if sess.MFAPending {
			detail = auditDetail(map[string]string{"mfa": "pending"})
		}
		return s.audit(ctx, tx, c.into(userPrincipal(u, "session")), tuku.AuditEvent{
			Action: op, TargetType: "user", TargetID: u.ID, Detail: detail})
	})
	if err != nil {
		return "", nil, err
	}
	return secret, st, nil
}

// sessionState works out whether a session of u still needs its second
// factor (pending = the session is at the password stage).
func (s *Service) sessionState(ctx context.Context, tx meta.Tx, u *tuku.User, pending bool) (*SessionState, error) {
	st := &SessionState{User: u}
	if !pending {
		return st, nil
	}
	m, err := tx.GetMFA(ctx, u.ID)
	switch {
	case err == nil && m.Enabled:
		st.MFARequired = true
	case err == nil || errors.Is(err, errs.NotFound):
		if st.MFAEnrolRequired, err = s.mfaRequired(ctx, tx, u.Role); err != nil {
			return nil, err
		}
	default:
		return nil, err
	}
	return st, nil
}

// userPrincipal is a principal for audit rows about u's own actions.
func userPrincipal(u *tuku.User, via string) *authz.Principal {
	return &authz.Principal{UserID: u.ID, Email: u.Email, Role: u.Role, Via: via}
}

// auditFailure records a failed step in a transaction of its own, since
// the step itself changes nothing. u is nil when the account is unknown.
// A failure to record is logged, not returned: the caller's answer must
// not depend on it.
func (s *Service) auditFailure(ctx context.Context, c Client, u *tuku.User, email, action, reason string) {
	p := c.from()
	ev := tuku.AuditEvent{Action: action, Outcome: OutcomeFailed, Detail: auditDetail(map[string]string{"reason": reason}),
		TargetType: "user", ActorEmail: email}
	if reason == "throttled" {
		ev.Outcome = OutcomeDenied
	}
	if u != nil {
		ev.ActorID, ev.ActorEmail, ev.TargetID = u.ID, u.Email, u.ID
	}
	err := s.meta.Tx(ctx, func(tx meta.Tx) error { return s.audit(ctx, tx, p, ev) })
	if err != nil {
		s.log.Error("audit", "action", action, "err", err)
	}
}

// liveSession is a session that passed every check.
type liveSession struct {
	sess *tuku.Session
	user *tuku.User
	p    *authz.Principal // nil while MFA is pending
}

// loadSession finds the session of a cookie secret and enforces the
// timeouts; a dead session is deleted. withPrincipal loads the grants of a
// complete session. Every failure is the same errs.Unauth.
func (s *Service) loadSession(ctx context.Context, secret string, c Client, withPrincipal bool) (*liveSession, error) {
	bad := errs.E(errs.Unauth, "auth.session", "not signed in or the session has expired", nil)
	if !validSessionSecret(secret) {
		return nil, bad
	}
	h := hashSecret(secret)
	now := s.now()
	var ls liveSession
	dead := false
	err := s.meta.View(ctx, func(tx meta.Tx) error {
		sess, err := tx.GetSession(ctx, h)
		if err != nil {
			return err
		}
		u, err := tx.GetUser(ctx, sess.UserID)
		if err != nil {
			return err
		}
		ls.sess, ls.user = sess, u
		if now.Sub(sess.LastSeen) > s.auth.idle || now.Sub(sess.CreatedAt) > s.auth.max ||
			u.Disabled || sess.CreatedAt.Before(u.PasswordChangedAt) {
			dead = true
			return nil
		}
		if withPrincipal && !sess.MFAPending {
			ls.p, err = s.principal(ctx, tx, u, "session")
			if err != nil {
				return err
			}
			c.into(ls.p)
		}
		return nil
	})
	if err != nil {
		if errs.KindOf(err) == errs.Unavailable {
			return nil, err
		}
		if errs.KindOf(err) != errs.NotFound {
			s.log.Error("session", "err", err)
		}
		return nil, bad
	}
	if dead {
		err := s.meta.Tx(ctx, func(tx meta.Tx) error { return tx.DeleteSession(ctx, h) })
		if err != nil && !errors.Is(err, errs.NotFound) {
			s.log.Error("session expiry", "err", err)
		}
		return nil, bad
	}
	if now.Sub(ls.sess.LastSeen) >= sessionTouchEvery {
		ls.sess.LastSeen = now.UTC()
		err := s.meta.Tx(ctx, func(tx meta.Tx) error { return tx.TouchSession(ctx, ls.sess) })
		if errors.Is(err, errs.NotFound) { // logged out meanwhile
			return nil, bad
		}
		if err != nil {
			return nil, err
		}
	}
	return &ls, nil
}

// AuthenticateSession turns a session cookie's secret into a principal.
// A session still waiting for its second factor authorises nothing here
// (errs.Unauth); see Session for those.
func (s *Service) AuthenticateSession(ctx context.Context, secret string, c Client) (*authz.Principal, error) {
	ls, err := s.loadSession(ctx, secret, c, true)
	if err != nil {
		return nil, err
	}
	if ls.p == nil {
		return nil, errs.E(errs.Unauth, "auth.session", "the second factor is required", nil)
	}
	return ls.p, nil
}

// Session describes the live session of a secret, including one that
// waits for its second factor.
func (s *Service) Session(ctx context.Context, secret string, c Client) (*SessionState, error) {
	ls, err := s.loadSession(ctx, secret, c, false)
	if err != nil {
		return nil, err
	}
	return s.stateOf(ctx, ls)
}

func (s *Service) stateOf(ctx context.Context, ls *liveSession) (*SessionState, error) {
	var st *SessionState
	err := s.meta.View(ctx, func(tx meta.Tx) error {
		var err error
		st, err = s.sessionState(ctx, tx, ls.user, ls.sess.MFAPending)
		return err
	})
	if err != nil {
		return nil, err
	}
	st.Expires = ls.sess.CreatedAt.Add(s.auth.max).UTC()
	return st, nil
}

// Logout ends the session of secret (pending or not).
func (s *Service) Logout(ctx context.Context, secret string, c Client) error {
	ls, err := s.loadSession(ctx, secret, c, false)
	if err != nil {
		return err
	}
	return s.meta.Tx(ctx, func(tx meta.Tx) error {
		if err := tx.DeleteSession(ctx, ls.sess.Hash); err != nil && !errors.Is(err, errs.NotFound) {
			return err
		}
		return s.audit(ctx, tx, c.into(userPrincipal(ls.user, "session")), tuku.AuditEvent{
			Action: "auth.logout", TargetType: "user", TargetID: ls.user.ID})
	})
}

// replaceSession ends old and starts a complete session of the same
// user, keeping the sign-in time (the absolute timeout runs from the
// password step). It returns the new secret.
func replaceSession(ctx context.Context, tx meta.Tx, old *tuku.Session, now time.Time, c Client) (string, error) {
	if err := tx.DeleteSession(ctx, old.Hash); err != nil {
		return "", err
	}
	secret, h := newSessionSecret()
	err := tx.CreateSession(ctx, &tuku.Session{Hash: h, UserID: old.UserID, CreatedAt: old.CreatedAt,
		LastSeen: now.UTC(), IP: c.IP, UserAgent: capUA(c.UserAgent)})
	return secret, err
}

func capUA(ua string) string { return cleanText(ua, 256) }

// ---- second factor ----

// MFAEnrolment is a new TOTP secret, shown to the user once so an
// authenticator app can take it.
type MFAEnrolment struct {
	Secret string `json:"secret"` // base32
	URL    string `json:"url"`    // otpauth://totp/…
	QRPNG  []byte `json:"qr_png"` // the URL as a QR code (base64 in JSON)
}

// EnrolMFA starts enrolment for the user of a session: a complete session,
// or one that may only enrol. Until ConfirmMFA, the second factor is not
// in force; enrolling again replaces the secret. A user who already has
// MFA gets errs.Conflict (an admin resets it).
func (s *Service) EnrolMFA(ctx context.Context, secret string, c Client) (*MFAEnrolment, error) {
	const op = "auth.mfa.enrol"
	ls, err := s.loadSession(ctx, secret, c, false)
	if err != nil {
		return nil, err
	}
	key, err := totp.Generate(totp.GenerateOpts{Issuer: "Tuku", AccountName: ls.user.Email, Period: totpPeriod,
		SecretSize: 20, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		return nil, errs.E(errs.Internal, op, "", err)
	}
	en := enrolmentOf(key)
	err = s.meta.Tx(ctx, func(tx meta.Tx) error {
		if err := s.mayEnrol(ctx, tx, ls, op); err != nil {
			return err
		}
		if err := tx.PutMFA(ctx, &tuku.MFA{UserID: ls.user.ID, Secret: key.Secret(), CreatedAt: s.now().UTC()}); err != nil {
			return err
		}
		return s.audit(ctx, tx, c.into(userPrincipal(ls.user, "session")), tuku.AuditEvent{
			Action: op, TargetType: "user", TargetID: ls.user.ID})
	})
	if err != nil {
		return nil, err
	}
	return en, nil
}

// enrolmentOf is what an authenticator app needs of key.
func enrolmentOf(key *otp.Key) *MFAEnrolment {
	en := &MFAEnrolment{Secret: key.Secret(), URL: key.URL()}
	if img, err := key.Image(256, 256); err == nil {
		var buf bytes.Buffer
		if png.Encode(&buf, img) == nil {
			en.QRPNG = buf.Bytes()
		}
	}
	return en
}

// PendingMFA returns the enrolment EnrolMFA started for the user of a
// session and that is not confirmed yet, without changing anything (a page
// can show it again): errs.NotFound when none is pending, errs.Conflict
// when the second factor is in force.
func (s *Service) PendingMFA(ctx context.Context, secret string, c Client) (*MFAEnrolment, error) {
	const op = "auth.mfa.pending"
	ls, err := s.loadSession(ctx, secret, c, false)
	if err != nil {
		return nil, err
	}
	var m *tuku.MFA
	err = s.meta.View(ctx, func(tx meta.Tx) error {
		if err := s.mayEnrol(ctx, tx, ls, op); err != nil {
			return err
		}
		m, err = tx.GetMFA(ctx, ls.user.ID)
		return err
	})
	if err != nil {
		return nil, err
	}
	v := url.Values{}
	v.Set("secret", m.Secret)
	v.Set("issuer", "Tuku")
	v.Set("period", strconv.Itoa(totpPeriod))
	v.Set("digits", "6")
	v.Set("algorithm", "SHA1")
	u := url.URL{Scheme: "otpauth", Host: "totp", Path: "/Tuku:" + ls.user.Email, RawQuery: v.Encode()}
	key, err := otp.NewKeyFromURL(u.String())
	if err != nil {
		return nil, errs.E(errs.Internal, op, "", err)
	}
	return enrolmentOf(key), nil
}

// mayEnrol allows enrolment from a complete session, or from a pending
// one whose user has no MFA in force.
func (s *Service) mayEnrol(ctx context.Context, tx meta.Tx, ls *liveSession, op string) error {
	m, err := tx.GetMFA(ctx, ls.user.ID)
	if err != nil && !errors.Is(err, errs.NotFound) {
		return err
	}
	if m != nil && m.Enabled {
		if ls.sess.MFAPending {
			return errs.E(errs.Unauth, op, "the second factor is required", nil)
		}
		return errs.E(errs.Conflict, op, "a second factor is already set up; an administrator can reset it", nil)
	}
	return nil
}

// ConfirmMFA puts an enrolment in force with its first code and returns
// the recovery codes (shown once, stored as hashes). A session that was
// waiting to enrol becomes complete under a new secret, returned as
// newSecret ("" when the session was complete already).
func (s *Service) ConfirmMFA(ctx context.Context, secret, code string, c Client) (codes []string, newSecret string, err error) {
	const op = "auth.mfa.confirm"
	ls, err := s.loadSession(ctx, secret, c, false)
	if err != nil {
		return nil, "", err
	}
	now := s.now()
	keys := []string{"mfa:" + ls.user.ID}
	if wait := s.auth.throttle.begin(now, keys...); wait > 0 {
		return nil, "", throttled(op, wait)
	}
	codes, hashes := newRecoveryCodes()
	wrong := false
	err = s.meta.Tx(ctx, func(tx meta.Tx) error {
		if err := s.mayEnrol(ctx, tx, ls, op); err != nil {
			return err
		}
		m, err := tx.GetMFA(ctx, ls.user.ID)
		if errors.Is(err, errs.NotFound) {
			return errs.E(errs.Invalid, op, "start the enrolment first", nil)
		}
		if err != nil {
			return err
		}
		step, ok := totpStep(m.Secret, code, now, m.LastStep)
		if !ok {
			wrong = true
			return nil
		}
		m.Enabled, m.LastStep, m.RecoveryCodes = true, step, hashes
		if err := tx.PutMFA(ctx, m); err != nil {
			return err
		}
		if ls.sess.MFAPending {
			if newSecret, err = replaceSession(ctx, tx, ls.sess, now, c); err != nil {
				return err
			}
		}
		return s.audit(ctx, tx, c.into(userPrincipal(ls.user, "session")), tuku.AuditEvent{
			Action: op, TargetType: "user", TargetID: ls.user.ID})
	})
	if err != nil {
		return nil, "", err
	}
	if wrong {
		s.auditFailure(ctx, c, ls.user, ls.user.Email, op, "wrong code")
		return nil, "", errs.E(errs.Invalid, op, "the code is wrong or was already used", nil)
	}
	s.auth.throttle.succeeded(keys...)
	return codes, newSecret, nil
}

// VerifyMFA completes a session waiting for its second factor, with a
// TOTP code (each code works once: a time step at or before the last one
// accepted is refused) or a recovery code (each works once). The session
// continues under a new secret, which it returns with the new state.
func (s *Service) VerifyMFA(ctx context.Context, secret, code string, c Client) (string, *SessionState, error) {
	const op = "auth.mfa.verify"
	ls, err := s.loadSession(ctx, secret, c, false)
	if err != nil {
		return "", nil, err
	}
	if !ls.sess.MFAPending {
		return "", nil, errs.E(errs.Conflict, op, "this session has completed its second factor already", nil)
	}
	now := s.now()
	keys := []string{"mfa:" + ls.user.ID}
	if wait := s.auth.throttle.begin(now, keys...); wait > 0 {
		s.auditFailure(ctx, c, ls.user, ls.user.Email, op, "throttled")
		return "", nil, throttled(op, wait)
	}
	var newSecret, how string
	err = s.meta.Tx(ctx, func(tx meta.Tx) error {
		m, err := tx.GetMFA(ctx, ls.user.ID)
		if errors.Is(err, errs.NotFound) || (err == nil && !m.Enabled) {
			return errs.E(errs.Unauth, op, "no second factor is set up; enrol first", nil)
		}
		if err != nil {
			return err
		}
		if step, ok := totpStep(m.Secret, code, now, m.LastStep); ok {
			m.LastStep, how = step, "totp"
		} else if i := findRecoveryCode(m.RecoveryCodes, code); i >= 0 {
			m.RecoveryCodes = append(m.RecoveryCodes[:i:i], m.RecoveryCodes[i+1:]...)
			how = "recovery code"
		} else {
			return nil
		}
		if err := tx.PutMFA(ctx, m); err != nil {
			return err
		}
		if newSecret, err = replaceSession(ctx, tx, ls.sess, now, c); err != nil {
			return err
		}
		return s.audit(ctx, tx, c.into(userPrincipal(ls.user, "session")), tuku.AuditEvent{
			Action: op, TargetType: "user", TargetID: ls.user.ID, Detail: auditDetail(map[string]string{"method": how})})
	})
	if err != nil {
		return "", nil, err
	}
	if how == "" {
		s.auditFailure(ctx, c, ls.user, ls.user.Email, op, "wrong code")
		return "", nil, errs.E(errs.Unauth, op, "the code is wrong or was already used", nil)
	}
	s.auth.throttle.succeeded(keys...)
	return newSecret, &SessionState{User: ls.user, Expires: ls.sess.CreatedAt.Add(s.auth.max).UTC()}, nil
}

// totpStep returns the time step of code if it is right for secret at
// now (± totpSkew steps) and later than last.
func totpStep(secret, code string, now time.Time, last int64) (int64, bool) {
	code = strings.TrimSpace(code)
	if len(code) != 6 || strings.Trim(code, "0123456789") != "" {
		return 0, false
	}
	cur := now.Unix() / totpPeriod
	for st := cur - totpSkew; st <= cur+totpSkew; st++ {
		if st <= last {
			continue
		}
		want, err := totp.GenerateCodeCustom(secret, time.Unix(st*totpPeriod, 0), totp.ValidateOpts{
			Period: totpPeriod, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
		if err == nil && subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			return st, true
		}
	}
	return 0, false
}

// newRecoveryCodes returns codes formatted for people (xxxx-xxxx-xxxx-xxxx,
// 80 bits each) and their hashes.
func newRecoveryCodes() (codes, hashes []string) {
	for range recoveryCodes {
		r := RandomSecret(10) // 16 base32 characters
		c := r[0:4] + "-" + r[4:8] + "-" + r[8:12] + "-" + r[12:16]
		codes = append(codes, c)
		hashes = append(hashes, hashSecret(normRecovery(c)))
	}
	return codes, hashes
}

func normRecovery(c string) string {
	return strings.Map(func(r rune) rune {
		if r == '-' || r == ' ' {
			return -1
		}
		if r >= 'A' && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}, c)
}

// findRecoveryCode returns the index of code's hash in hashes, or -1.
func findRecoveryCode(hashes []string, code string) int {
	n := normRecovery(code)
	if len(n) != 16 {
		return -1
	}
	h := hashSecret(n)
	found := -1
	for i, x := range hashes { // no early exit: the time does not say which
		if subtle.ConstantTimeCompare([]byte(x), []byte(h)) == 1 {
			found = i
		}
	}
	return found
}

// ---- throttling ----

// throttleKeys are the counters a sign-in attempt is held to: the account
// first (reset on success), then the address.
func throttleKeys(email, ip string) []string {
	keys := []string{"user:" + email}
	if ip != "" {
		keys = append(keys, "ip:"+ipKey(ip))
	}
	return keys
}

// ipKey groups IPv6 addresses by /64, the block one subscriber usually
// holds, so changing the low bits does not start a fresh count.
func ipKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	a = a.Unmap()
	if a.Is6() {
		if p, err := a.Prefix(64); err == nil {
			return p.String()
		}
	}
	return a.String()
}

// throttle counts recent failures per key in memory. It is per process:
// several tuku serve processes each keep their own counts, which multiplies
// what an attacker gets by the number of processes, no more. Safe for
// concurrent use.
type throttle struct {
	mu    sync.Mutex
	limit int
	m     map[string]*strikes
}

type strikes struct {
	n    int       // failures since the count last started
	last time.Time // the last failure
	free int       // failures allowed before delays start
}

func newThrottle(limit int) *throttle {
	return &throttle{limit: limit, m: map[string]*strikes{}}
}

// delay is how long after its last failure a key must wait.
func (s *strikes) delay() time.Duration {
	over := s.n - s.free
	if over < 0 {
		return 0
	}
	if over >= 20 {
		return throttleMax
	}
	return min(throttleBase<<over, throttleMax)
}

// expired: quiet for throttleWindow after the delay ended.
func (s *strikes) expired(now time.Time) bool {
	return !now.Before(s.last.Add(s.delay() + throttleWindow))
}

// begin admits an attempt, or returns how long the caller must still wait
// (the longest of the keys' waits). An admitted attempt is counted as a
// failure at once, under the same lock, so that a burst of concurrent
// attempts cannot all pass before the first failure is counted; a success
// takes the count back (succeeded).
func (t *throttle) begin(now time.Time, keys ...string) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	if w := t.waitLocked(now, keys...); w > 0 {
		return w
	}
	t.failLocked(now, keys...)
	return 0
}

func (t *throttle) waitLocked(now time.Time, keys ...string) time.Duration {
	var w time.Duration
	for _, k := range keys {
		s := t.m[k]
		if s == nil {
			continue
		}
		if s.expired(now) {
			delete(t.m, k)
			continue
		}
		if d := s.last.Add(s.delay()).Sub(now); d > w {
			w = d
		}
	}
	return w
}

func (t *throttle) failLocked(now time.Time, keys ...string) {
	for _, k := range keys {
		s := t.m[k]
		if s != nil && s.expired(now) {
			s = nil
		}
		if s == nil {
			if len(t.m) >= t.limit {
				t.sweep(now)
			}
			s = &strikes{free: freeAccountFailures}
			if strings.HasPrefix(k, "ip:") {
				s.free = freeIPFailures
			}
			t.m[k] = s
		}
		s.n++
		s.last = now
	}
}

// succeeded follows an attempt that begin admitted and that succeeded:
// the first key's (the account's) count starts over; the others (the
// address's) lose only this attempt, or one valid account would let an
// address guess at all the others.
func (t *throttle) succeeded(keys ...string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for i, k := range keys {
		s := t.m[k]
		switch {
		case s == nil:
		case i == 0 || s.n <= 1:
			delete(t.m, k)
		default:
			s.n--
		}
	}
}

// sweep makes room: expired entries go first; if that is not enough (a
// flood of distinct keys), entries that are not delaying anyone go, in
// map order (random), down to 90 %. Keys being delayed are kept, so a
// flood cannot lift a throttle.
func (t *throttle) sweep(now time.Time) {
	for k, s := range t.m {
		if s.expired(now) {
			delete(t.m, k)
		}
	}
	for k, s := range t.m {
		if len(t.m) < t.limit*9/10 {
			return
		}
		if s.n <= s.free {
			delete(t.m, k)
		}
	}
	for k := range t.m { // all delayed: a bound is a bound
		if len(t.m) < t.limit*9/10 {
			return
		}
		delete(t.m, k)
	}
}

// checkPassword runs CheckPassword when one of the kdf slots is free,
// waiting for one at most until ctx ends. Inputs over 1 KiB are refused
// without hashing (argon2 costs the same for any length; they are simply
// not passwords).
func (s *Service) checkPassword(ctx context.Context, hash, pw string) (bool, error) {
	if len(pw) > 1024 {
		return false, nil
	}
	if err := s.kdfSlot(ctx); err != nil {
		return false, err
	}
	defer func() { <-s.auth.kdf }()
	return CheckPassword(hash, pw), nil
}

// hashPassword is HashPassword under the same bound as checkPassword.
func (s *Service) hashPassword(ctx context.Context, pw string) (string, error) {
	if err := s.kdfSlot(ctx); err != nil {
		return "", err
	}
	defer func() { <-s.auth.kdf }()
	return HashPassword(pw)
}

func (s *Service) kdfSlot(ctx context.Context) error {
	select {
	case s.auth.kdf <- struct{}{}:
		return nil
	case <-ctx.Done():
		return errs.E(errs.Unavailable, "auth", "the server is busy; try again", ctx.Err())
	}
}

// ---- account changes ----

// checkNewPassword holds a new password to the minimum length (and a
// maximum, so nobody hashes megabytes).
func checkNewPassword(op, pw string) error {
	if len(pw) < 10 {
		return errs.E(errs.Invalid, op, "a password needs at least 10 characters", nil)
	}
	if len(pw) > 1024 {
		return errs.E(errs.Invalid, op, "a password may have at most 1024 bytes", nil)
	}
	return nil
}

// ChangePassword lets p change its own password by proving the current
// one. Every session of the user ends. When the caller came with a session
// (secret, "" otherwise), it continues under a new secret, which is
// returned. Wrong current passwords count towards sign-in throttling.
// API tokens stay valid (they are revoked one by one).
func (s *Service) ChangePassword(ctx context.Context, p *authz.Principal, current, next, secret string) (string, error) {
	defer s.accessChanged() // cached credentials must be checked again
	const op = "user.password_change"
	if p == nil || p.UserID == "" {
		return "", errs.E(errs.Unauth, op, "authentication required", nil)
	}
	if p.ReadOnly {
		return "", errs.E(errs.Permission, op, "this token is read-only", nil)
	}
	if p.OnlyCustomerID != "" {
		// The account is wider than the token: a token limited to one
		// customer cannot end the account's sessions.
		return "", errs.E(errs.Permission, op, "this token is limited to one customer", nil)
	}
	if err := checkNewPassword(op, next); err != nil {
		return "", err
	}
	c := Client{IP: p.IP, UserAgent: p.UserAgent, RequestID: p.RequestID}
	var u *tuku.User
	err := s.meta.View(ctx, func(tx meta.Tx) error {
		var err error
		u, err = tx.GetUser(ctx, p.UserID)
		return err
	})
	if errors.Is(err, errs.NotFound) {
		return "", errs.E(errs.Invalid, op, "this account has no password (use tuku user passwd)", nil)
	}
	if err != nil {
		return "", err
	}
	now := s.now()
	keys := throttleKeys(u.Email, c.IP)
	if wait := s.auth.throttle.begin(now, keys...); wait > 0 {
		return "", throttled(op, wait)
	}
	ok, err := s.checkPassword(ctx, u.PasswordHash, current)
	if err != nil {
		return "", err
	}
	if !ok {
		s.auditFailure(ctx, c, u, u.Email, op, "wrong current password")
		return "", errs.E(errs.Permission, op, "the current password is wrong", nil)
	}
	hash, err := s.hashPassword(ctx, next)
	if err != nil {
		return "", errs.E(errs.Internal, op, "", err)
	}
	var newSecret string
	err = s.meta.Tx(ctx, func(tx meta.Tx) error {
		var old *tuku.Session
		if secret != "" && validSessionSecret(secret) {
			if ss, err := tx.GetSession(ctx, hashSecret(secret)); err == nil && ss.UserID == u.ID && !ss.MFAPending {
				old = ss
			}
		}
		u.PasswordHash, u.PasswordChangedAt, u.MustChangePassword = hash, now.UTC(), false
		if err := tx.UpdateUser(ctx, u); err != nil {
			return err
		}
		n, err := tx.DeleteUserSessions(ctx, u.ID)
		if err != nil {
			return err
		}
		if old != nil {
			newSecret, _ = newSessionSecret()
			err := tx.CreateSession(ctx, &tuku.Session{Hash: hashSecret(newSecret), UserID: u.ID,
				CreatedAt: now.UTC(), LastSeen: now.UTC(), IP: c.IP, UserAgent: capUA(c.UserAgent)})
			if err != nil {
				return err
			}
		}
		return s.audit(ctx, tx, p, tuku.AuditEvent{Action: op, TargetType: "user", TargetID: u.ID,
			Detail: auditDetail(map[string]string{"sessions_ended": itoa(n)})})
	})
	if err != nil {
		return "", err
	}
	s.auth.throttle.succeeded(keys...)
	return newSecret, nil
}

// SetPassword sets the password of user ref (ID or email) as an
// administrator; "" generates one, good for one sign-in (the session it
// opens may only change it). It returns the password set. Every
// session of the user ends.
func (s *Service) SetPassword(ctx context.Context, p *authz.Principal, ref, pw string) (string, error) {
	defer s.accessChanged() // cached credentials must be checked again
	const op = "user.password_set"
	if err := authz.Check(p, authz.ManageUsers, authz.Resource{}); err != nil {
		return "", err
	}
	generated := pw == ""
	if generated {
		pw = RandomSecret(12)
	} else if err := checkNewPassword(op, pw); err != nil {
		return "", err
	}
	hash, err := s.hashPassword(ctx, pw)
	if err != nil {
		return "", errs.E(errs.Internal, op, "", err)
	}
	err = s.meta.Tx(ctx, func(tx meta.Tx) error {
		u, err := userByRef(ctx, tx, ref)
		if err != nil {
			return err
		}
		// A generated password is for one sign-in; one the administrator
		// chose is the user's until changed.
		u.PasswordHash, u.PasswordChangedAt, u.MustChangePassword = hash, s.now().UTC(), generated
		if err := tx.UpdateUser(ctx, u); err != nil {
			return err
		}
		n, err := tx.DeleteUserSessions(ctx, u.ID)
		if err != nil {
			return err
		}
		return s.audit(ctx, tx, p, tuku.AuditEvent{Action: op, TargetType: "user", TargetID: u.ID,
			Detail: auditDetail(map[string]string{"email": u.Email, "sessions_ended": itoa(n)})})
	})
	if err != nil {
		return "", err
	}
	return pw, nil
}

// DisableUser disables user ref (ID or email) and ends its sessions; its
// API tokens stop working too (Authenticate refuses disabled users), but
// stay on record. An administrator cannot disable itself, and the last
// enabled administrator cannot be disabled.
func (s *Service) DisableUser(ctx context.Context, p *authz.Principal, ref string) (*tuku.User, error) {
	return s.setDisabled(ctx, p, ref, true)
}

// EnableUser lets a disabled user sign in again.
func (s *Service) EnableUser(ctx context.Context, p *authz.Principal, ref string) (*tuku.User, error) {
	return s.setDisabled(ctx, p, ref, false)
}

func (s *Service) setDisabled(ctx context.Context, p *authz.Principal, ref string, disabled bool) (*tuku.User, error) {
	defer s.accessChanged() // cached credentials must be checked again
	op := "user.enable"
	if disabled {
		op = "user.disable"
	}
	if err := authz.Check(p, authz.ManageUsers, authz.Resource{}); err != nil {
		return nil, err
	}
	var u *tuku.User
	err := s.meta.Tx(ctx, func(tx meta.Tx) error {
		var err error
		if u, err = userByRef(ctx, tx, ref); err != nil {
			return err
		}
		if disabled && u.ID == p.UserID {
			return errs.E(errs.Invalid, op, "you cannot disable your own account", nil)
		}
		if disabled && u.Role == tuku.RoleAdmin && !u.Disabled {
			admins, err := tx.ActiveAdmins(ctx) // locked until the end of tx
			if err != nil {
				return err
			}
			if len(admins) <= 1 {
				return errs.E(errs.Conflict, op, "the last administrator cannot be disabled", nil)
			}
		}
		u.Disabled = disabled
		if err := tx.UpdateUser(ctx, u); err != nil {
			return err
		}
		n := 0
		if disabled {
			if n, err = tx.DeleteUserSessions(ctx, u.ID); err != nil {
				return err
			}
		}
		return s.audit(ctx, tx, p, tuku.AuditEvent{Action: op, TargetType: "user", TargetID: u.ID,
			Detail: auditDetail(map[string]string{"email": u.Email, "sessions_ended": itoa(n)})})
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// ResetMFA removes the second factor of user ref (lost phone) and ends its
// sessions; the user signs in with the password and, where MFA is
// required, enrols again.
func (s *Service) ResetMFA(ctx context.Context, p *authz.Principal, ref string) error {
	defer s.accessChanged() // cached credentials must be checked again
	const op = "user.mfa_reset"
	if err := authz.Check(p, authz.ManageUsers, authz.Resource{}); err != nil {
		return err
	}
	return s.meta.Tx(ctx, func(tx meta.Tx) error {
		u, err := userByRef(ctx, tx, ref)
		if err != nil {
			return err
		}
		had := "true"
		if err := tx.DeleteMFA(ctx, u.ID); errors.Is(err, errs.NotFound) {
			had = "false"
		} else if err != nil {
			return err
		}
		n, err := tx.DeleteUserSessions(ctx, u.ID)
		if err != nil {
			return err
		}
		return s.audit(ctx, tx, p, tuku.AuditEvent{Action: op, TargetType: "user", TargetID: u.ID,
			Detail: auditDetail(map[string]string{"email": u.Email, "had_mfa": had, "sessions_ended": itoa(n)})})
	})
}

// MFAStatus reports whether user ref has a second factor in force and how
// many recovery codes are left (for admins and the user itself).
func (s *Service) MFAStatus(ctx context.Context, p *authz.Principal, ref string) (enabled bool, codesLeft int, err error) {
	const op = "user.mfa_status"
	err = s.meta.View(ctx, func(tx meta.Tx) error {
		u, err := userByRef(ctx, tx, ref)
		if err != nil {
			return err
		}
		if err := s.checkSelfOrAdmin(p, u.ID, op); err != nil {
			return err
		}
		m, err := tx.GetMFA(ctx, u.ID)
		if errors.Is(err, errs.NotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		enabled, codesLeft = m.Enabled, len(m.RecoveryCodes)
		return nil
	})
	return enabled, codesLeft, err
}

// checkSelfOrAdmin lets p act on its own account, or on anyone's when it
// manages users. Others' accounts answer NotFound: their existence is not
// the caller's business.
func (s *Service) checkSelfOrAdmin(p *authz.Principal, userID, op string) error {
	if p == nil || p.UserID == "" {
		return errs.E(errs.Unauth, op, "authentication required", nil)
	}
	if p.UserID == userID {
		return nil
	}
	if authz.Check(p, authz.ManageUsers, authz.Resource{}) != nil {
		return errs.E(errs.NotFound, op, "not found", nil)
	}
	return nil
}

// ListTokens lists the API tokens of user ref ("" = p's own), revoked ones
// included. Secrets are never shown again.
func (s *Service) ListTokens(ctx context.Context, p *authz.Principal, ref string) ([]tuku.Token, error) {
	const op = "token.list"
	if p == nil || p.UserID == "" {
		return nil, errs.E(errs.Unauth, op, "authentication required", nil)
	}
	var ts []tuku.Token
	err := s.meta.View(ctx, func(tx meta.Tx) error {
		id := p.UserID
		if ref != "" {
			u, err := userByRef(ctx, tx, ref)
			if err != nil {
				return err
			}
			id = u.ID
		}
		if err := s.checkSelfOrAdmin(p, id, op); err != nil {
			return err
		}
		var err error
		ts, err = tx.ListTokens(ctx, id)
		return err
	})
	return ts, err
}

// RevokeToken revokes an API token: p's own, or anyone's when p manages
// users (another user's token answers NotFound otherwise). A read-only
// token cannot revoke. Revoking twice keeps the first time.
func (s *Service) RevokeToken(ctx context.Context, p *authz.Principal, id string) error {
	defer s.accessChanged() // cached credentials must be checked again
	const op = "token.revoke"
	if p == nil || p.UserID == "" {
		return errs.E(errs.Unauth, op, "authentication required", nil)
	}
	if p.ReadOnly {
		return errs.E(errs.Permission, op, "this token is read-only", nil)
	}
	return s.meta.Tx(ctx, func(tx meta.Tx) error {
		t, err := tx.GetToken(ctx, id)
		if errors.Is(err, errs.NotFound) {
			return errs.E(errs.NotFound, op, "token not found", nil)
		}
		if err != nil {
			return err
		}
		if err := s.checkSelfOrAdmin(p, t.UserID, op); err != nil {
			return errs.E(errs.NotFound, op, "token not found", nil)
		}
		if p.OnlyCustomerID != "" && t.CustomerID != p.OnlyCustomerID {
			// A token limited to one customer may revoke tokens of that
			// customer (itself included), not the account's wider ones.
			return errs.E(errs.Permission, op, "this token is limited to one customer", nil)
		}
		if err := tx.RevokeToken(ctx, t.ID, s.now().UTC()); err != nil {
			return err
		}
		return s.audit(ctx, tx, p, tuku.AuditEvent{Action: op, TargetType: "token", TargetID: t.ID, CustomerID: t.CustomerID,
			Detail: auditDetail(map[string]string{"user": t.UserID, "name": t.Name})})
	})
}

func itoa(n int) string { return strconv.Itoa(n) }

// User returns user ref (ID or email): p's own account, or anyone's when
// p manages users (others' accounts answer NotFound otherwise).
func (s *Service) User(ctx context.Context, p *authz.Principal, ref string) (*tuku.User, error) {
	const op = "user.get"
	if p == nil || p.UserID == "" {
		return nil, errs.E(errs.Unauth, op, "authentication required", nil)
	}
	var u *tuku.User
	err := s.meta.View(ctx, func(tx meta.Tx) error {
		var err error
		if u, err = userByRef(ctx, tx, ref); err != nil {
			return err
		}
		if err := s.checkSelfOrAdmin(p, u.ID, op); err != nil {
			// Worded like an unknown user's answer.
			return errs.Ef(errs.NotFound, "user", "no user %q", ref)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}
