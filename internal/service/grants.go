package service

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"tuku/internal/authz"
	"tuku/internal/errs"
	"tuku/internal/meta"
	"tuku/internal/tuku"
)

// principal builds the principal of an authenticated user: its role and,
// for a member, its grants as they stand in tx. Every authenticator
// (tokens, sessions, the CLI's --as) goes through it so that all callers
// see the same rights. via says how it authenticated ("token",
// "session", "cli"). Token narrowing (read-only, one customer) is the
// caller's to add.
func (s *Service) principal(ctx context.Context, tx meta.Tx, u *tuku.User, via string) (*authz.Principal, error) {
	p := &authz.Principal{UserID: u.ID, Email: u.Email, Role: u.Role, Via: via, MustChangePassword: u.MustChangePassword && via == "session"}
	if u.Role == tuku.RoleAdmin {
		return p, nil
	}
	gs, err := tx.ListGrants(ctx, meta.GrantFilter{UserID: u.ID})
	if err != nil {
		return nil, err
	}
	p.Grants = gs
	return p, nil
}

// GrantInfo is a grant as the API and CLI show it.
type GrantInfo struct {
	tuku.Grant
	UserEmail string `json:"user_email"`
}

// grantResource is what a grant is about, for the policy.
func grantResource(g *tuku.Grant) authz.Resource {
	return authz.Resource{CustomerID: g.CustomerID, ProjectID: g.ProjectID}
}

// canSeeGrant: admins and managers of the grant's scope see it (even
// through a read-only token), and every member sees its own grants.
func canSeeGrant(p *authz.Principal, g *tuku.Grant) bool {
	if p == nil || p.UserID == "" {
		return false
	}
	if g.UserID == p.UserID && (p.OnlyCustomerID == "" || p.OnlyCustomerID == g.CustomerID) {
		return true
	}
	q := *p
	q.ReadOnly = false
	return authz.Check(&q, authz.ManageGrants, grantResource(g)) == nil
}

// GrantAccess gives the user with userEmail a level on a customer, or on
// one of its projects when projectRef is not "". Admins may grant
// anything; a manager only within what it manages (a project manager on
// its project only), and never above manager. Granting again to the same
// user and scope replaces the earlier grant. The grant and its audit row
// are written in one transaction.
func (s *Service) GrantAccess(ctx context.Context, p *authz.Principal, userEmail, customerRef, projectRef string, level tuku.Level, confidential bool) (*GrantInfo, error) {
	defer s.accessChanged() // cached credentials must be checked again
	const op = "grant.add"
	if p == nil || p.UserID == "" {
		return nil, errs.E(errs.Unauth, op, "authentication required", nil)
	}
	if level < tuku.LevelViewer || level > tuku.LevelManager {
		return nil, errs.E(errs.Invalid, op, "level must be viewer, contributor, editor or manager", nil)
	}
	var out *GrantInfo
	var denied *tuku.AuditEvent
	err := s.meta.Tx(ctx, func(tx meta.Tx) error {
		c, pr, err := s.visibleScope(ctx, tx, p, customerRef, projectRef)
		if err != nil {
			return err
		}
		g := &tuku.Grant{CustomerID: c.ID, Level: level, Confidential: confidential, CreatedBy: p.UserID, CreatedAt: s.now().UTC()}
		if pr != nil {
			g.ProjectID = pr.ID
		}
		if err := authz.Check(p, authz.ManageGrants, grantResource(g)); err != nil {
			denied = &tuku.AuditEvent{Action: op, TargetType: "grant", CustomerID: c.ID, Outcome: OutcomeDenied,
				Detail: auditDetail(map[string]string{"email": userEmail, "project": g.ProjectID, "level": level.String()})}
			return err
		}
		u, err := tx.GetUserByEmail(ctx, tuku.NormEmail(userEmail))
		if errors.Is(err, errs.NotFound) {
			return errs.Ef(errs.NotFound, op, "no user with email %q", userEmail)
		}
		if err != nil {
			return err
		}
		if u.Role == tuku.RoleAdmin {
			return errs.E(errs.Invalid, op, "administrators see everything and take no grants", nil)
		}
		if u.Disabled {
			return errs.E(errs.Invalid, op, "the user is disabled", nil)
		}
		g.UserID = u.ID
		if err := tx.PutGrant(ctx, g); err != nil {
			return err
		}
		out = &GrantInfo{Grant: *g, UserEmail: u.Email}
		return s.audit(ctx, tx, p, tuku.AuditEvent{Action: op, TargetType: "grant", TargetID: g.ID, CustomerID: g.CustomerID,
			Detail: auditDetail(map[string]string{"user": u.ID, "email": u.Email, "project": g.ProjectID,
				"level": level.String(), "confidential": strconv.FormatBool(confidential)})})
	})
	if err != nil {
		s.auditDenied(ctx, p, denied)
		return nil, err
	}
	return out, nil
}

// visibleScope resolves a customer and optional project that p may see;
// hidden ones answer exactly like missing ones.
func (s *Service) visibleScope(ctx context.Context, tx meta.Tx, p *authz.Principal, customerRef, projectRef string) (*tuku.Customer, *tuku.Project, error) {
	c, err := resolveCustomer(ctx, tx, customerRef)
	if err != nil {
		return nil, nil, err
	}
	if !authz.CanSeeCustomer(p, c.ID) {
		return nil, nil, notFound("customer")
	}
	if strings.TrimSpace(projectRef) == "" {
		return c, nil, nil
	}
	pr, err := resolveVisibleProject(ctx, tx, p, c, projectRef)
	if err != nil {
		return nil, nil, err
	}
	return c, pr, nil
}

// RevokeGrant removes a grant. Who may see a grant but not manage it gets
// a permission error; who may not see it, not found.
func (s *Service) RevokeGrant(ctx context.Context, p *authz.Principal, id string) error {
	defer s.accessChanged() // cached credentials must be checked again
	const op = "grant.revoke"
	if p == nil || p.UserID == "" {
		return errs.E(errs.Unauth, op, "authentication required", nil)
	}
	if !tuku.ValidID(id) {
		return notFound("grant")
	}
	var denied *tuku.AuditEvent
	err := s.meta.Tx(ctx, func(tx meta.Tx) error {
		g, err := tx.GetGrant(ctx, id)
		if errors.Is(err, errs.NotFound) {
			return notFound("grant")
		}
		if err != nil {
			return err
		}
		if err := authz.Check(p, authz.ManageGrants, grantResource(g)); err != nil {
			denied = &tuku.AuditEvent{Action: op, TargetType: "grant", TargetID: g.ID, CustomerID: g.CustomerID, Outcome: OutcomeDenied}
			if !canSeeGrant(p, g) {
				return notFound("grant")
			}
			return err
		}
		if err := tx.DeleteGrant(ctx, g.ID); err != nil {
			return err
		}
		return s.audit(ctx, tx, p, tuku.AuditEvent{Action: op, TargetType: "grant", TargetID: g.ID, CustomerID: g.CustomerID,
			Detail: auditDetail(map[string]string{"user": g.UserID, "project": g.ProjectID, "level": g.Level.String()})})
	})
	if err != nil {
		s.auditDenied(ctx, p, denied)
	}
	return err
}

// GrantQuery filters ListGrants; empty fields do not filter.
type GrantQuery struct {
	User     string // email or user ID
	Customer string // ID or code
}

// ListGrants lists the grants p may see (see canSeeGrant) matching q.
func (s *Service) ListGrants(ctx context.Context, p *authz.Principal, q GrantQuery) ([]GrantInfo, error) {
	const op = "grant.list"
	if p == nil || p.UserID == "" {
		return nil, errs.E(errs.Unauth, op, "authentication required", nil)
	}
	out := []GrantInfo{}
	err := s.meta.View(ctx, func(tx meta.Tx) error {
		var f meta.GrantFilter
		if ref := strings.TrimSpace(q.Customer); ref != "" {
			c, err := resolveCustomer(ctx, tx, ref)
			if err != nil {
				return err
			}
			if !authz.CanSeeCustomer(p, c.ID) {
				return notFound("customer")
			}
			f.CustomerID = c.ID
		}
		if ref := strings.TrimSpace(q.User); ref != "" {
			// Who exists is not everybody's business: only those who
			// manage users learn that a user is unknown; for others an
			// unknown user simply has no grants they may see.
			u, err := userByRef(ctx, tx, ref)
			if errors.Is(err, errs.NotFound) && !authz.Allowed(p, authz.ManageUsers, authz.Resource{}) {
				return nil
			}
			if err != nil {
				return err
			}
			f.UserID = u.ID
		}
		gs, err := tx.ListGrants(ctx, f)
		if err != nil {
			return err
		}
		emails := map[string]string{}
		for i := range gs {
			if !canSeeGrant(p, &gs[i]) {
				continue
			}
			e, ok := emails[gs[i].UserID]
			if !ok {
				if u, err := tx.GetUser(ctx, gs[i].UserID); err == nil {
					e = u.Email
				} else if !errors.Is(err, errs.NotFound) {
					return err
				}
				emails[gs[i].UserID] = e
			}
			out = append(out, GrantInfo{Grant: gs[i], UserEmail: e})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// userByRef finds a user by email or ID.
func userByRef(ctx context.Context, tx meta.Tx, ref string) (*tuku.User, error) {
	var u *tuku.User
	var err error
	if strings.Contains(ref, "@") {
		u, err = tx.GetUserByEmail(ctx, tuku.NormEmail(ref))
	} else if tuku.ValidID(ref) {
		u, err = tx.GetUser(ctx, ref)
	} else {
		err = errs.E(errs.NotFound, "user", "", nil)
	}
	if errors.Is(err, errs.NotFound) {
		return nil, errs.Ef(errs.NotFound, "user", "no user %q", ref)
	}
	return u, err
}

// auditDenied records a refused attempt in a transaction of its own (the
// attempt's own transaction rolled back). Best effort: the caller's error
// is what matters to the caller, a failure here is logged.
func (s *Service) auditDenied(ctx context.Context, p *authz.Principal, ev *tuku.AuditEvent) {
	if ev == nil {
		return
	}
	err := s.meta.Tx(ctx, func(tx meta.Tx) error { return s.audit(ctx, tx, p, *ev) })
	if err != nil {
		s.log.Warn("audit of a denied request not written", "action", ev.Action, "err", err)
	}
}
