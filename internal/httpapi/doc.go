// Package httpapi is Tuku's REST API under /api/v1, plus /healthz, /readyz
// and /metrics. It authenticates the caller, parses the request, calls one
// service use case and writes its result; the service does every permission
// check. Failures become responses in exactly one place (Status and
// writeError): an errs kind picks the status, errs.Message the public text.
//
// Nouns:
//   - route: one method and path pattern with its handler; the route table
//     (routeTable) is the single list that registers handlers and that the
//     OpenAPI document (openapi.json) is tested against.
//   - Authenticator: turns a request's credentials into a principal; bearer
//     tokens first, then any given in Options (session cookies, later).
//   - request ID: made here for every request (never taken from the client),
//     sent as X-Request-Id, written in the error body and the log line.
//   - admission: before any handler, the security headers (middleware.go),
//     the body cap and the per-address then per-user rate limits
//     (ratelimit.go, RateLimits). doc/security.md has the whole picture.
package httpapi
