package web

import "net/http"

// Owned by the WEB-CORE engineer: templates and catalogs loading, the
// middleware chain, sign-in, account and home pages.

func (s *server) init() error { return nil }

func (s *server) handler() http.Handler { return s.mux }

func (s *server) routesCore() {}
