// Package authz is Tuku's access policy as a pure function: given who is
// asking (a Principal), what they want to do (an Action) and to what (a
// Resource), it allows or denies. It does no I/O; the service layer loads the
// facts (grants, the resource's customer) and asks. Everything not allowed
// here is denied.
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
}

// System is the principal of Tuku's own background work and of the CLI run
// by the operator on the server's data directory.
var System = Principal{UserID: "system", Email: "system", Role: tuku.RoleAdmin}

// Action is something a principal may do.
type Action string

const (
	ViewCustomer   Action = "customer.view"
	ManageCustomer Action = "customer.manage" // create, edit
	ViewAsset      Action = "asset.view"
	UploadAsset    Action = "asset.upload"
	EditAsset      Action = "asset.edit"
	ManageUsers    Action = "user.manage"
	ViewSystem     Action = "system.view" // job stats, metrics
)

// writes are denied to read-only tokens.
var writes = map[Action]bool{
	ManageCustomer: true, UploadAsset: true, EditAsset: true, ManageUsers: true,
}

// Resource is what an action is about. CustomerID is "" for global actions.
type Resource struct {
	CustomerID string
}

// Check returns nil when p may do a on r, else an errs.Permission error.
// Grants for members arrive with the accounts issue; until then members are
// allowed nothing, so the policy fails closed.
func Check(p *Principal, a Action, r Resource) error {
	if p == nil || p.UserID == "" {
		return errs.E(errs.Unauth, string(a), "authentication required", nil)
	}
	if p.ReadOnly && writes[a] {
		return errs.E(errs.Permission, string(a), "this token is read-only", nil)
	}
	if p.OnlyCustomerID != "" && r.CustomerID != p.OnlyCustomerID {
		if r.CustomerID != "" || a == ManageCustomer || a == ManageUsers {
			return errs.E(errs.Permission, string(a), "this token is limited to one customer", nil)
		}
	}
	if p.Role == tuku.RoleAdmin {
		return nil
	}
	return errs.E(errs.Permission, string(a), "permission denied", nil)
}

// CanSeeCustomer reports whether p may see anything of customer id. Lists
// filter with it so that hidden customers look like missing ones.
func CanSeeCustomer(p *Principal, id string) bool {
	return Check(p, ViewCustomer, Resource{CustomerID: id}) == nil
}
