// Package listquery parses the query string of GET /api/v1/assets. It is
// its own package, pure and small, so that its fuzz target (FuzzListQuery)
// builds in seconds rather than with the whole server.
package listquery

import (
	"net/url"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"tuku/internal/errs"
	"tuku/internal/service"
)

// params are the query parameters GET /api/v1/assets takes. Any
// other is refused: a misspelt filter would otherwise silently list
// everything.
var params = map[string]bool{
	"q": true, "customer": true, "project": true, "tag": true, "from": true, "to": true,
	"category": true, "status": true, "sensitivity": true, "cursor": true, "limit": true, "sort": true,
}

// MaxValue caps each list query value; a search box or a cursor is
// never near it.
const MaxValue = 1024

// Parse turns the raw query string of GET /api/v1/assets into an
// AssetQuery. It is pure (fuzzed by FuzzListQuery): it refuses unknown and
// repeated parameters, values over MaxValue bytes, values that are
// not valid UTF-8 or hold control characters (PostgreSQL refuses NUL and
// invalid UTF-8 in text, which would otherwise surface as a 500), and a
// limit outside 1..1000. Meaning (dates, categories, IDs) is the
// service's to check.
func Parse(raw string) (service.AssetQuery, error) {
	const op = "asset.list"
	q, err := url.ParseQuery(raw)
	if err != nil {
		return service.AssetQuery{}, errs.E(errs.Invalid, op, "malformed query string", err)
	}
	for k, v := range q {
		if !params[k] {
			return service.AssetQuery{}, errs.Ef(errs.Invalid, op, "unknown query parameter %q (q, customer, project, tag, from, to, category, status, sensitivity, cursor, limit, sort)", k)
		}
		if len(v) > 1 {
			return service.AssetQuery{}, errs.Ef(errs.Invalid, op, "query parameter %q given more than once", k)
		}
		if len(v[0]) > MaxValue {
			return service.AssetQuery{}, errs.Ef(errs.Invalid, op, "query parameter %q is longer than %d bytes", k, MaxValue)
		}
		if !utf8.ValidString(v[0]) || strings.IndexFunc(v[0], unicode.IsControl) >= 0 {
			return service.AssetQuery{}, errs.Ef(errs.Invalid, op, "query parameter %q holds invalid UTF-8 or control characters", k)
		}
	}
	aq := service.AssetQuery{
		Q: q.Get("q"), Customer: q.Get("customer"), Project: q.Get("project"), Tag: q.Get("tag"),
		From: q.Get("from"), To: q.Get("to"), Category: q.Get("category"), Status: q.Get("status"),
		Sensitivity: q.Get("sensitivity"), Cursor: q.Get("cursor"), Sort: q.Get("sort"),
	}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 1000 {
			return service.AssetQuery{}, errs.Ef(errs.Invalid, op, "limit must be a number between 1 and 1000, not %q", l)
		}
		aq.Limit = n
	}
	return aq, nil
}
