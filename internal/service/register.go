package service

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"tuku/internal/authz"
	"tuku/internal/errs"
	"tuku/internal/meta"
	"tuku/internal/tuku"
)

// NewCustomer are the fields of a customer to create.
type NewCustomer struct {
	Name        string
	Code        string // optional; derived from the name when empty
	Contact     string
	Notes       string
	Sensitivity tuku.Sensitivity // default internal
}

// CreateCustomer files a new customer.
func (s *Service) CreateCustomer(ctx context.Context, p *authz.Principal, in NewCustomer) (*tuku.Customer, error) {
	if err := authz.Check(p, authz.ManageCustomer, authz.Resource{}); err != nil {
		return nil, err
	}
	c := &tuku.Customer{
		ID:          tuku.NewID(),
		Name:        cleanText(in.Name, 200),
		Code:        strings.TrimSpace(in.Code),
		Contact:     cleanText(in.Contact, 500),
		Notes:       cleanText(in.Notes, 4000),
		Sensitivity: in.Sensitivity,
	}
	if c.Name == "" {
		return nil, errs.E(errs.Invalid, "customer.create", "a customer needs a name", nil)
	}
	if c.Sensitivity == "" {
		c.Sensitivity = tuku.Internal
	}
	if !c.Sensitivity.Valid() {
		return nil, errs.Ef(errs.Invalid, "customer.create", "unknown sensitivity %q (public, internal, confidential, restricted)", c.Sensitivity)
	}
	if c.Code != "" {
		if err := validCode(c.Code); err != nil {
			return nil, err
		}
	}
	now := s.now().UTC()
	c.CreatedAt, c.UpdatedAt = now, now
	err := s.meta.Tx(ctx, func(tx meta.Tx) error {
		if c.Code == "" {
			code, err := freeCode(ctx, tx, c.Name)
			if err != nil {
				return err
			}
			c.Code = code
		}
		if err := tx.CreateCustomer(ctx, c); err != nil {
			return err
		}
		return s.audit(ctx, tx, p, tuku.AuditEvent{Action: "customer.create", TargetType: "customer", TargetID: c.ID,
			CustomerID: c.ID, Detail: auditDetail(map[string]string{"name": c.Name, "code": c.Code, "sensitivity": string(c.Sensitivity)})})
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// validCode accepts letters (any script), digits, '-' and '_', up to 32.
func validCode(code string) error {
	if utf8.RuneCountInString(code) > 32 {
		return errs.E(errs.Invalid, "customer", "a customer code has at most 32 characters", nil)
	}
	for _, r := range code {
		if !(unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '_') {
			return errs.Ef(errs.Invalid, "customer", "a customer code may hold letters, digits, '-' and '_' only, not %q", r)
		}
	}
	return nil
}

// freeCode derives an unused code from a name: its letters and digits (a
// Chinese name keeps its characters), then -2, -3… if taken.
func freeCode(ctx context.Context, tx meta.Tx, name string) (string, error) {
	var b strings.Builder
	for _, r := range name {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(r)
		}
		if utf8.RuneCountInString(b.String()) >= 16 {
			break
		}
	}
	base := b.String()
	if base == "" {
		base = "C"
	}
	for i := 1; i < 1000; i++ {
		code := base
		if i > 1 {
			code = base + "-" + strconv.Itoa(i)
		}
		_, err := tx.GetCustomerByCode(ctx, code)
		if errors.Is(err, errs.NotFound) {
			return code, nil
		}
		if err != nil {
			return "", err
		}
	}
	return "", errs.E(errs.Conflict, "customer.create", "no free customer code; give one explicitly", nil)
}

// ResolveCustomer finds a customer by ID or code, as the CLI and API accept
// either. A customer the principal may not see is reported as not found.
func (s *Service) ResolveCustomer(ctx context.Context, p *authz.Principal, ref string) (*tuku.Customer, error) {
	var c *tuku.Customer
	err := s.meta.View(ctx, func(tx meta.Tx) error {
		var err error
		c, err = resolveCustomer(ctx, tx, ref)
		return err
	})
	if err != nil {
		return nil, err
	}
	if !authz.CanSeeCustomer(p, c.ID) {
		return nil, notFound("customer")
	}
	return c, nil
}

func resolveCustomer(ctx context.Context, tx meta.Tx, ref string) (*tuku.Customer, error) {
	ref = strings.TrimSpace(ref)
	if ref == "" {
		return nil, errs.E(errs.Invalid, "customer", "no customer given", nil)
	}
	if tuku.ValidID(ref) {
		c, err := tx.GetCustomer(ctx, ref)
		if err == nil {
			return c, nil
		}
		if !errors.Is(err, errs.NotFound) {
			return nil, err
		}
	}
	c, err := tx.GetCustomerByCode(ctx, ref)
	if errors.Is(err, errs.NotFound) {
		return nil, notFound("customer")
	}
	return c, err
}

// ListCustomers lists the customers the principal may see.
func (s *Service) ListCustomers(ctx context.Context, p *authz.Principal) ([]tuku.Customer, error) {
	if p == nil || p.UserID == "" {
		return nil, errs.E(errs.Unauth, "customer.list", "authentication required", nil)
	}
	var all []tuku.Customer
	err := s.meta.View(ctx, func(tx meta.Tx) error {
		var err error
		all, err = tx.ListCustomers(ctx)
		return err
	})
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, c := range all {
		if authz.CanSeeCustomer(p, c.ID) {
			out = append(out, c)
		}
	}
	return out, nil
}

// CreateProject files a project under a customer (by ID or code).
func (s *Service) CreateProject(ctx context.Context, p *authz.Principal, customerRef, name, notes string) (*tuku.Project, error) {
	name = cleanText(name, 200)
	if name == "" {
		return nil, errs.E(errs.Invalid, "project.create", "a project needs a name", nil)
	}
	var pr *tuku.Project
	err := s.meta.Tx(ctx, func(tx meta.Tx) error {
		c, err := resolveCustomer(ctx, tx, customerRef)
		if err != nil {
			return err
		}
		if !authz.CanSeeCustomer(p, c.ID) {
			return notFound("customer")
		}
		if err := authz.Check(p, authz.ManageCustomer, authz.Resource{CustomerID: c.ID}); err != nil {
			return err
		}
		pr = &tuku.Project{ID: tuku.NewID(), CustomerID: c.ID, Name: name, Notes: cleanText(notes, 4000), CreatedAt: s.now().UTC()}
		if err := tx.CreateProject(ctx, pr); err != nil {
			return err
		}
		return s.audit(ctx, tx, p, tuku.AuditEvent{Action: "project.create", TargetType: "project", TargetID: pr.ID,
			CustomerID: c.ID, Detail: auditDetail(map[string]string{"name": pr.Name})})
	})
	if err != nil {
		return nil, err
	}
	return pr, nil
}

// ListProjects lists a customer's projects.
func (s *Service) ListProjects(ctx context.Context, p *authz.Principal, customerRef string) ([]tuku.Project, error) {
	var out []tuku.Project
	err := s.meta.View(ctx, func(tx meta.Tx) error {
		c, err := resolveCustomer(ctx, tx, customerRef)
		if err != nil {
			return err
		}
		if !authz.CanSeeCustomer(p, c.ID) {
			return notFound("customer")
		}
		all, err := tx.ListProjects(ctx, c.ID)
		// A member granted one project sees that project only.
		for _, pr := range all {
			if authz.Check(p, authz.ViewCustomer, authz.Resource{CustomerID: c.ID, ProjectID: pr.ID}) == nil {
				out = append(out, pr)
			}
		}
		return err
	})
	return out, err
}

// resolveProject finds a project of customer c by ID or name.
func resolveProject(ctx context.Context, tx meta.Tx, c *tuku.Customer, ref string) (*tuku.Project, error) {
	ref = strings.TrimSpace(ref)
	if tuku.ValidID(ref) {
		p, err := tx.GetProject(ctx, ref)
		if err == nil && p.CustomerID == c.ID {
			return p, nil
		}
		if err != nil && !errors.Is(err, errs.NotFound) {
			return nil, err
		}
	}
	ps, err := tx.ListProjects(ctx, c.ID)
	if err != nil {
		return nil, err
	}
	for i := range ps {
		if ps[i].Name == ref {
			return &ps[i], nil
		}
	}
	return nil, projectNotFound(c, ref)
}

func projectNotFound(c *tuku.Customer, ref string) error {
	return errs.Ef(errs.NotFound, "project", "customer %s has no project %q", c.Code, strings.TrimSpace(ref))
}

// resolveVisibleProject is resolveProject for p: a project p may not see
// answers exactly like a missing one.
func resolveVisibleProject(ctx context.Context, tx meta.Tx, p *authz.Principal, c *tuku.Customer, ref string) (*tuku.Project, error) {
	pr, err := resolveProject(ctx, tx, c, ref)
	if err != nil {
		return nil, err
	}
	if authz.Check(p, authz.ViewCustomer, authz.Resource{CustomerID: c.ID, ProjectID: pr.ID}) != nil {
		return nil, projectNotFound(c, ref)
	}
	return pr, nil
}

func notFound(what string) error {
	return errs.E(errs.NotFound, what, what+" not found", nil)
}

// cleanText trims, drops control and format characters (keeping newlines
// and tabs) and caps a user-supplied string at max bytes.
func cleanText(s string, max int) string {
	s = strings.ToValidUTF8(s, "")
	s = strings.Map(func(r rune) rune {
		if r == '\n' || r == '\t' {
			return r
		}
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return -1
		}
		return r
	}, s)
	return truncateUTF8(strings.TrimSpace(s), max)
}
