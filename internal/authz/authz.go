// Package authz is Tuku's access policy as a pure function: given who is
// asking (a Principal), what they want to do (an Action) and to what (a
// Resource), it allows or denies. It does no I/O; the service layer loads the
// facts (the member's grants, the resource's customer, project and
// sensitivity) and asks. Everything not allowed here is denied: an action
// missing from the policy table is refused for everyone, admins included.
//
// The nouns:
//   - Role: global, admin (everything) or member (nothing without a grant).
//   - Grant: a member's Level on a whole customer or on one project of it.
//   - Level: viewer < contributor < editor < manager; the effective level on a
//     resource is the highest grant that applies to it.
//   - Sensitivity: gates on top of the level. Restricted assets need manager
//     (or admin); confidential ones need editor, or a grant marked
//     Confidential.
//   - Token scope: an API token acts as its user, optionally narrowed to
//     read-only and/or one customer; it never widens anything.
package authz

import (
	"tuku/internal/errs"
	"tuku/internal/tuku"
)

// Principal is an authenticated caller.
type Principal struct {
	UserID string
	Email  string
	Role   tuku.Role
	// Token restrictions, when the caller authenticated with an API token.
	ReadOnly       bool
	OnlyCustomerID string // "" = not restricted to one customer
	// Grants of a member (admins need none), loaded when it authenticated.
	Grants []tuku.Grant

	// Where the request came from, for the audit log.
	IP        string
	UserAgent string
	RequestID string
	// Via is how it authenticated: "token", "session", "cli", "system".
	Via string
	// MustChangePassword: a session opened with a one-time password; the
	// HTTP layers let it do nothing but change the password (and sign out).
	MustChangePassword bool
}

// System is the principal of Tuku's own background work and of the CLI run
// by the operator on the server's data directory.
var System = Principal{UserID: "system", Email: "system", Role: tuku.RoleAdmin}

// Action is something a principal may do.
type Action string

const (
	ViewCustomer     Action = "customer.view"   // a customer's or a project's record
	ManageCustomer   Action = "customer.manage" // create customers (admins), edit one, add projects (its managers)
	ViewAsset        Action = "asset.view"      // metadata and renditions
	DownloadOriginal Action = "asset.download"  // the original bytes
	UploadAsset      Action = "asset.upload"
	EditAsset        Action = "asset.edit" // metadata and versions
	ReviewAsset      Action = "asset.review"
	ShareAsset       Action = "asset.share"
	DeleteAsset      Action = "asset.delete"
	ManageGrants     Action = "grant.manage"
	ManageUsers      Action = "user.manage"
	ViewAudit        Action = "audit.view"
	ManageSettings   Action = "settings.manage"
	ViewSystem       Action = "system.view" // job stats, metrics
)

// rule is one row of the policy table.
type rule struct {
	// min is the lowest grant level that allows the action; LevelNone
	// means no grant does (admins only).
	min tuku.Level
	// write: denied to read-only tokens.
	write bool
	// global: not about one customer (users, audit, settings, system);
	// denied to tokens limited to a customer.
	global bool
	// anyProject: any grant in the customer, even on one project only,
	// satisfies the rule when the resource names no project (a project
	// member may see its customer's record).
	anyProject bool
}

// policy is the table: action → the rule that allows it. An action not
// listed is denied to everyone. (A switch rather than a package map: the
// table cannot be changed at run time.)
func policy(a Action) (rule, bool) {
	switch a {
	case ViewCustomer:
		return rule{min: tuku.LevelViewer, anyProject: true}, true
	case ManageCustomer:
		return rule{min: tuku.LevelManager, write: true}, true
	case ViewAsset:
		return rule{min: tuku.LevelViewer}, true
	case DownloadOriginal:
		return rule{min: tuku.LevelViewer}, true
	case UploadAsset:
		return rule{min: tuku.LevelContributor, write: true}, true
	case EditAsset:
		return rule{min: tuku.LevelEditor, write: true}, true
	case ReviewAsset, ShareAsset, DeleteAsset, ManageGrants:
		return rule{min: tuku.LevelManager, write: true}, true
	case ManageUsers, ManageSettings:
		return rule{min: tuku.LevelNone, write: true, global: true}, true
	case ViewAudit, ViewSystem:
		return rule{min: tuku.LevelNone, global: true}, true
	}
	return rule{}, false
}

// Actions lists every action of the policy table, for tests and docs.
func Actions() []Action {
	return []Action{ViewCustomer, ManageCustomer, ViewAsset, DownloadOriginal, UploadAsset, EditAsset,
		ReviewAsset, ShareAsset, DeleteAsset, ManageGrants, ManageUsers, ViewAudit, ManageSettings, ViewSystem}
}

// IsWrite reports whether an action changes state (and so is denied to
// read-only tokens). Unknown actions count as writes.
func IsWrite(a Action) bool {
	r, ok := policy(a)
	return !ok || r.write
}

// Resource is what an action is about. CustomerID is "" for global actions
// and for creating a customer; ProjectID is "" for a customer as a whole or
// an asset outside any project; Sensitivity is the asset's ("" when the
// action is not about one asset).
type Resource struct {
	CustomerID  string
	ProjectID   string
	Sensitivity tuku.Sensitivity
}

// Denial messages. A caller that must not learn whether something exists
// turns any denial into a NotFound of its own (see service).
const (
	msgReadOnly   = "this token is read-only"
	msgOneCust    = "this token is limited to one customer"
	msgDenied     = "permission denied"
	msgSensitive  = "permission denied: the asset's sensitivity needs a higher grant"
	msgAuthNeeded = "authentication required"
)

// Check returns nil when p may do a on r, else an errs.Unauth error (no
// principal) or an errs.Permission error.
func Check(p *Principal, a Action, r Resource) error {
	if p == nil || p.UserID == "" {
		return errs.E(errs.Unauth, string(a), msgAuthNeeded, nil)
	}
	rl, ok := policy(a)
	if !ok {
		return errs.E(errs.Permission, string(a), msgDenied, nil)
	}
	if p.ReadOnly && rl.write {
		return errs.E(errs.Permission, string(a), msgReadOnly, nil)
	}
	if p.OnlyCustomerID != "" && (rl.global || r.CustomerID != p.OnlyCustomerID) {
		return errs.E(errs.Permission, string(a), msgOneCust, nil)
	}
	if p.Role == tuku.RoleAdmin {
		return nil
	}
	if p.Role != tuku.RoleMember || rl.min == tuku.LevelNone || r.CustomerID == "" {
		return errs.E(errs.Permission, string(a), msgDenied, nil)
	}
	level, conf := effective(p.Grants, r, rl.anyProject)
	if level < rl.min {
		return errs.E(errs.Permission, string(a), msgDenied, nil)
	}
	if !sensitivityAllows(r.Sensitivity, level, conf) {
		return errs.E(errs.Permission, string(a), msgSensitive, nil)
	}
	return nil
}

// effective returns the highest level among the grants that apply to r,
// and whether any of them (or that level) opens confidential assets. A
// customer grant applies to all its projects; a project grant only to
// resources of that project, except that with anyProject it also counts
// (as a viewer) for the customer itself.
func effective(gs []tuku.Grant, r Resource, anyProject bool) (tuku.Level, bool) {
	level, conf := tuku.LevelNone, false
	for _, g := range gs {
		if g.CustomerID != r.CustomerID || g.Level <= tuku.LevelNone {
			continue
		}
		l := g.Level
		switch {
		case g.ProjectID == "":
		case g.ProjectID == r.ProjectID:
		case anyProject && r.ProjectID == "":
			l = tuku.LevelViewer
		default:
			continue
		}
		level = max(level, min(l, tuku.LevelManager))
		conf = conf || g.Confidential
	}
	return level, conf || level >= tuku.LevelEditor
}

// sensitivityAllows is the gate on top of the level. Unknown
// sensitivities are treated as restricted (fail closed).
func sensitivityAllows(s tuku.Sensitivity, level tuku.Level, conf bool) bool {
	switch s {
	case "", tuku.Public, tuku.Internal:
		return true
	case tuku.Confidential:
		return conf || level >= tuku.LevelManager
	}
	return level >= tuku.LevelManager
}

// Allowed is Check as a boolean, for filters.
func Allowed(p *Principal, a Action, r Resource) bool { return Check(p, a, r) == nil }

// CanSeeCustomer reports whether p may see customer id's record (any
// grant in it will do). Lists filter with it so that hidden customers look
// like missing ones.
func CanSeeCustomer(p *Principal, id string) bool {
	return Check(p, ViewCustomer, Resource{CustomerID: id}) == nil
}

// Scope is a part of the library a principal may see assets in: a whole
// customer (ProjectID "") or one project, up to a sensitivity.
type Scope struct {
	CustomerID     string
	ProjectID      string
	MaxSensitivity tuku.Sensitivity
}

// ViewScopes returns where p may do a (ViewAsset, DownloadOriginal…) on
// assets, for filtering lists in SQL: all == true means everywhere (an
// admin without a customer limit); otherwise only within scopes (none at
// all when empty). The scopes agree with Check: an asset is in one of them
// exactly when Check allows a on it.
func ViewScopes(p *Principal, a Action) (scopes []Scope, all bool) {
	if p == nil || p.UserID == "" {
		return nil, false
	}
	if p.Role == tuku.RoleAdmin && p.OnlyCustomerID == "" {
		return nil, Check(p, a, Resource{CustomerID: "-"}) == nil
	}
	if p.Role == tuku.RoleAdmin {
		if Check(p, a, Resource{CustomerID: p.OnlyCustomerID, Sensitivity: tuku.Restricted}) == nil {
			return []Scope{{CustomerID: p.OnlyCustomerID, MaxSensitivity: tuku.Restricted}}, false
		}
		return nil, false
	}
	// For a member, one candidate scope per grant; the most permissive
	// sensitivity that Check allows in it is its bound. A project grant
	// under a customer grant gets its own scope when it opens more.
	for _, g := range p.Grants {
		r := Resource{CustomerID: g.CustomerID, ProjectID: g.ProjectID}
		top := tuku.Sensitivity("")
		for _, s := range []tuku.Sensitivity{tuku.Internal, tuku.Confidential, tuku.Restricted} {
			r.Sensitivity = s
			if Check(p, a, r) == nil {
				top = s
			}
		}
		if top == "" {
			continue
		}
		scopes = append(scopes, Scope{CustomerID: g.CustomerID, ProjectID: g.ProjectID, MaxSensitivity: top})
	}
	return scopes, false
}

// SensitivitiesUpTo lists the sensitivities from public up to and
// including max, in order.
func SensitivitiesUpTo(max tuku.Sensitivity) []tuku.Sensitivity {
	all := []tuku.Sensitivity{tuku.Public, tuku.Internal, tuku.Confidential, tuku.Restricted}
	for i, s := range all {
		if s == max {
			return all[:i+1]
		}
	}
	return nil
}
