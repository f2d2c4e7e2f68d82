package web

import (
	"cmp"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"tuku/internal/errs"
	"tuku/internal/service"
	"tuku/internal/tuku"
)

// Owned by the WEB-ADMIN engineer: users, grants, API tokens, the audit
// log and settings. Every page here is for administrators except the API
// tokens page, where everyone manages their own tokens (and an
// administrator anyone's). The pages hide what a user may not do, but the
// service decides: every call below is checked there again.
//
// Forms post to the page's own path or to an action path under it, and
// answer with a redirect back (post/redirect/get) carrying ?ok=<key>, a
// message from the catalog ("admin.ok.<key>"). A refused form is shown
// again with the reason, status 4xx. A one-time secret (a new user's
// password, a token) is rendered in the answer to the POST itself and
// never put in a URL.

func (s *server) routesAdmin() {
	m := s.mux
	m.HandleFunc("GET /admin", s.adminIndex)
	m.HandleFunc("GET /admin/users", s.adminUsers)
	m.HandleFunc("POST /admin/users", s.adminUserCreate)
	m.HandleFunc("POST /admin/users/{id}/{action}", s.adminUserAction)
	m.HandleFunc("GET /admin/grants", s.adminGrants)
	m.HandleFunc("POST /admin/grants", s.adminGrantAdd)
	m.HandleFunc("POST /admin/grants/{id}/revoke", s.adminGrantRevoke)
	m.HandleFunc("GET /admin/audit", s.adminAudit)
	m.HandleFunc("GET /admin/audit.csv", s.adminAuditCSV)
	m.HandleFunc("GET /admin/settings", s.adminSettings)
	m.HandleFunc("POST /admin/settings", s.adminSettingsPost)
	m.HandleFunc("GET /account/tokens", s.tokensPage)
	m.HandleFunc("POST /account/tokens", s.tokenCreate)
	m.HandleFunc("POST /account/tokens/{id}/revoke", s.tokenRevoke)
}

// adminData is what every admin page's data embeds: the tab, whether the
// viewer is an administrator (the tabs), and the message of a refused
// form.
type adminData struct {
	Tab   string
	Error string
}

// adminPage authenticates r and, when admin is set, requires an
// administrator; otherwise it has answered and returns nil.
func (s *server) adminPage(w http.ResponseWriter, r *http.Request, tab string, admin bool) *pageData {
	p, u, ok := s.requireUser(w, r)
	if !ok {
		return nil
	}
	d := &pageData{User: u, P: p, Nav: "admin"}
	if tab == "tokens" {
		d.Nav = "account"
	}
	if admin && p.Role != tuku.RoleAdmin {
		s.fail(w, r, d, errs.E(errs.Permission, "admin", "administrators only", nil))
		return nil
	}
	s.fill(r, d)
	d.Title = d.T(tabTitleKey(tab))
	if key := r.URL.Query().Get("ok"); key != "" {
		// Only messages of the catalog: ?ok= never puts text of its own
		// on the page.
		if msg, found := d.cat["admin.ok."+key]; found {
			d.Flash = append(d.Flash, Flash{Kind: "ok", Text: msg})
		}
	}
	return d
}

// tabTitleKey is the catalog key of a tab's title (literal keys, so the
// catalog test sees them).
func tabTitleKey(tab string) string {
	switch tab {
	case "grants":
		return "admin.tab.grants"
	case "tokens":
		return "admin.tab.tokens"
	case "audit":
		return "admin.tab.audit"
	case "settings":
		return "admin.tab.settings"
	}
	return "admin.tab.users"
}

// formError is the message of a refused form and its status. Permission
// and unauthenticated errors are not form errors: they get the error page.
func formError(d *pageData, err error) (string, int, bool) {
	switch errs.KindOf(err) {
	case errs.Invalid, errs.Conflict, errs.NotFound, errs.TooLarge:
		return d.ErrText(err), httpStatusOf(err), true
	}
	return "", 0, false
}

// back redirects to path with ?ok=key (post/redirect/get).
func back(w http.ResponseWriter, r *http.Request, path, key string) {
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	http.Redirect(w, r, path+sep+"ok="+url.QueryEscape(key), http.StatusSeeOther)
}

func (s *server) adminIndex(w http.ResponseWriter, r *http.Request) {
	if d := s.adminPage(w, r, "users", true); d != nil {
		http.Redirect(w, r, "/admin/users", http.StatusSeeOther)
	}
}

// ---- users ----

type userRow struct {
	tuku.User
	MFA    bool
	Self   bool
	Grants int
}

type usersData struct {
	adminData
	Users []userRow
	// Created is set right after an invitation or a password reset: the
	// one-time password, shown once.
	Created *oneTime
	Form    newUserForm
}

type oneTime struct {
	Email    string
	Password string
	Reset    bool // a reset, not a new account
}

type newUserForm struct {
	Email, Name, Role string
}

func (s *server) adminUsers(w http.ResponseWriter, r *http.Request) {
	d := s.adminPage(w, r, "users", true)
	if d == nil {
		return
	}
	s.showUsers(w, r, d, usersData{Form: newUserForm{Role: string(tuku.RoleMember)}}, http.StatusOK)
}

func (s *server) showUsers(w http.ResponseWriter, r *http.Request, d *pageData, data usersData, status int) {
	ctx := r.Context()
	users, err := s.svc.ListUsers(ctx, d.P)
	if err != nil {
		s.fail(w, r, d, err)
		return
	}
	grants, err := s.svc.ListGrants(ctx, d.P, service.GrantQuery{})
	if err != nil {
		s.fail(w, r, d, err)
		return
	}
	perUser := map[string]int{}
	for _, g := range grants {
		perUser[g.UserID]++
	}
	data.Tab = "users"
	for _, u := range users {
		mfa, _, err := s.svc.MFAStatus(ctx, d.P, u.ID)
		if err != nil {
			s.fail(w, r, d, err)
			return
		}
		data.Users = append(data.Users, userRow{User: u, MFA: mfa, Self: u.ID == d.P.UserID, Grants: perUser[u.ID]})
	}
	// Enabled accounts first, then by email.
	slices.SortStableFunc(data.Users, func(a, b userRow) int {
		if a.Disabled != b.Disabled {
			if a.Disabled {
				return 1
			}
			return -1
		}
		return cmp.Compare(a.Email, b.Email)
	})
	d.Data = data
	s.renderStatus(w, r, status, "admin-users", "layout", d)
}

func (s *server) adminUserCreate(w http.ResponseWriter, r *http.Request) {
	d := s.adminPage(w, r, "users", true)
	if d == nil {
		return
	}
	form := newUserForm{Email: strings.TrimSpace(r.PostFormValue("email")), Name: strings.TrimSpace(r.PostFormValue("name")),
		Role: r.PostFormValue("role")}
	u, pw, err := s.svc.CreateUser(r.Context(), d.P, service.NewUser{Email: form.Email, DisplayName: form.Name, Role: tuku.Role(form.Role)})
	if err != nil {
		msg, status, ok := formError(d, err)
		if !ok {
			s.fail(w, r, d, err)
			return
		}
		if errs.KindOf(err) == errs.Conflict {
			msg = d.T("admin.users.exists", form.Email)
		}
		s.showUsers(w, r, d, usersData{adminData: adminData{Error: msg}, Form: form}, status)
		return
	}
	d.Flash = append(d.Flash, Flash{Kind: "ok", Text: d.T("admin.ok.user-created")})
	s.showUsers(w, r, d, usersData{Created: &oneTime{Email: u.Email, Password: pw}, Form: newUserForm{Role: string(tuku.RoleMember)}}, http.StatusOK)
}

// adminUserAction is one of the buttons of a user's row.
func (s *server) adminUserAction(w http.ResponseWriter, r *http.Request) {
	d := s.adminPage(w, r, "users", true)
	if d == nil {
		return
	}
	ctx, id := r.Context(), r.PathValue("id")
	var err error
	key := r.PathValue("action")
	switch key {
	case "disable":
		_, err = s.svc.DisableUser(ctx, d.P, id)
	case "enable":
		_, err = s.svc.EnableUser(ctx, d.P, id)
	case "mfa-reset":
		err = s.svc.ResetMFA(ctx, d.P, id)
	case "role":
		_, err = s.svc.SetUserRole(ctx, d.P, id, tuku.Role(r.PostFormValue("role")))
	case "password":
		var pw string
		pw, err = s.svc.SetPassword(ctx, d.P, id, "")
		if err == nil {
			var u *tuku.User
			if u, err = s.svc.User(ctx, d.P, id); err == nil {
				d.Flash = append(d.Flash, Flash{Kind: "ok", Text: d.T("admin.ok.password")})
				s.showUsers(w, r, d, usersData{Created: &oneTime{Email: u.Email, Password: pw, Reset: true}, Form: newUserForm{Role: string(tuku.RoleMember)}}, http.StatusOK)
				return
			}
		}
	default:
		s.notFound(w, r)
		return
	}
	if err != nil {
		msg, status, ok := formError(d, err)
		if !ok {
			s.fail(w, r, d, err)
			return
		}
		s.showUsers(w, r, d, usersData{adminData: adminData{Error: msg}, Form: newUserForm{Role: string(tuku.RoleMember)}}, status)
		return
	}
	back(w, r, "/admin/users", key)
}

// ---- grants ----

type grantRow struct {
	service.GrantInfo
	Customer string // name
	Project  string // name, "" for the whole customer
	Level    string
}

// scopeGroup is a customer and its projects, for the scope select.
type scopeGroup struct {
	Customer tuku.Customer
	Projects []tuku.Project
}

type grantsData struct {
	adminData
	Grants   []grantRow
	Scopes   []scopeGroup
	Members  []tuku.User
	Levels   []string
	Customer string // the list's filters: customer ID, user ID; "" = all
	User     string
	Form     grantForm
}

type grantForm struct {
	User, Scope, Level string
	Confidential       bool
}

func (s *server) adminGrants(w http.ResponseWriter, r *http.Request) {
	d := s.adminPage(w, r, "grants", true)
	if d == nil {
		return
	}
	q := r.URL.Query()
	s.showGrants(w, r, d, grantsData{Customer: q.Get("customer"), User: q.Get("user"), Form: grantForm{Level: "viewer"}}, http.StatusOK)
}

func (s *server) showGrants(w http.ResponseWriter, r *http.Request, d *pageData, data grantsData, status int) {
	ctx := r.Context()
	data.Tab = "grants"
	custs, err := s.svc.ListCustomers(ctx, d.P)
	if err != nil {
		s.fail(w, r, d, err)
		return
	}
	custName := map[string]string{}
	projName := map[string]string{}
	for _, c := range custs {
		custName[c.ID] = c.Name
		ps, err := s.svc.ListProjects(ctx, d.P, c.ID)
		if err != nil {
			s.fail(w, r, d, err)
			return
		}
		for _, p := range ps {
			projName[p.ID] = p.Name
		}
		data.Scopes = append(data.Scopes, scopeGroup{Customer: c, Projects: ps})
	}
	if data.Customer != "" && custName[data.Customer] == "" {
		data.Customer = "" // an unknown filter lists everything
	}
	grants, err := s.svc.ListGrants(ctx, d.P, service.GrantQuery{Customer: data.Customer, User: data.User})
	if errs.KindOf(err) == errs.NotFound && data.User != "" {
		// A user filter naming no one: nothing to list.
		grants, err = nil, nil
	}
	if err != nil {
		s.fail(w, r, d, err)
		return
	}
	for _, g := range grants {
		data.Grants = append(data.Grants, grantRow{GrantInfo: g, Customer: custName[g.CustomerID], Project: projName[g.ProjectID], Level: g.Grant.Level.String()})
	}
	slices.SortStableFunc(data.Grants, func(a, b grantRow) int {
		return cmp.Or(cmp.Compare(a.Customer, b.Customer), cmp.Compare(a.Project, b.Project), cmp.Compare(a.UserEmail, b.UserEmail))
	})
	users, err := s.svc.ListUsers(ctx, d.P)
	if err != nil {
		s.fail(w, r, d, err)
		return
	}
	for _, u := range users {
		// Administrators see everything without grants.
		if u.Role == tuku.RoleMember && !u.Disabled {
			data.Members = append(data.Members, u)
		}
	}
	slices.SortFunc(data.Members, func(a, b tuku.User) int { return cmp.Compare(a.Email, b.Email) })
	for l := tuku.LevelViewer; l <= tuku.LevelManager; l++ {
		data.Levels = append(data.Levels, l.String())
	}
	d.Data = data
	s.renderStatus(w, r, status, "admin-grants", "layout", d)
}

func (s *server) adminGrantAdd(w http.ResponseWriter, r *http.Request) {
	d := s.adminPage(w, r, "grants", true)
	if d == nil {
		return
	}
	form := grantForm{User: r.PostFormValue("user"), Scope: r.PostFormValue("scope"), Level: r.PostFormValue("level"),
		Confidential: r.PostFormValue("confidential") != ""}
	// The scope is "CUSTOMER" or "CUSTOMER/PROJECT" (IDs).
	cust, proj, _ := strings.Cut(form.Scope, "/")
	level, ok := tuku.ParseLevel(form.Level)
	var err error
	switch {
	case form.User == "":
		err = errs.E(errs.Invalid, "grant.add", d.T("admin.grants.pickuser"), nil)
	case cust == "":
		err = errs.E(errs.Invalid, "grant.add", d.T("admin.grants.pickscope"), nil)
	case !ok:
		err = errs.Ef(errs.Invalid, "grant.add", "unknown level %q", form.Level)
	default:
		_, err = s.svc.GrantAccess(r.Context(), d.P, form.User, cust, proj, level, form.Confidential)
	}
	if err != nil {
		msg, status, ok := formError(d, err)
		if !ok {
			s.fail(w, r, d, err)
			return
		}
		s.showGrants(w, r, d, grantsData{adminData: adminData{Error: msg}, Form: form}, status)
		return
	}
	back(w, r, "/admin/grants", "grant-added")
}

func (s *server) adminGrantRevoke(w http.ResponseWriter, r *http.Request) {
	d := s.adminPage(w, r, "grants", true)
	if d == nil {
		return
	}
	if err := s.svc.RevokeGrant(r.Context(), d.P, r.PathValue("id")); err != nil {
		msg, status, ok := formError(d, err)
		if !ok {
			s.fail(w, r, d, err)
			return
		}
		s.showGrants(w, r, d, grantsData{adminData: adminData{Error: msg}, Form: grantForm{Level: "viewer"}}, status)
		return
	}
	back(w, r, "/admin/grants", "grant-revoked")
}

// ---- API tokens ----

type tokenRow struct {
	tuku.Token
	Customer string
}

type tokensData struct {
	adminData
	Owner     *tuku.User // whose tokens
	Self      bool
	Tokens    []tokenRow
	Customers []tuku.Customer
	Users     []tuku.User // administrators: whose tokens to show
	// Secret is a token just created, shown once.
	Secret string
	Name   string
}

// tokenOwner is the user whose tokens the page is about: ?user= (ID or
// email; administrators) or the viewer.
func (s *server) tokenOwner(r *http.Request, d *pageData) (*tuku.User, error) {
	ref := strings.TrimSpace(r.FormValue("user"))
	if ref == "" || ref == d.P.UserID {
		return d.User, nil
	}
	return s.svc.User(r.Context(), d.P, ref)
}

func (s *server) tokensPage(w http.ResponseWriter, r *http.Request) {
	d := s.adminPage(w, r, "tokens", false)
	if d == nil {
		return
	}
	s.showTokens(w, r, d, tokensData{}, http.StatusOK)
}

func (s *server) showTokens(w http.ResponseWriter, r *http.Request, d *pageData, data tokensData, status int) {
	ctx := r.Context()
	owner, err := s.tokenOwner(r, d)
	if err != nil {
		s.fail(w, r, d, err)
		return
	}
	data.Tab, data.Owner, data.Self = "tokens", owner, owner.ID == d.P.UserID
	toks, err := s.svc.ListTokens(ctx, d.P, owner.ID)
	if err != nil {
		s.fail(w, r, d, err)
		return
	}
	if data.Customers, err = s.svc.ListCustomers(ctx, d.P); err != nil {
		s.fail(w, r, d, err)
		return
	}
	names := map[string]string{}
	for _, c := range data.Customers {
		names[c.ID] = c.Name
	}
	// Live tokens first, newest first.
	slices.SortStableFunc(toks, func(a, b tuku.Token) int {
		if (a.RevokedAt == nil) != (b.RevokedAt == nil) {
			if a.RevokedAt == nil {
				return -1
			}
			return 1
		}
		return b.CreatedAt.Compare(a.CreatedAt)
	})
	for _, t := range toks {
		row := tokenRow{Token: t, Customer: names[t.CustomerID]}
		if t.CustomerID != "" && row.Customer == "" {
			row.Customer = t.CustomerID
		}
		data.Tokens = append(data.Tokens, row)
	}
	if d.P.Role == tuku.RoleAdmin {
		if data.Users, err = s.svc.ListUsers(ctx, d.P); err != nil {
			s.fail(w, r, d, err)
			return
		}
		slices.SortFunc(data.Users, func(a, b tuku.User) int { return cmp.Compare(a.Email, b.Email) })
	}
	d.Data = data
	s.renderStatus(w, r, status, "admin-tokens", "layout", d)
}

// tokensPath is the tokens page of owner as seen by d's user.
func tokensPath(d *pageData, owner *tuku.User) string {
	if owner == nil || owner.ID == d.P.UserID {
		return "/account/tokens"
	}
	return "/account/tokens?user=" + url.QueryEscape(owner.ID)
}

func (s *server) tokenCreate(w http.ResponseWriter, r *http.Request) {
	d := s.adminPage(w, r, "tokens", false)
	if d == nil {
		return
	}
	owner, err := s.tokenOwner(r, d)
	if err != nil {
		s.fail(w, r, d, err)
		return
	}
	name := strings.TrimSpace(r.PostFormValue("name"))
	if name == "" {
		s.showTokens(w, r, d, tokensData{adminData: adminData{Error: d.T("admin.tokens.needname")}}, http.StatusUnprocessableEntity)
		return
	}
	_, secret, err := s.svc.CreateToken(r.Context(), d.P, service.NewToken{Email: owner.Email, Name: name,
		ReadOnly: r.PostFormValue("readonly") != "", CustomerID: r.PostFormValue("customer")})
	if err != nil {
		msg, status, ok := formError(d, err)
		if !ok {
			s.fail(w, r, d, err)
			return
		}
		s.showTokens(w, r, d, tokensData{adminData: adminData{Error: msg}}, status)
		return
	}
	d.Flash = append(d.Flash, Flash{Kind: "ok", Text: d.T("admin.ok.token-created")})
	s.showTokens(w, r, d, tokensData{Secret: secret, Name: name}, http.StatusOK)
}

func (s *server) tokenRevoke(w http.ResponseWriter, r *http.Request) {
	d := s.adminPage(w, r, "tokens", false)
	if d == nil {
		return
	}
	owner, err := s.tokenOwner(r, d)
	if err != nil {
		s.fail(w, r, d, err)
		return
	}
	if err := s.svc.RevokeToken(r.Context(), d.P, r.PathValue("id")); err != nil {
		msg, status, ok := formError(d, err)
		if !ok {
			s.fail(w, r, d, err)
			return
		}
		s.showTokens(w, r, d, tokensData{adminData: adminData{Error: msg}}, status)
		return
	}
	back(w, r, tokensPath(d, owner), "token-revoked")
}

// ---- audit log ----

type auditRow struct {
	tuku.AuditEvent
	Customer string
	Detail   []kv
}

type kv struct{ K, V string }

type auditData struct {
	adminData
	Q         service.AuditQuery
	Rows      []auditRow
	Next      string // URL of the next page, "" = none
	CSV       string // URL of the export with the same filters
	Outcomes  []string
	Customers []tuku.Customer
	Actions   []string // suggestions for the action filter
}

// auditActions are suggestions for the action filter: prefixes ending in
// "." select a family.
func auditActions() []string {
	return []string{"asset.", "asset.upload", "asset.edit", "asset.download", "grant.", "grant.add", "grant.revoke",
		"user.", "user.create", "user.disable", "user.role", "user.mfa_reset", "user.password_set", "token.",
		"auth.", "auth.login", "settings.update", "audit.export", "customer."}
}

// auditQuery reads the filters of the audit page and its export.
func auditQuery(r *http.Request) service.AuditQuery {
	q := r.URL.Query()
	get := func(k string) string { return strings.TrimSpace(q.Get(k)) }
	return service.AuditQuery{Actor: get("actor"), Action: get("action"), Target: get("target"), Customer: get("customer"),
		Outcome: get("outcome"), From: get("from"), To: get("to"), Cursor: get("cursor"), Limit: 50}
}

// auditValues are q's filters as a query string (without the cursor).
func auditValues(q service.AuditQuery) url.Values {
	v := url.Values{}
	for k, x := range map[string]string{"actor": q.Actor, "action": q.Action, "target": q.Target, "customer": q.Customer,
		"outcome": q.Outcome, "from": q.From, "to": q.To} {
		if x != "" {
			v.Set(k, x)
		}
	}
	return v
}

func (s *server) adminAudit(w http.ResponseWriter, r *http.Request) {
	d := s.adminPage(w, r, "audit", true)
	if d == nil {
		return
	}
	ctx := r.Context()
	data := auditData{adminData: adminData{Tab: "audit"}, Q: auditQuery(r), Outcomes: []string{service.OutcomeOK, service.OutcomeDenied, service.OutcomeFailed}, Actions: auditActions()}
	var err error
	if data.Customers, err = s.svc.ListCustomers(ctx, d.P); err != nil {
		s.fail(w, r, d, err)
		return
	}
	names := map[string]string{}
	for _, c := range data.Customers {
		names[c.ID] = c.Name
	}
	status := http.StatusOK
	page, err := s.svc.ListAudit(ctx, d.P, data.Q)
	if err != nil {
		msg, st, ok := formError(d, err)
		if !ok {
			s.fail(w, r, d, err)
			return
		}
		data.Error, status = msg, st
		page = &service.AuditPage{}
	}
	for _, e := range page.Events {
		row := auditRow{AuditEvent: e, Customer: names[e.CustomerID]}
		row.Detail = detailPairs(e.Detail)
		data.Rows = append(data.Rows, row)
	}
	v := auditValues(data.Q)
	data.CSV = "/admin/audit.csv"
	if len(v) > 0 {
		data.CSV += "?" + v.Encode()
	}
	if page.NextCursor != "" {
		v.Set("cursor", page.NextCursor)
		data.Next = "/admin/audit?" + v.Encode()
	}
	d.Data = data
	s.renderStatus(w, r, status, "admin-audit", "layout", d)
}

// detailPairs splits an audit detail (a JSON object of strings, as the
// service writes it) into pairs for display; anything else is one value.
func detailPairs(detail string) []kv {
	if detail == "" {
		return nil
	}
	m, ok := parseDetail(detail)
	if !ok {
		return []kv{{V: detail}}
	}
	out := make([]kv, 0, len(m))
	for k, v := range m {
		if v != "" {
			out = append(out, kv{k, v})
		}
	}
	slices.SortFunc(out, func(a, b kv) int { return cmp.Compare(a.K, b.K) })
	return out
}

func (s *server) adminAuditCSV(w http.ResponseWriter, r *http.Request) {
	d := s.adminPage(w, r, "audit", true)
	if d == nil {
		return
	}
	q := auditQuery(r)
	// Check the filters before the header goes out, so a bad date is an
	// error page and not a broken download.
	q.Limit = 1
	if _, err := s.svc.ListAudit(r.Context(), d.P, q); err != nil {
		s.fail(w, r, d, err)
		return
	}
	q.Cursor = ""
	name := "tuku-audit-" + time.Now().UTC().Format("20060102-150405") + ".csv"
	h := w.Header()
	h.Set("Content-Type", "text/csv; charset=utf-8")
	h.Set("Content-Disposition", `attachment; filename="`+name+`"`)
	// A UTF-8 byte order mark: spreadsheet programs read the Chinese in
	// the file correctly only with it.
	_, _ = w.Write([]byte("\xef\xbb\xbf"))
	if err := s.svc.ExportAuditCSV(r.Context(), d.P, q, w); err != nil {
		// Half a file went out: all we can do is log and cut it short.
		s.log.Error("web: audit export", "err", err)
		panic(http.ErrAbortHandler)
	}
}

// ---- settings ----

type settingsData struct {
	adminData
	Info *service.SettingsInfo
	// The form's values, in the units people type: MB and megapixels.
	Template              string
	MaxMB, MaxMP          string
	MaxSide, MaxFrames    string
	DefMB, DefMP          int64
	Example, ExampleError string
	// RequireMFA is the form's choice: "" (as the server is configured),
	// "admin" or "all".
	RequireMFA string
}

func (s *server) adminSettings(w http.ResponseWriter, r *http.Request) {
	d := s.adminPage(w, r, "settings", true)
	if d == nil {
		return
	}
	info, err := s.svc.GetSettings(r.Context(), d.P)
	if err != nil {
		s.fail(w, r, d, err)
		return
	}
	c := info.Current
	s.showSettings(w, r, d, settingsData{Info: info, Template: c.NamingTemplate, MaxMB: mbString(c.MaxBytes),
		MaxMP: mpString(c.MaxPixels), MaxSide: strconv.Itoa(c.MaxSide), MaxFrames: strconv.Itoa(c.MaxFrames),
		RequireMFA: c.RequireMFA}, http.StatusOK)
}

func (s *server) showSettings(w http.ResponseWriter, r *http.Request, d *pageData, data settingsData, status int) {
	data.Tab = "settings"
	if data.Info == nil {
		info, err := s.svc.GetSettings(r.Context(), d.P)
		if err != nil {
			s.fail(w, r, d, err)
			return
		}
		data.Info = info
	}
	data.DefMB, data.DefMP = data.Info.Defaults.MaxBytes>>20, data.Info.Defaults.MaxPixels/1_000_000
	data.Example = exampleName(data.Template, d)
	d.Data = data
	s.renderStatus(w, r, status, "admin-settings", "layout", d)
}

// exampleName shows what template makes of a sample upload.
func exampleName(tmpl string, d *pageData) string {
	n, err := service.ParseNamingTemplate(tmpl)
	if err != nil {
		return ""
	}
	return n.Name(service.NameInput{CustomerCode: "ACME", CustomerName: d.T("admin.settings.sample.customer"),
		Project: d.T("admin.settings.sample.project"), Date: time.Date(2026, 3, 8, 14, 30, 0, 0, time.UTC),
		Desc: d.T("admin.settings.sample.desc"), Category: "product", Orig: "IMG_0042", Ext: "jpg"}, 1)
}

func mbString(n int64) string {
	if n%(1<<20) == 0 {
		return strconv.FormatInt(n>>20, 10)
	}
	return strconv.FormatFloat(float64(n)/(1<<20), 'f', 2, 64)
}

func mpString(n int64) string {
	if n%1_000_000 == 0 {
		return strconv.FormatInt(n/1_000_000, 10)
	}
	return strconv.FormatFloat(float64(n)/1e6, 'f', 2, 64)
}

// parseAmount reads a positive number (decimals allowed) times unit; ""
// is 0, the default.
func parseAmount(s string, unit float64) (int64, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, true
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 || f*unit > 1<<62 {
		return 0, false
	}
	return int64(f * unit), true
}

func (s *server) adminSettingsPost(w http.ResponseWriter, r *http.Request) {
	d := s.adminPage(w, r, "settings", true)
	if d == nil {
		return
	}
	data := settingsData{Template: r.PostFormValue("naming_template"), MaxMB: r.PostFormValue("max_mb"),
		MaxMP: r.PostFormValue("max_mp"), MaxSide: r.PostFormValue("max_side"), MaxFrames: r.PostFormValue("max_frames"),
		RequireMFA: r.PostFormValue("require_mfa")}
	var in service.Settings
	in.RequireMFA = data.RequireMFA
	var ok [4]bool
	in.NamingTemplate = data.Template
	in.MaxBytes, ok[0] = parseAmount(data.MaxMB, 1<<20)
	in.MaxPixels, ok[1] = parseAmount(data.MaxMP, 1e6)
	side, ok2 := parseAmount(data.MaxSide, 1)
	frames, ok3 := parseAmount(data.MaxFrames, 1)
	ok[2], ok[3] = ok2, ok3
	in.MaxSide, in.MaxFrames = int(side), int(frames)
	if slices.Contains(ok[:], false) {
		data.Error = d.T("admin.settings.numbers")
		s.showSettings(w, r, d, data, http.StatusUnprocessableEntity)
		return
	}
	if _, err := s.svc.UpdateSettings(r.Context(), d.P, in); err != nil {
		msg, status, ok := formError(d, err)
		if !ok {
			s.fail(w, r, d, err)
			return
		}
		data.Error = msg
		s.showSettings(w, r, d, data, status)
		return
	}
	back(w, r, "/admin/settings", "settings")
}

// parseDetail reads an audit detail written by the service's auditDetail.
func parseDetail(detail string) (map[string]string, bool) {
	var m map[string]string
	if err := json.Unmarshal([]byte(detail), &m); err != nil {
		return nil, false
	}
	return m, true
}
