package httpapi

import (
	"net/http"

	"tuku/internal/authz"
	"tuku/internal/service"
	"tuku/internal/tuku"
)

// customerIn is the body of POST /api/v1/customers.
type customerIn struct {
	Name        string `json:"name"`
	Code        string `json:"code"`
	Contact     string `json:"contact"`
	Notes       string `json:"notes"`
	Sensitivity string `json:"sensitivity"`
}

func (s *server) createCustomer(w http.ResponseWriter, r *http.Request, p *authz.Principal) error {
	var in customerIn
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	c, err := s.svc.CreateCustomer(r.Context(), p, service.NewCustomer{
		Name: in.Name, Code: in.Code, Contact: in.Contact, Notes: in.Notes,
		Sensitivity: tuku.Sensitivity(in.Sensitivity),
	})
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/customers/"+c.ID)
	return writeJSON(w, http.StatusCreated, c)
}

func (s *server) listCustomers(w http.ResponseWriter, r *http.Request, p *authz.Principal) error {
	cs, err := s.svc.ListCustomers(r.Context(), p)
	if err != nil {
		return err
	}
	if cs == nil {
		cs = []tuku.Customer{}
	}
	return writeJSON(w, http.StatusOK, struct {
		Customers []tuku.Customer `json:"customers"`
	}{cs})
}

func (s *server) getCustomer(w http.ResponseWriter, r *http.Request, p *authz.Principal) error {
	c, err := s.svc.ResolveCustomer(r.Context(), p, r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, c)
}

// projectIn is the body of POST /api/v1/customers/{id}/projects.
type projectIn struct {
	Name  string `json:"name"`
	Notes string `json:"notes"`
}

func (s *server) createProject(w http.ResponseWriter, r *http.Request, p *authz.Principal) error {
	var in projectIn
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	pr, err := s.svc.CreateProject(r.Context(), p, r.PathValue("id"), in.Name, in.Notes)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, pr)
}

func (s *server) listProjects(w http.ResponseWriter, r *http.Request, p *authz.Principal) error {
	ps, err := s.svc.ListProjects(r.Context(), p, r.PathValue("id"))
	if err != nil {
		return err
	}
	if ps == nil {
		ps = []tuku.Project{}
	}
	return writeJSON(w, http.StatusOK, struct {
		Projects []tuku.Project `json:"projects"`
	}{ps})
}
