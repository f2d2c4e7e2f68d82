package web

import (
	"context"
	"net/http"
	"net/url"

	"tuku/internal/authz"
	"tuku/internal/errs"
	"tuku/internal/service"
	"tuku/internal/tuku"
)

// Customers: the list with search, counts and last activity; creating
// (admins) and editing (admins and the customer's managers) a customer;
// the customer page with its projects and its gallery; a project's page.

// customersData is customers.html's data.
type customersData struct {
	Q         string
	Customers []service.CustomerSummary
	CanCreate bool
	// Form holds what was typed into the create form when it failed.
	Form   customerForm
	Failed bool
}

type customerForm struct {
	Name, Code, Contact, Notes, Sensitivity string
}

func (customersData) Sensitivities() []string { return galleryData{}.Sensitivities() }

func (s *server) customersPage(w http.ResponseWriter, r *http.Request) {
	p, u, ok := s.requireUser(w, r)
	if !ok {
		return
	}
	s.showCustomers(w, r, &pageData{User: u, P: p, Nav: "customers"}, customerForm{Sensitivity: "internal"}, nil)
}

// showCustomers renders the list; formErr, when not nil, is why the
// create form failed (shown with what was typed).
func (s *server) showCustomers(w http.ResponseWriter, r *http.Request, d *pageData, form customerForm, formErr error) {
	q := r.URL.Query().Get("q")
	list, err := s.svc.CustomerSummaries(r.Context(), d.P, q)
	if err != nil {
		s.fail(w, r, d, err)
		return
	}
	s.fill(r, d)
	cd := customersData{Q: q, Customers: list, CanCreate: d.Can(string(authz.ManageCustomer), "", ""), Form: form}
	if formErr != nil {
		cd.Failed = true
		d.Flash = append(d.Flash, Flash{Kind: "error", Text: errs.Message(formErr)})
	}
	if r.URL.Query().Get("ok") == "created" {
		d.Flash = append(d.Flash, Flash{Kind: "ok", Text: d.T("customers.created")})
	}
	d.Data = cd
	d.Title = d.T("customers.title")
	status := http.StatusOK
	if formErr != nil {
		status = httpapi400(formErr)
	}
	s.renderStatus(w, r, status, "customers", "layout", d)
}

func (s *server) customerCreate(w http.ResponseWriter, r *http.Request) {
	p, u, ok := s.requireUser(w, r)
	if !ok {
		return
	}
	form := customerForm{Name: r.PostFormValue("name"), Code: r.PostFormValue("code"), Contact: r.PostFormValue("contact"),
		Notes: r.PostFormValue("notes"), Sensitivity: r.PostFormValue("sensitivity")}
	c, err := s.svc.CreateCustomer(r.Context(), p, service.NewCustomer{Name: form.Name, Code: form.Code, Contact: form.Contact,
		Notes: form.Notes, Sensitivity: tuku.Sensitivity(form.Sensitivity)})
	d := &pageData{User: u, P: p, Nav: "customers"}
	if err == nil {
		http.Redirect(w, r, "/customers/"+c.ID+"?ok=created", http.StatusSeeOther)
		return
	}
	if k := errs.KindOf(err); k == errs.Invalid || k == errs.Conflict {
		s.showCustomers(w, r, d, form, err)
		return
	}
	s.fail(w, r, d, err)
}

// httpapi400 is the status of a form error: 409 for a conflict (a code
// already taken), else 400.
func httpapi400(err error) int {
	if errs.KindOf(err) == errs.Conflict {
		return http.StatusConflict
	}
	return http.StatusBadRequest
}

// customerData is customer.html's data: the record, its projects and
// its gallery.
type customerData struct {
	galleryData
	CanManage bool
	Editing   bool
	Form      customerForm
}

func (s *server) customerPage(w http.ResponseWriter, r *http.Request) {
	p, u, ok := s.requireUser(w, r)
	if !ok {
		return
	}
	s.showCustomer(w, r, &pageData{User: u, P: p, Nav: "customers"}, r.PathValue("id"), "", nil, nil)
}

// customerWithProjects reads a customer (ID or code) and its projects as
// p may see them; a hidden customer is NotFound.
func (s *server) customerWithProjects(ctx context.Context, p *authz.Principal, ref string) (*tuku.Customer, []tuku.Project, error) {
	c, err := s.svc.ResolveCustomer(ctx, p, ref)
	if err != nil {
		return nil, nil, err
	}
	prs, err := s.svc.ListProjects(ctx, p, c.ID)
	if err != nil {
		return nil, nil, err
	}
	return c, prs, nil
}

// showCustomer renders a customer's page, or (projectRef != "") one of its
// projects. formErr is why the edit or new-project form failed.
func (s *server) showCustomer(w http.ResponseWriter, r *http.Request, d *pageData, ref, projectRef string, form *customerForm, formErr error) {
	ctx := r.Context()
	c, prs, err := s.customerWithProjects(ctx, d.P, ref)
	if err != nil {
		s.fail(w, r, d, err)
		return
	}
	s.fill(r, d)
	f := readFilter(r.URL.Query())
	f.Customer = c.ID
	cd := customerData{galleryData: galleryData{Kind: "customer", Customer: c, Projects: prs, Filter: f}}
	if projectRef != "" {
		var pr *tuku.Project
		for i := range prs {
			if prs[i].ID == projectRef {
				pr = &prs[i]
			}
		}
		if pr == nil {
			s.fail(w, r, d, errs.E(errs.NotFound, "project", "project not found", nil))
			return
		}
		cd.Kind, cd.Project = "project", pr
		cd.Filter.Project = pr.ID
	} else if f.Project != "" {
		for i := range prs {
			if prs[i].ID == f.Project {
				cd.Project = &prs[i]
			}
		}
	}
	pid := ""
	if cd.Project != nil {
		pid = cd.Project.ID
	}
	cd.CanManage = d.Can(string(authz.ManageCustomer), c.ID, "")
	cd.CanEdit = d.Can(string(authz.EditAsset), c.ID, pid)
	cd.CanUpload = d.Can(string(authz.UploadAsset), c.ID, pid)
	if err := s.fillGallery(r, d.P, &cd.galleryData); err != nil {
		s.fail(w, r, d, err)
		return
	}
	cd.Form = customerForm{Name: c.Name, Code: c.Code, Contact: c.Contact, Notes: c.Notes, Sensitivity: string(c.Sensitivity)}
	if form != nil {
		cd.Form = *form
	}
	cd.Editing = r.URL.Query().Get("edit") == "1" || (formErr != nil && form != nil)
	status := http.StatusOK
	if formErr != nil {
		d.Flash = append(d.Flash, Flash{Kind: "error", Text: errs.Message(formErr)})
		status = httpapi400(formErr)
	}
	switch r.URL.Query().Get("ok") {
	case "created":
		d.Flash = append(d.Flash, Flash{Kind: "ok", Text: d.T("customers.created")})
	case "saved":
		d.Flash = append(d.Flash, Flash{Kind: "ok", Text: d.T("customer.saved")})
	case "project":
		d.Flash = append(d.Flash, Flash{Kind: "ok", Text: d.T("customer.projectcreated")})
	}
	d.Data = cd
	d.Title = c.Name
	if cd.Project != nil && cd.Kind == "project" {
		d.Title = cd.Project.Name + " · " + c.Name
	}
	s.renderStatus(w, r, status, "customer", "layout", d)
}

func (s *server) projectPage(w http.ResponseWriter, r *http.Request) {
	p, u, ok := s.requireUser(w, r)
	if !ok {
		return
	}
	s.showCustomer(w, r, &pageData{User: u, P: p, Nav: "customers"}, r.PathValue("id"), r.PathValue("pid"), nil, nil)
}

func (s *server) customerUpdate(w http.ResponseWriter, r *http.Request) {
	p, u, ok := s.requireUser(w, r)
	if !ok {
		return
	}
	form := customerForm{Name: r.PostFormValue("name"), Contact: r.PostFormValue("contact"),
		Notes: r.PostFormValue("notes"), Sensitivity: r.PostFormValue("sensitivity")}
	sens := tuku.Sensitivity(form.Sensitivity)
	c, err := s.svc.UpdateCustomer(r.Context(), p, r.PathValue("id"), service.CustomerEdit{Name: &form.Name,
		Contact: &form.Contact, Notes: &form.Notes, Sensitivity: &sens})
	d := &pageData{User: u, P: p, Nav: "customers"}
	if err == nil {
		http.Redirect(w, r, "/customers/"+c.ID+"?ok=saved", http.StatusSeeOther)
		return
	}
	if k := errs.KindOf(err); k == errs.Invalid || k == errs.Conflict {
		s.showCustomer(w, r, d, r.PathValue("id"), "", &form, err)
		return
	}
	s.fail(w, r, d, err)
}

func (s *server) projectCreate(w http.ResponseWriter, r *http.Request) {
	p, u, ok := s.requireUser(w, r)
	if !ok {
		return
	}
	pr, err := s.svc.CreateProject(r.Context(), p, r.PathValue("id"), r.PostFormValue("name"), r.PostFormValue("notes"))
	d := &pageData{User: u, P: p, Nav: "customers"}
	if err == nil {
		http.Redirect(w, r, "/customers/"+url.PathEscape(pr.CustomerID)+"/projects/"+url.PathEscape(pr.ID)+"?ok=project", http.StatusSeeOther)
		return
	}
	if k := errs.KindOf(err); k == errs.Invalid || k == errs.Conflict {
		s.showCustomer(w, r, d, r.PathValue("id"), "", nil, err)
		return
	}
	s.fail(w, r, d, err)
}
