package httpapi

import (
	"net/http"
	"strings"
	"sync"
	"time"

	"tuku/internal/authz"
	"tuku/internal/errs"
	"tuku/internal/service"
)

// Authenticator turns a request's credentials into a principal.
//
// It returns (nil, nil) when the request carries no credentials of its
// kind, so the next authenticator may try; a principal when they hold; and
// an error when credentials of its kind are present but do not hold
// (errs.Unauth), or cannot be checked now (errs.Unavailable). It must be
// safe for concurrent use.
type Authenticator interface {
	Authenticate(r *http.Request) (*authz.Principal, error)
}

// AuthenticatorFunc adapts a function to Authenticator.
type AuthenticatorFunc func(r *http.Request) (*authz.Principal, error)

// Authenticate calls f.
func (f AuthenticatorFunc) Authenticate(r *http.Request) (*authz.Principal, error) { return f(r) }

// bearer checks "Authorization: Bearer tuku_…" API tokens. Successful
// checks are remembered for a short while (ttl), because every thumbnail
// of a grid page carries the same token and a check costs two queries. A
// revocation, disabling or grant change made in this process drops the
// cache at once (service.AccessGeneration); one made by another process
// takes effect within ttl.
type bearer struct {
	svc *service.Service
	ttl time.Duration // <= 0: no cache

	mu    sync.Mutex
	cache map[string]cachedPrincipal // by token secret
}

type cachedPrincipal struct {
	p       authz.Principal
	expires time.Time
	gen     uint64 // service.AccessGeneration when cached
}

// maxCachedTokens bounds the cache; when full it starts over.
const maxCachedTokens = 4096

func newBearer(svc *service.Service, ttl time.Duration) *bearer {
	return &bearer{svc: svc, ttl: ttl, cache: map[string]cachedPrincipal{}}
}

func (b *bearer) Authenticate(r *http.Request) (*authz.Principal, error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return nil, nil
	}
	scheme, token, _ := strings.Cut(h, " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return nil, nil // another scheme: not ours
	}
	token = strings.TrimSpace(token)
	if token == "" {
		return nil, errs.E(errs.Unauth, "auth", "empty bearer token", nil)
	}
	if b.ttl <= 0 {
		return b.svc.Authenticate(r.Context(), token)
	}
	now := time.Now()
	b.mu.Lock()
	c, ok := b.cache[token]
	b.mu.Unlock()
	gen := b.svc.AccessGeneration()
	if ok && now.Before(c.expires) && c.gen == gen {
		p := c.p // a copy: callers may not change the cached one
		return &p, nil
	}
	p, err := b.svc.Authenticate(r.Context(), token)
	if err != nil {
		return nil, err
	}
	b.mu.Lock()
	if len(b.cache) >= maxCachedTokens {
		clear(b.cache)
	}
	b.cache[token] = cachedPrincipal{p: *p, expires: now.Add(b.ttl), gen: gen}
	b.mu.Unlock()
	return p, nil
}

// authenticate runs the authenticators in order; the first that
// recognises credentials decides.
func (s *server) authenticate(r *http.Request) (*authz.Principal, error) {
	for _, a := range s.auth {
		p, err := a.Authenticate(r)
		if err != nil {
			return nil, err
		}
		if p != nil {
			return p, nil
		}
	}
	return nil, errs.E(errs.Unauth, "auth", "authentication required: sign in, or send Authorization: Bearer <token>", nil)
}
