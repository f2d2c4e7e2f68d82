package service

import (
	"context"

	"tuku/internal/authz"
	"tuku/internal/errs"
	"tuku/internal/meta"
	"tuku/internal/tuku"
)

// SetUserRole changes the global role of user ref (ID or email): admins
// only. An administrator cannot change its own role (so no one locks
// themselves out by mistake), and the last enabled administrator stays
// one. The new role applies from the user's next request: principals are
// built from the stored user every time. Audited as "user.role".
func (s *Service) SetUserRole(ctx context.Context, p *authz.Principal, ref string, role tuku.Role) (*tuku.User, error) {
	const op = "user.role"
	if err := authz.Check(p, authz.ManageUsers, authz.Resource{}); err != nil {
		return nil, err
	}
	if !role.Valid() {
		return nil, errs.Ef(errs.Invalid, op, "unknown role %q (admin, member)", role)
	}
	var u *tuku.User
	err := s.meta.Tx(ctx, func(tx meta.Tx) error {
		var err error
		if u, err = userByRef(ctx, tx, ref); err != nil {
			return err
		}
		if u.Role == role {
			return nil
		}
		if u.ID == p.UserID {
			return errs.E(errs.Invalid, op, "you cannot change your own role", nil)
		}
		if u.Role == tuku.RoleAdmin && !u.Disabled {
			admins, err := tx.ActiveAdmins(ctx) // locked until the end of tx
			if err != nil {
				return err
			}
			if len(admins) <= 1 {
				return errs.E(errs.Conflict, op, "the last administrator must stay an administrator", nil)
			}
		}
		from := u.Role
		u.Role = role
		if err := tx.UpdateUser(ctx, u); err != nil {
			return err
		}
		return s.audit(ctx, tx, p, tuku.AuditEvent{Action: op, TargetType: "user", TargetID: u.ID,
			Detail: auditDetail(map[string]string{"email": u.Email, "from": string(from), "to": string(role)})})
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}
