package service

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"

	"tuku/internal/authz"
	"tuku/internal/errs"
	"tuku/internal/meta"
	"tuku/internal/tuku"
)

// argon2id parameters (RFC 9106's second recommended option, lighter memory).
const (
	argonTime    = 2
	argonMemory  = 64 << 10 // KiB
	argonThreads = 2
	argonKeyLen  = 32
)

// HashPassword returns an encoded argon2id hash of pw.
func HashPassword(pw string) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(pw), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	return fmt.Sprintf("$argon2id$v=19$m=%d,t=%d,p=%d$%s$%s", argonMemory, argonTime, argonThreads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key)), nil
}

// CheckPassword reports whether pw matches an encoded hash.
func CheckPassword(encoded, pw string) bool {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil {
		return false
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	want, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil || m > 1<<20 || t > 16 {
		return false
	}
	got := argon2.IDKey([]byte(pw), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// RandomSecret returns n random bytes as lower-case base32 without padding.
func RandomSecret(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("crypto/rand failed: " + err.Error())
	}
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
}

// NewUser are the fields of an account to create.
type NewUser struct {
	Email       string
	DisplayName string
	Role        tuku.Role
	Password    string // "" = a random one is generated and returned
}

// CreateUser adds an account. It returns the user and the password that
// was set (generated when none was given).
func (s *Service) CreateUser(ctx context.Context, p *authz.Principal, in NewUser) (*tuku.User, string, error) {
	if err := authz.Check(p, authz.ManageUsers, authz.Resource{}); err != nil {
		return nil, "", err
	}
	return s.createUser(ctx, p, in, nil)
}

// createUser adds the account and its audit row (by p, with extra detail)
// in one transaction.
func (s *Service) createUser(ctx context.Context, p *authz.Principal, in NewUser, detail map[string]string) (*tuku.User, string, error) {
	email := tuku.NormEmail(in.Email)
	if at := strings.IndexByte(email, '@'); at < 1 || at == len(email)-1 || len(email) > 254 || strings.ContainsAny(email, " \t\r\n<>") {
		return nil, "", errs.Ef(errs.Invalid, "user.create", "%q is not an email address", in.Email)
	}
	if in.Role == "" {
		in.Role = tuku.RoleMember
	}
	if !in.Role.Valid() {
		return nil, "", errs.Ef(errs.Invalid, "user.create", "unknown role %q (admin, member)", in.Role)
	}
	pw := in.Password
	if pw == "" {
		pw = RandomSecret(12)
	} else if len(pw) < 10 {
		return nil, "", errs.E(errs.Invalid, "user.create", "a password needs at least 10 characters", nil)
	}
	hash, err := s.hashPassword(ctx, pw)
	if err != nil {
		return nil, "", err
	}
	u := &tuku.User{ID: tuku.NewID(), Email: email, DisplayName: cleanText(in.DisplayName, 100), Role: in.Role, PasswordHash: hash, CreatedAt: s.now().UTC(),
		MustChangePassword: in.Password == ""} // a generated password is for one sign-in
	if u.DisplayName == "" {
		u.DisplayName = email[:strings.IndexByte(email, '@')]
	}
	if detail == nil {
		detail = map[string]string{}
	}
	detail["email"], detail["role"] = u.Email, string(u.Role)
	err = s.meta.Tx(ctx, func(tx meta.Tx) error {
		if err := tx.CreateUser(ctx, u); err != nil {
			return err
		}
		return s.audit(ctx, tx, p, tuku.AuditEvent{Action: "user.create", TargetType: "user", TargetID: u.ID, Detail: auditDetail(detail)})
	})
	if err != nil {
		return nil, "", err
	}
	return u, pw, nil
}

// EnsureAdmin creates the first admin when there are no users. It returns
// the new user and its one-time password, or (nil, "") when users exist.
func (s *Service) EnsureAdmin(ctx context.Context, email string) (*tuku.User, string, error) {
	var n int
	if err := s.meta.View(ctx, func(tx meta.Tx) error {
		var err error
		n, err = tx.CountUsers(ctx)
		return err
	}); err != nil {
		return nil, "", err
	}
	if n > 0 {
		return nil, "", nil
	}
	u, pw, err := s.createUser(ctx, &authz.System, NewUser{Email: email, DisplayName: "Administrator", Role: tuku.RoleAdmin},
		map[string]string{"first_admin": "true"})
	if errors.Is(err, errs.Conflict) { // another process won
		return nil, "", nil
	}
	return u, pw, err
}

// ListUsers lists accounts.
func (s *Service) ListUsers(ctx context.Context, p *authz.Principal) ([]tuku.User, error) {
	if err := authz.Check(p, authz.ManageUsers, authz.Resource{}); err != nil {
		return nil, err
	}
	var us []tuku.User
	err := s.meta.View(ctx, func(tx meta.Tx) error {
		var err error
		us, err = tx.ListUsers(ctx)
		return err
	})
	return us, err
}

// TokenPrefix starts every API token, so leaked tokens are easy to spot.
const TokenPrefix = "tuku_"

// NewToken are the fields of an API token to create.
type NewToken struct {
	Email      string // whose token
	Name       string
	ReadOnly   bool
	CustomerID string // restrict to one customer
}

// CreateToken mints an API token for a user and returns it with its
// secret, which is shown once and stored only as a hash. A principal can
// mint tokens only for itself unless it manages users, and never a token
// wider than its own rights.
func (s *Service) CreateToken(ctx context.Context, p *authz.Principal, in NewToken) (*tuku.Token, string, error) {
	if p == nil || p.UserID == "" {
		return nil, "", errs.E(errs.Unauth, "token.create", "authentication required", nil)
	}
	if p.ReadOnly {
		return nil, "", errs.E(errs.Permission, "token.create", "a read-only token cannot create tokens", nil)
	}
	var tok *tuku.Token
	secret := TokenPrefix + RandomSecret(20)
	err := s.meta.Tx(ctx, func(tx meta.Tx) error {
		// Minting for someone else needs ManageUsers, checked before the
		// lookup so that the answer does not tell who exists.
		if tuku.NormEmail(in.Email) != tuku.NormEmail(p.Email) {
			if err := authz.Check(p, authz.ManageUsers, authz.Resource{}); err != nil {
				return err
			}
		}
		u, err := tx.GetUserByEmail(ctx, tuku.NormEmail(in.Email))
		if errors.Is(err, errs.NotFound) {
			return errs.Ef(errs.NotFound, "token.create", "no user with email %q", in.Email)
		}
		if err != nil {
			return err
		}
		if u.ID != p.UserID {
			if err := authz.Check(p, authz.ManageUsers, authz.Resource{}); err != nil {
				return err
			}
		}
		if u.Disabled {
			return errs.E(errs.Invalid, "token.create", "the user is disabled", nil)
		}
		cust := in.CustomerID
		if p.OnlyCustomerID != "" {
			if cust != "" && cust != p.OnlyCustomerID {
				return errs.E(errs.Permission, "token.create", "a token cannot widen its own scope", nil)
			}
			cust = p.OnlyCustomerID
		}
		scope := ""
		if in.ReadOnly {
			scope = "read"
		}
		tok = &tuku.Token{ID: tuku.NewID(), UserID: u.ID, Name: cleanText(in.Name, 100), Hash: hashToken(secret), Scope: scope, CustomerID: cust, CreatedAt: s.now().UTC()}
		if err := tx.CreateToken(ctx, tok); err != nil {
			return err
		}
		return s.audit(ctx, tx, p, tuku.AuditEvent{Action: "token.create", TargetType: "token", TargetID: tok.ID, CustomerID: cust,
			Detail: auditDetail(map[string]string{"user": u.ID, "email": u.Email, "name": tok.Name, "scope": scope})})
	})
	if err != nil {
		return nil, "", err
	}
	return tok, secret, nil
}

func hashToken(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// Authenticate turns a bearer token into a principal. Any failure is
// errs.Unauth with the same message, so a caller learns nothing about why.
func (s *Service) Authenticate(ctx context.Context, secret string) (*authz.Principal, error) {
	bad := errs.E(errs.Unauth, "auth", "invalid or expired token", nil)
	if !WellFormedToken(secret) {
		return nil, bad
	}
	var p *authz.Principal
	err := s.meta.View(ctx, func(tx meta.Tx) error {
		t, err := tx.GetTokenByHash(ctx, hashToken(secret))
		if err != nil {
			return err
		}
		if t.RevokedAt != nil {
			return bad
		}
		u, err := tx.GetUser(ctx, t.UserID)
		if err != nil {
			return err
		}
		if u.Disabled {
			return bad
		}
		if p, err = s.principal(ctx, tx, u, "token"); err != nil {
			return err
		}
		p.ReadOnly, p.OnlyCustomerID = t.Scope == "read", t.CustomerID
		return nil
	})
	if err != nil {
		if errs.KindOf(err) == errs.Unavailable {
			return nil, err
		}
		return nil, bad
	}
	return p, nil
}

// PrincipalFor returns the principal of a user by email (the CLI's --as).
func (s *Service) PrincipalFor(ctx context.Context, email string) (*authz.Principal, error) {
	var p *authz.Principal
	err := s.meta.View(ctx, func(tx meta.Tx) error {
		u, err := tx.GetUserByEmail(ctx, tuku.NormEmail(email))
		if err != nil {
			return err
		}
		if u.Disabled {
			return errs.Ef(errs.Permission, "user", "the user %q is disabled", email)
		}
		p, err = s.principal(ctx, tx, u, "cli")
		return err
	})
	if errors.Is(err, errs.NotFound) {
		return nil, errs.Ef(errs.NotFound, "user", "no user with email %q", email)
	}
	return p, err
}
