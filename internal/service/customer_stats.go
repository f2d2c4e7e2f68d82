package service

import (
	"context"
	"errors"
	"strings"
	"time"

	"tuku/internal/authz"
	"tuku/internal/errs"
	"tuku/internal/meta"
	"tuku/internal/tuku"
)

// CustomerSummary is a customer with what a list of customers shows about
// it, counted over what the principal may see.
type CustomerSummary struct {
	tuku.Customer
	Assets   int64     `json:"assets"`
	Projects int       `json:"projects"`
	LastAt   time.Time `json:"last_at,omitzero"` // newest visible upload; zero when none
}

// CustomerSummaries lists the customers p may see whose name, code or
// contact contains q (any case; "" = all), with their counts and last
// activity, most recently active first.
func (s *Service) CustomerSummaries(ctx context.Context, p *authz.Principal, q string) ([]CustomerSummary, error) {
	cs, err := s.ListCustomers(ctx, p)
	if err != nil {
		return nil, err
	}
	q = strings.ToLower(strings.TrimSpace(q))
	scopes := assetScopes(p, authz.ViewAsset)
	out := make([]CustomerSummary, 0, len(cs))
	err = s.meta.View(ctx, func(tx meta.Tx) error {
		out = out[:0]
		for _, c := range cs {
			if q != "" && !strings.Contains(strings.ToLower(c.Name+"\x00"+c.Code+"\x00"+c.Contact), q) {
				continue
			}
			sum := CustomerSummary{Customer: c}
			f := meta.AssetFilter{CustomerID: c.ID, Scopes: scopes}
			n, err := tx.CountAssets(ctx, f)
			if err != nil {
				return err
			}
			sum.Assets = n
			if n > 0 {
				f.Limit = 1
				last, _, err := tx.ListAssets(ctx, f)
				if err != nil {
					return err
				}
				if len(last) > 0 {
					sum.LastAt = last[0].CreatedAt
				}
			}
			prs, err := tx.ListProjects(ctx, c.ID)
			if err != nil {
				return err
			}
			for _, pr := range prs {
				if authz.Check(p, authz.ViewCustomer, authz.Resource{CustomerID: c.ID, ProjectID: pr.ID}) == nil {
					sum.Projects++
				}
			}
			out = append(out, sum)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sortSummaries(out)
	return out, nil
}

// sortSummaries orders by last activity, newest first, then by name.
func sortSummaries(out []CustomerSummary) {
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && lessSummary(&out[j], &out[j-1]); j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
}

func lessSummary(a, b *CustomerSummary) bool {
	if !a.LastAt.Equal(b.LastAt) {
		return a.LastAt.After(b.LastAt)
	}
	return a.Name < b.Name
}

// CustomerEdit are the fields of a customer to change; nil = unchanged.
type CustomerEdit struct {
	Name        *string
	Contact     *string
	Notes       *string
	Sensitivity *tuku.Sensitivity
}

// UpdateCustomer edits a customer's record (its managers and admins). The
// code is fixed once given: display names already carry it.
func (s *Service) UpdateCustomer(ctx context.Context, p *authz.Principal, ref string, in CustomerEdit) (*tuku.Customer, error) {
	const op = "customer.update"
	var c *tuku.Customer
	err := s.meta.Tx(ctx, func(tx meta.Tx) error {
		var err error
		if c, err = resolveCustomer(ctx, tx, ref); err != nil {
			return err
		}
		if !authz.CanSeeCustomer(p, c.ID) {
			return notFound("customer")
		}
		if err := authz.Check(p, authz.ManageCustomer, authz.Resource{CustomerID: c.ID}); err != nil {
			return err
		}
		detail := map[string]string{}
		if in.Name != nil {
			n := cleanText(*in.Name, 200)
			if n == "" {
				return errs.E(errs.Invalid, op, "a customer needs a name", nil)
			}
			if n != c.Name {
				c.Name, detail["name"] = n, n
			}
		}
		if in.Contact != nil {
			if v := cleanText(*in.Contact, 500); v != c.Contact {
				c.Contact, detail["contact"] = v, v
			}
		}
		if in.Notes != nil {
			if v := cleanText(*in.Notes, 4000); v != c.Notes {
				c.Notes, detail["notes"] = v, "(changed)"
			}
		}
		if in.Sensitivity != nil {
			if !in.Sensitivity.Valid() {
				return errs.Ef(errs.Invalid, op, "unknown sensitivity %q (public, internal, confidential, restricted)", *in.Sensitivity)
			}
			if *in.Sensitivity != c.Sensitivity {
				c.Sensitivity, detail["sensitivity"] = *in.Sensitivity, string(*in.Sensitivity)
			}
		}
		if len(detail) == 0 {
			return nil
		}
		c.UpdatedAt = s.now().UTC()
		if err := tx.UpdateCustomer(ctx, c); err != nil {
			if errors.Is(err, errs.NotFound) {
				return notFound("customer")
			}
			return err
		}
		return s.audit(ctx, tx, p, tuku.AuditEvent{Action: "customer.update", TargetType: "customer", TargetID: c.ID,
			CustomerID: c.ID, Detail: auditDetail(detail)})
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}
