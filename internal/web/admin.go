package web

// Owned by the WEB-ADMIN engineer: users, grants, tokens, audit log,
// settings.

func (s *server) routesAdmin() {}
