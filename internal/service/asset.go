package service

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"tuku/internal/authz"
	"tuku/internal/blob"
	"tuku/internal/errs"
	"tuku/internal/imaging"
	"tuku/internal/meta"
	"tuku/internal/tuku"
)

// GetAsset returns one asset. An asset the principal may not see is
// reported exactly like a missing one.
func (s *Service) GetAsset(ctx context.Context, p *authz.Principal, id string) (*tuku.Asset, error) {
	a, _, err := s.assetRendition(ctx, p, id, "")
	return a, err
}

// assetRendition reads an asset and, when size is not "", its current
// rendition of that size (nil when there is none), in one read
// transaction, and checks that p may see the asset.
func (s *Service) assetRendition(ctx context.Context, p *authz.Principal, id, size string) (*tuku.Asset, *meta.Rendition, error) {
	if !tuku.ValidID(id) {
		return nil, nil, notFound("asset")
	}
	var a *tuku.Asset
	var r *meta.Rendition
	err := s.meta.View(ctx, func(tx meta.Tx) error {
		var err error
		if a, err = tx.GetAsset(ctx, id); err != nil || size == "" {
			return err
		}
		r, err = tx.GetRendition(ctx, id, size)
		if errors.Is(err, errs.NotFound) || (err == nil && !s.current(r)) {
			r, err = nil, nil
		}
		return err
	})
	if errors.Is(err, errs.NotFound) {
		return nil, nil, notFound("asset")
	}
	if err != nil {
		return nil, nil, err
	}
	if err := checkAsset(p, authz.ViewAsset, a); err != nil {
		return nil, nil, err
	}
	return a, r, nil
}

// assetResource is what the policy needs to know about an asset.
func assetResource(a *tuku.Asset) authz.Resource {
	return authz.Resource{CustomerID: a.CustomerID, ProjectID: a.ProjectID, Sensitivity: a.Sensitivity}
}

// checkAsset checks action on asset a. An asset p may not even view
// answers exactly like a missing one; one it may view but not act on
// gets the policy's permission error.
func checkAsset(p *authz.Principal, action authz.Action, a *tuku.Asset) error {
	err := authz.Check(p, action, assetResource(a))
	if err == nil {
		return nil
	}
	if p == nil || p.UserID == "" {
		return errs.E(errs.Unauth, "asset", "authentication required", nil)
	}
	if action != authz.ViewAsset && authz.Check(p, authz.ViewAsset, assetResource(a)) == nil {
		return err
	}
	return notFound("asset")
}

// current reports whether a rendition was made by this engine version.
func (s *Service) current(r *meta.Rendition) bool {
	return strings.Contains(r.Key, "-v"+strconv.Itoa(s.engine.Version())+".")
}

// AssetQuery are the filters of an asset listing, as the API and CLI take them.
type AssetQuery struct {
	Q           string
	Customer    string // ID or code
	Project     string // ID or name (needs Customer) or ID alone
	Tag         string
	Category    string
	Status      string
	Sensitivity string
	From, To    string // YYYY-MM-DD or RFC 3339; To is inclusive of its day
	Cursor      string
	Limit       int
	// Sort: "" or "uploaded" (newest upload first), "taken" (newest
	// capture time first).
	Sort string
	// Reviewable narrows the listing to assets the principal may review
	// (approve), not only see: what "waiting for you" counts.
	Reviewable bool
}

// AssetPage is one page of a listing.
type AssetPage struct {
	Assets     []tuku.Asset `json:"assets"`
	NextCursor string       `json:"next_cursor"`
}

// ListAssets lists and searches the assets the principal may see, newest
// first (by upload, or by capture time with Sort "taken").
func (s *Service) ListAssets(ctx context.Context, p *authz.Principal, q AssetQuery) (*AssetPage, error) {
	const op = "asset.list"
	if p == nil || p.UserID == "" {
		return nil, errs.E(errs.Unauth, op, "authentication required", nil)
	}
	f := meta.AssetFilter{
		Tag: strings.TrimSpace(q.Tag), Category: q.Category, Status: q.Status,
		Sensitivity: q.Sensitivity, Query: strings.TrimSpace(q.Q), Cursor: q.Cursor, Limit: q.Limit, Sort: q.Sort,
	}
	if f.Sort != "" && f.Sort != meta.SortUploaded && f.Sort != meta.SortTaken {
		return nil, errs.Ef(errs.Invalid, op, "unknown sort %q (uploaded, taken)", f.Sort)
	}
	if f.Category != "" && !tuku.Category(f.Category).Valid() {
		return nil, errs.Ef(errs.Invalid, op, "unknown category %q", f.Category)
	}
	if f.Status != "" && !tuku.Status(f.Status).Valid() {
		return nil, errs.Ef(errs.Invalid, op, "unknown status %q", f.Status)
	}
	if f.Sensitivity != "" && !tuku.Sensitivity(f.Sensitivity).Valid() {
		return nil, errs.Ef(errs.Invalid, op, "unknown sensitivity %q", f.Sensitivity)
	}
	if f.Limit < 0 || f.Limit > 1000 {
		return nil, errs.E(errs.Invalid, op, "limit must be between 1 and 1000", nil)
	}
	var err error
	if f.From, err = parseDay(q.From, false); err != nil {
		return nil, err
	}
	if f.To, err = parseDay(q.To, true); err != nil {
		return nil, err
	}
	var page AssetPage
	err = s.meta.View(ctx, func(tx meta.Tx) error {
		if q.Customer != "" {
			c, err := resolveCustomer(ctx, tx, q.Customer)
			if err != nil {
				return err
			}
			if !authz.CanSeeCustomer(p, c.ID) {
				return notFound("customer")
			}
			f.CustomerID = c.ID
			if q.Project != "" {
				pr, err := resolveVisibleProject(ctx, tx, p, c, q.Project)
				if err != nil {
					return err
				}
				f.ProjectID = pr.ID
			}
		} else if q.Project != "" {
			var pr *tuku.Project
			var err error
			if tuku.ValidID(q.Project) {
				pr, err = tx.GetProject(ctx, q.Project)
			}
			if pr == nil || err != nil || authz.Check(p, authz.ViewCustomer, authz.Resource{CustomerID: pr.CustomerID, ProjectID: pr.ID}) != nil {
				if err != nil && !errors.Is(err, errs.NotFound) {
					return err
				}
				return notFound("project")
			}
			f.ProjectID = pr.ID
		}
		// Restrict, in SQL, to what this principal may see: so that pages,
		// cursors and counts never include, or reveal, hidden assets.
		f.Scopes = assetScopes(p, authz.ViewAsset)
		if q.Reviewable {
			f.Scopes = assetScopes(p, authz.ReviewAsset)
		}
		var err error
		page.Assets, page.NextCursor, err = tx.ListAssets(ctx, f)
		if errs.KindOf(err) == errs.Invalid {
			return errs.E(errs.Invalid, op, "invalid cursor", err)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if page.Assets == nil {
		page.Assets = []tuku.Asset{}
	}
	return &page, nil
}

func parseDay(s string, end bool) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		if end {
			t = t.AddDate(0, 0, 1)
		}
		return t, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.Time{}, errs.Ef(errs.Invalid, "asset.list", "date %q is not YYYY-MM-DD", s)
}

// Content is a readable stored object with what a response needs to know.
type Content struct {
	Body        io.ReadCloser // an io.ReadSeeker too when the store allows it
	Size        int64
	ModTime     time.Time
	ContentType string
	ETag        string // strong; content-addressed
	Filename    string // suggested download name
}

// OpenOriginal returns the original bytes of an asset.
func (s *Service) OpenOriginal(ctx context.Context, p *authz.Principal, id string) (*tuku.Asset, *Content, error) {
	a, err := s.GetAsset(ctx, p, id)
	if err != nil {
		return nil, nil, err
	}
	if err := checkAsset(p, authz.DownloadOriginal, a); err != nil {
		return nil, nil, err
	}
	key := blob.OriginalKey(a.CustomerID, a.SHA256)
	rc, err := s.blobs.Open(ctx, key)
	if err != nil {
		return nil, nil, errs.E(errs.KindOf(err), "asset.original", "the original is unavailable", err)
	}
	// Every read of an original is audited, in a write transaction of its
	// own (one row, a few ms: originals are fetched one at a time, unlike
	// thumbnails, which are not audited). No row, no bytes.
	err = s.meta.Tx(ctx, func(tx meta.Tx) error {
		return s.audit(ctx, tx, p, tuku.AuditEvent{Action: "asset.download", TargetType: "asset", TargetID: a.ID,
			CustomerID: a.CustomerID, Detail: auditDetail(map[string]string{"sha256": a.SHA256, "size": strconv.FormatInt(a.Size, 10)})})
	})
	if err != nil {
		rc.Close()
		return nil, nil, err
	}
	name := a.OriginalFilename
	if name == "" {
		name = a.Name
	}
	return a, &Content{Body: rc, Size: a.Size, ModTime: a.CreatedAt, ContentType: a.MIME, ETag: `"` + a.SHA256 + `"`, Filename: name}, nil
}

// OpenRendition returns a named rendition of an asset, rendering and
// storing it first if it does not exist yet. Concurrent requests for the
// same rendition render it once.
func (s *Service) OpenRendition(ctx context.Context, p *authz.Principal, id, size string) (*tuku.Asset, *Content, error) {
	if size == "" {
		size = "grid"
	}
	sz, ok := imaging.SizeByName(size)
	if !ok {
		return nil, nil, errs.Ef(errs.Invalid, "asset.rendition", "unknown size %q (%s)", size, sizeNames())
	}
	// This is the path every thumbnail in a gallery takes: a short-lived
	// cache, else one read transaction for the asset and its rendition.
	a, r, hit := s.cache.get(id, size, s.now())
	if hit {
		// The full resource (project, sensitivity) as cached: a change
		// made here drops the entry (forget), one made elsewhere ages out.
		if authz.Check(p, authz.ViewAsset, assetResource(a)) != nil {
			a, r, hit = nil, nil, false // let the slow path give the right error
		}
	}
	var err error
	if !hit {
		if a, r, err = s.assetRendition(ctx, p, id, size); err != nil {
			return nil, nil, err
		}
		if r != nil {
			s.cache.put(a, r, s.now())
		}
	}
	if r == nil {
		err = errs.E(errs.NotFound, "rendition", "not rendered yet", nil)
	}
	if errors.Is(err, errs.NotFound) {
		if err = s.renderSizes(ctx, a, []string{size}); err == nil {
			r, err = s.rendition(ctx, a.ID, size)
		}
	}
	if err != nil {
		return nil, nil, err
	}
	rc, err := s.blobs.Open(ctx, r.Key)
	if err != nil {
		return nil, nil, errs.E(errs.KindOf(err), "asset.rendition", "the rendition is unavailable", err)
	}
	name := strings.TrimSuffix(a.Name, extOf(a.Name)) + "_" + size + "." + sz.Format.Ext()
	return a, &Content{Body: rc, Size: r.Bytes, ModTime: a.CreatedAt, ContentType: sz.Format.MIME(), ETag: `"` + r.Key + `"`, Filename: name}, nil
}

func sizeNames() string {
	var n []string
	for _, s := range imaging.Sizes {
		n = append(n, s.Name)
	}
	return strings.Join(n, ", ")
}

func (s *Service) rendition(ctx context.Context, assetID, size string) (*meta.Rendition, error) {
	var r *meta.Rendition
	err := s.meta.View(ctx, func(tx meta.Tx) error {
		var err error
		r, err = tx.GetRendition(ctx, assetID, size)
		return err
	})
	if err == nil && !s.current(r) {
		return nil, errs.E(errs.NotFound, "rendition", "stale rendition", nil)
	}
	return r, err
}

// renderSizes renders the named sizes of an asset from its original in one
// decode, stores them and records them. Coalesced per asset and sizes.
func (s *Service) renderSizes(ctx context.Context, a *tuku.Asset, sizes []string) error {
	key := a.ID + "/" + strings.Join(sizes, ",")
	return s.render.do(key, func() error {
		src, cleanup, err := s.localOriginal(ctx, a)
		if err != nil {
			return err
		}
		defer cleanup()
		var outs []imaging.Output
		for _, name := range sizes {
			sz, _ := imaging.SizeByName(name)
			f, err := s.tempFile("r-*." + sz.Format.Ext())
			if err != nil {
				return err
			}
			f.Close()
			outs = append(outs, imaging.Output{Spec: sz.Spec(), Path: f.Name()})
		}
		defer func() {
			for _, o := range outs {
				os.Remove(o.Path)
			}
		}()
		rs, err := s.engine.Render(ctx, src, outs)
		if err != nil {
			return err
		}
		var recs []meta.Rendition
		for i, r := range rs {
			k := blob.RenditionKey(a.CustomerID, a.SHA256, sizes[i], s.engine.Version(), r.Format.Ext())
			if err := s.blobs.PutFile(ctx, k, r.Path); err != nil {
				return err
			}
			recs = append(recs, meta.Rendition{AssetID: a.ID, Size: sizes[i], Key: k, Format: string(r.Format), Width: r.Width, Height: r.Height, Bytes: r.Bytes})
		}
		return s.meta.Tx(ctx, func(tx meta.Tx) error {
			for _, r := range recs {
				if err := tx.PutRendition(ctx, r); err != nil {
					return err
				}
			}
			return nil
		})
	})
}

// localOriginal returns a local file path holding the asset's original:
// the blob's own file when the store is on local disk, else a temporary copy.
func (s *Service) localOriginal(ctx context.Context, a *tuku.Asset) (string, func(), error) {
	key := blob.OriginalKey(a.CustomerID, a.SHA256)
	if lp, ok := s.blobs.(interface{ Path(string) (string, error) }); ok {
		if path, err := lp.Path(key); err == nil {
			if _, err := os.Stat(path); err == nil {
				return path, func() {}, nil
			}
		}
	}
	rc, err := s.blobs.Open(ctx, key)
	if err != nil {
		return "", nil, err
	}
	defer rc.Close()
	f, err := s.tempFile("orig-*")
	if err != nil {
		return "", nil, err
	}
	if _, err := io.Copy(f, rc); err != nil {
		f.Close()
		os.Remove(f.Name())
		return "", nil, errs.E(errs.Unavailable, "asset.original", "cannot read the original", err)
	}
	f.Close()
	return f.Name(), func() { os.Remove(f.Name()) }, nil
}

// HandleRenderJob renders the background sizes named in a render job.
func (s *Service) HandleRenderJob(ctx context.Context, j *tuku.Job) error {
	var pl renderPayload
	if err := json.Unmarshal(j.Payload, &pl); err != nil {
		return errs.E(errs.Invalid, "job.render", "bad payload", err)
	}
	var a *tuku.Asset
	err := s.meta.View(ctx, func(tx meta.Tx) error {
		var err error
		a, err = tx.GetAsset(ctx, pl.AssetID)
		return err
	})
	if errors.Is(err, errs.NotFound) {
		return nil // the asset is gone; nothing to do
	}
	if err != nil {
		return err
	}
	var todo []string
	for _, size := range pl.Sizes {
		if _, err := s.rendition(ctx, a.ID, size); errors.Is(err, errs.NotFound) {
			todo = append(todo, size)
		} else if err != nil {
			return err
		}
	}
	if len(todo) == 0 {
		return nil
	}
	return s.renderSizes(ctx, a, todo)
}

// assetScopes turns the policy's scopes of p for action into a filter:
// nil (no restriction) for an unrestricted admin, else the scopes, empty
// when p may see nothing.
func assetScopes(p *authz.Principal, action authz.Action) []meta.AssetScope {
	scopes, all := authz.ViewScopes(p, action)
	if all {
		return nil
	}
	out := make([]meta.AssetScope, 0, len(scopes))
	for _, sc := range scopes {
		ms := meta.AssetScope{CustomerID: sc.CustomerID, ProjectID: sc.ProjectID}
		for _, x := range authz.SensitivitiesUpTo(sc.MaxSensitivity) {
			ms.Sensitivities = append(ms.Sensitivities, string(x))
		}
		out = append(out, ms)
	}
	return out
}
