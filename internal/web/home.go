package web

import (
	"net/http"

	"tuku/internal/service"
	"tuku/internal/tuku"
)

// The home page: what a member of staff looks for first thing — recent
// uploads they may see, their customers, storage used, and what waits for
// them (assets pending review where they may review).

// homeRecent and homeCustomers cap the home page's lists.
const (
	homeRecent    = 18
	homeCustomers = 12
)

// homeData is the home page's data.
type homeData struct {
	Recent         []tuku.Asset
	Customers      []tuku.Customer
	MoreCustomers  bool
	CustomerCount  int
	Stats          *service.LibraryStats
	CustomerByID   map[string]string // id → name, for the recent tiles
	CanAddCustomer bool
}

func (s *server) home(w http.ResponseWriter, r *http.Request) {
	p, u, ok := s.requireUser(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	d := &pageData{User: u, P: p, Nav: "home"}
	page, err := s.svc.ListAssets(ctx, p, service.AssetQuery{Limit: homeRecent})
	if err != nil {
		s.fail(w, r, d, err)
		return
	}
	cs, err := s.svc.ListCustomers(ctx, p)
	if err != nil {
		s.fail(w, r, d, err)
		return
	}
	st, err := s.svc.Stats(ctx, p)
	if err != nil {
		s.fail(w, r, d, err)
		return
	}
	hd := homeData{Recent: page.Assets, Stats: st, CustomerCount: len(cs), CustomerByID: make(map[string]string, len(cs)),
		CanAddCustomer: p.Role == tuku.RoleAdmin}
	for _, c := range cs {
		hd.CustomerByID[c.ID] = c.Name
	}
	if len(cs) > homeCustomers {
		cs, hd.MoreCustomers = cs[:homeCustomers], true
	}
	hd.Customers = cs
	d.Data = hd
	s.fill(r, d)
	d.Title = d.T("home.title")
	s.render(w, r, "home", d)
}
