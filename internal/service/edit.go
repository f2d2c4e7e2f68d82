package service

import (
	"archive/zip"
	"context"
	"errors"
	"io"
	"os"
	"strconv"
	"strings"

	"tuku/internal/authz"
	"tuku/internal/blob"
	"tuku/internal/errs"
	"tuku/internal/imaging"
	"tuku/internal/meta"
	"tuku/internal/tuku"
)

// AssetChange is an edit of an asset's descriptive fields. A nil field is
// left alone; a pointer to "" clears it (Project: out of any project).
type AssetChange struct {
	Description *string
	// Tags replaces the whole tag list: a name the asset already carries
	// keeps its source, a new one is manual.
	Tags *[]string
	// AddTags and RemoveTags change the list by name (bulk actions).
	AddTags    []string
	RemoveTags []string
	Category   *string
	// Sensitivity may not be raised beyond what the editor may still edit.
	Sensitivity *string
	// Project is an ID or name of a project of the asset's own customer.
	Project *string
}

// empty reports whether the change changes nothing.
func (c *AssetChange) empty() bool {
	return c.Description == nil && c.Tags == nil && len(c.AddTags) == 0 && len(c.RemoveTags) == 0 &&
		c.Category == nil && c.Sensitivity == nil && c.Project == nil
}

// maxBulk caps how many assets one bulk request may name: one transaction
// holds them all.
const maxBulk = 1000

// preparedChange is an AssetChange validated once for any number of assets.
type preparedChange struct {
	AssetChange
	tags, add, remove []string
}

func prepareChange(op string, c AssetChange) (*preparedChange, error) {
	if c.empty() {
		return nil, errs.E(errs.Invalid, op, "nothing to change", nil)
	}
	pc := &preparedChange{AssetChange: c}
	var err error
	if c.Tags != nil {
		if pc.tags, err = cleanTags(*c.Tags); err != nil {
			return nil, err
		}
	}
	if pc.add, err = cleanTags(c.AddTags); err != nil {
		return nil, err
	}
	if pc.remove, err = cleanTags(c.RemoveTags); err != nil {
		return nil, err
	}
	if c.Category != nil && *c.Category != "" && !tuku.Category(*c.Category).Valid() {
		return nil, errs.Ef(errs.Invalid, op, "unknown category %q", *c.Category)
	}
	if c.Sensitivity != nil && !tuku.Sensitivity(*c.Sensitivity).Valid() {
		return nil, errs.Ef(errs.Invalid, op, "unknown sensitivity %q (public, internal, confidential, restricted)", *c.Sensitivity)
	}
	return pc, nil
}

// apply changes a in place inside tx, checks that p may edit it before and
// after, and returns the names of the fields that changed.
func (s *Service) applyChange(ctx context.Context, tx meta.Tx, p *authz.Principal, a *tuku.Asset, c *preparedChange) ([]string, map[string]string, error) {
	const op = "asset.edit"
	if err := checkAsset(p, authz.EditAsset, a); err != nil {
		return nil, nil, err
	}
	var changed []string
	detail := map[string]string{}
	set := func(field, old, new string) bool {
		if old == new {
			return false
		}
		changed = append(changed, field)
		detail[field] = new
		return true
	}
	if c.Description != nil {
		d := cleanText(*c.Description, 4000)
		if set("description", a.Description, d) {
			a.Description = d
		}
	}
	if c.Category != nil && set("category", string(a.Category), *c.Category) {
		a.Category = tuku.Category(*c.Category)
	}
	if c.Sensitivity != nil && set("sensitivity", string(a.Sensitivity), *c.Sensitivity) {
		a.Sensitivity = tuku.Sensitivity(*c.Sensitivity)
	}
	if c.Project != nil {
		pid := ""
		if ref := strings.TrimSpace(*c.Project); ref != "" {
			cust, err := tx.GetCustomer(ctx, a.CustomerID)
			if err != nil {
				return nil, nil, err
			}
			pr, err := resolveVisibleProject(ctx, tx, p, cust, ref)
			if err != nil {
				return nil, nil, err
			}
			pid = pr.ID
		}
		if set("project", a.ProjectID, pid) {
			a.ProjectID = pid
		}
	}
	if c.Tags != nil || len(c.add) > 0 || len(c.remove) > 0 {
		before := tagNames(a.Tags)
		src := map[string]tuku.TagSource{}
		for _, t := range a.Tags {
			src[t.Name] = t.Source
		}
		tags := a.Tags
		if c.Tags != nil {
			tags = make([]tuku.Tag, 0, len(c.tags))
			for _, n := range c.tags {
				s, ok := src[n]
				if !ok {
					s = tuku.TagManual
				}
				tags = append(tags, tuku.Tag{Name: n, Source: s})
			}
		}
		drop := map[string]bool{}
		for _, n := range c.remove {
			drop[n] = true
		}
		out := make([]tuku.Tag, 0, len(tags)+len(c.add))
		seen := map[string]bool{}
		for _, t := range tags {
			if !drop[t.Name] && !seen[t.Name] {
				seen[t.Name] = true
				out = append(out, t)
			}
		}
		for _, n := range c.add {
			if !drop[n] && !seen[n] {
				seen[n] = true
				out = append(out, tuku.Tag{Name: n, Source: tuku.TagManual})
			}
		}
		if len(out) > 100 {
			return nil, nil, errs.E(errs.Invalid, op, "at most 100 tags per asset", nil)
		}
		if set("tags", before, tagNames(out)) {
			a.Tags = out
		}
	}
	// The asset as it will be must still be the editor's to edit: an
	// editor may not move it out of their reach (a restricted level, a
	// project they have no grant in).
	if len(changed) > 0 {
		if err := authz.Check(p, authz.EditAsset, assetResource(a)); err != nil {
			return nil, nil, errs.E(errs.Permission, op, "you could no longer edit the asset after this change", err)
		}
	}
	return changed, detail, nil
}

func tagNames(ts []tuku.Tag) string {
	n := make([]string, len(ts))
	for i, t := range ts {
		n[i] = t.Name
	}
	return strings.Join(n, ",")
}

// UpdateAsset edits one asset's description, tags, category, sensitivity
// or project. It needs EditAsset; an asset the principal may not see is
// NotFound. The edit is audited ("asset.edit") with the changed fields;
// a change that changes nothing writes nothing.
func (s *Service) UpdateAsset(ctx context.Context, p *authz.Principal, id string, c AssetChange) (*tuku.Asset, error) {
	const op = "asset.edit"
	pc, err := prepareChange(op, c)
	if err != nil {
		return nil, err
	}
	if !tuku.ValidID(id) {
		return nil, notFound("asset")
	}
	var a *tuku.Asset
	err = s.meta.Tx(ctx, func(tx meta.Tx) error {
		var err error
		if a, err = tx.GetAsset(ctx, id); err != nil {
			if errors.Is(err, errs.NotFound) {
				return notFound("asset")
			}
			return err
		}
		return s.writeChange(ctx, tx, p, a, pc, nil)
	})
	s.forgetAssets([]string{id})
	if err != nil {
		return nil, err
	}
	return a, nil
}

// writeChange applies pc to a and, if anything changed, stores and audits it.
func (s *Service) writeChange(ctx context.Context, tx meta.Tx, p *authz.Principal, a *tuku.Asset, pc *preparedChange, extra map[string]string) error {
	changed, detail, err := s.applyChange(ctx, tx, p, a, pc)
	if err != nil || len(changed) == 0 {
		return err
	}
	a.UpdatedAt = s.now().UTC()
	if err := tx.UpdateAsset(ctx, a); err != nil {
		return err
	}
	detail["changed"] = strings.Join(changed, ",")
	for k, v := range extra {
		detail[k] = v
	}
	return s.audit(ctx, tx, p, tuku.AuditEvent{Action: "asset.edit", TargetType: "asset", TargetID: a.ID,
		CustomerID: a.CustomerID, Detail: auditDetail(detail)})
}

// BulkResult reports a bulk edit.
type BulkResult struct {
	Assets  int `json:"assets"`  // how many were named
	Changed int `json:"changed"` // how many actually changed
}

// BulkUpdate applies one change to many assets, all or nothing, in one
// transaction: if any ID is missing or hidden from p the whole request is
// NotFound, if p may see but not edit one it is a Permission error, and
// nothing changes. Each changed asset gets its own audit row.
func (s *Service) BulkUpdate(ctx context.Context, p *authz.Principal, ids []string, c AssetChange) (*BulkResult, error) {
	const op = "asset.bulk"
	if p == nil || p.UserID == "" {
		return nil, errs.E(errs.Unauth, op, "authentication required", nil)
	}
	ids, err := cleanIDs(op, ids)
	if err != nil {
		return nil, err
	}
	pc, err := prepareChange(op, c)
	if err != nil {
		return nil, err
	}
	res := &BulkResult{Assets: len(ids)}
	extra := map[string]string{"bulk": strconv.Itoa(len(ids))}
	err = s.meta.Tx(ctx, func(tx meta.Tx) error {
		res.Changed = 0
		as, err := visibleAssets(ctx, tx, p, ids)
		if err != nil {
			return err
		}
		for i := range as {
			a := &as[i]
			before := a.UpdatedAt
			if err := s.writeChange(ctx, tx, p, a, pc, extra); err != nil {
				return err
			}
			if !a.UpdatedAt.Equal(before) {
				res.Changed++
			}
		}
		return nil
	})
	s.forgetAssets(ids)
	if err != nil {
		return nil, err
	}
	return res, nil
}

// forgetAssets drops the rendition cache's entries of the assets, so the
// thumbnail path sees a new sensitivity or project at once. Unlike
// cache.forget it looks up each named size rather than scanning the whole
// cache, which matters for a bulk edit of a thousand assets.
func (s *Service) forgetAssets(ids []string) {
	c := s.cache
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, id := range ids {
		for _, sz := range imaging.Sizes {
			delete(c.m, cacheKey{id, sz.Name})
		}
	}
}

// visibleAssets reads the named assets, NotFound if any is missing or
// hidden from p: all are checked before anything is done with one, so the
// answer does not depend on the order of the IDs.
func visibleAssets(ctx context.Context, tx meta.Tx, p *authz.Principal, ids []string) ([]tuku.Asset, error) {
	out := make([]tuku.Asset, 0, len(ids))
	for _, id := range ids {
		a, err := tx.GetAsset(ctx, id)
		if errors.Is(err, errs.NotFound) {
			return nil, notFound("asset")
		}
		if err != nil {
			return nil, err
		}
		if err := checkAsset(p, authz.ViewAsset, a); err != nil {
			return nil, err
		}
		out = append(out, *a)
	}
	return out, nil
}

// cleanIDs deduplicates a request's asset IDs, keeping their order.
func cleanIDs(op string, ids []string) ([]string, error) {
	out := make([]string, 0, len(ids))
	seen := map[string]bool{}
	for _, id := range ids {
		id = strings.TrimSpace(id)
		if seen[id] {
			continue
		}
		if !tuku.ValidID(id) {
			return nil, notFound("asset")
		}
		seen[id] = true
		out = append(out, id)
	}
	if len(out) == 0 {
		return nil, errs.E(errs.Invalid, op, "no assets given", nil)
	}
	if len(out) > maxBulk {
		return nil, errs.Ef(errs.Invalid, op, "at most %d assets at once", maxBulk)
	}
	return out, nil
}

// Zip is a checked and audited download of several originals, ready to be
// written with WriteTo.
type Zip struct {
	// Name is the archive's file name: the customer's code (or "tuku" for
	// several customers), the day and the count.
	Name   string
	s      *Service
	assets []tuku.Asset
	names  []string
}

// PrepareZip checks that p may download every named original (all or
// nothing, like BulkUpdate) and audits one "asset.download" row per asset
// before any byte is sent, so that no download goes unrecorded.
func (s *Service) PrepareZip(ctx context.Context, p *authz.Principal, ids []string) (*Zip, error) {
	const op = "asset.zip"
	if p == nil || p.UserID == "" {
		return nil, errs.E(errs.Unauth, op, "authentication required", nil)
	}
	ids, err := cleanIDs(op, ids)
	if err != nil {
		return nil, err
	}
	z := &Zip{s: s}
	err = s.meta.Tx(ctx, func(tx meta.Tx) error {
		var err error
		if z.assets, err = visibleAssets(ctx, tx, p, ids); err != nil {
			return err
		}
		custs := map[string]bool{}
		for i := range z.assets {
			if err := checkAsset(p, authz.DownloadOriginal, &z.assets[i]); err != nil {
				return err
			}
			custs[z.assets[i].CustomerID] = true
		}
		prefix := "tuku"
		if len(custs) == 1 {
			c, err := tx.GetCustomer(ctx, z.assets[0].CustomerID)
			if err != nil {
				return err
			}
			prefix = c.Code
		}
		z.Name = orDefault(CleanFilename(prefix+"_"+s.now().Format("20060102")+"_"+strconv.Itoa(len(ids))+".zip"), "tuku.zip")
		for i := range z.assets {
			a := &z.assets[i]
			err := s.audit(ctx, tx, p, tuku.AuditEvent{Action: "asset.download", TargetType: "asset", TargetID: a.ID,
				CustomerID: a.CustomerID, Detail: auditDetail(map[string]string{"sha256": a.SHA256,
					"size": strconv.FormatInt(a.Size, 10), "via": "zip", "count": strconv.Itoa(len(ids))})})
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	z.names = zipNames(z.assets)
	return z, nil
}

// zipNames gives each asset its display name, made unique within the
// archive by a " (2)", " (3)"… before the extension.
func zipNames(as []tuku.Asset) []string {
	out := make([]string, len(as))
	used := map[string]bool{}
	for i, a := range as {
		name := a.Name
		if name == "" {
			name = a.OriginalFilename
		}
		name = orDefault(CleanFilename(name), a.ID)
		ext := extOf(name)
		stem := strings.TrimSuffix(name, ext)
		cand := name
		for n := 2; used[strings.ToLower(cand)]; n++ {
			cand = stem + " (" + strconv.Itoa(n) + ")" + ext
		}
		used[strings.ToLower(cand)] = true
		out[i] = cand
	}
	return out
}

// Files lists the archive's entry names, in order.
func (z *Zip) Files() []string { return append([]string(nil), z.names...) }

// WriteTo streams the archive to w. The originals are stored, not
// deflated: images are compressed already, and storing keeps the server's
// CPU free and the download as fast as the disk.
func (z *Zip) WriteTo(ctx context.Context, w io.Writer) error {
	const op = "asset.zip"
	zw := zip.NewWriter(w)
	for i := range z.assets {
		if err := ctx.Err(); err != nil {
			return err
		}
		a := &z.assets[i]
		rc, err := z.s.blobs.Open(ctx, blob.OriginalKey(a.CustomerID, a.SHA256))
		if err != nil {
			return errs.E(errs.KindOf(err), op, "an original is unavailable", err)
		}
		hdr := &zip.FileHeader{Name: z.names[i], Method: zip.Store, Modified: a.CreatedAt}
		hdr.SetMode(0o644)
		fw, err := zw.CreateHeader(hdr)
		if err == nil {
			_, err = io.Copy(fw, rc)
		}
		rc.Close()
		if err != nil {
			return errs.E(errs.Unavailable, op, "cannot write the archive", err)
		}
	}
	if err := zw.Close(); err != nil {
		return errs.E(errs.Unavailable, op, "cannot write the archive", err)
	}
	return nil
}

// ZipOriginals is PrepareZip then WriteTo.
func (s *Service) ZipOriginals(ctx context.Context, p *authz.Principal, ids []string, w io.Writer) error {
	z, err := s.PrepareZip(ctx, p, ids)
	if err != nil {
		return err
	}
	return z.WriteTo(ctx, w)
}

// ConvertFormats are the formats a download may be converted to.
var ConvertFormats = []imaging.Format{imaging.JPEG, imaging.WebP, imaging.PNG}

// ConvertSizes are the sizes a converted download may have: "original"
// (full resolution, upright, metadata stripped) and the named sizes.
func ConvertSizes() []string {
	out := []string{"original"}
	for _, s := range imaging.Sizes {
		if s.Name != "grid" {
			out = append(out, s.Name)
		}
	}
	return out
}

// OpenConverted renders an asset in another format and size for download
// (format jpeg, webp or png; size "original" or a named size). It needs
// DownloadOriginal, since a full-size conversion is the picture itself,
// and is audited like a download of the original. The rendering is not
// stored: conversions are rare and a stored copy would outlive its need.
func (s *Service) OpenConverted(ctx context.Context, p *authz.Principal, id, format, size string) (*tuku.Asset, *Content, error) {
	const op = "asset.convert"
	f := imaging.Format(strings.ToLower(strings.TrimSpace(format)))
	if f == "jpg" {
		f = imaging.JPEG
	}
	ok := false
	for _, c := range ConvertFormats {
		ok = ok || c == f
	}
	if !ok {
		return nil, nil, errs.Ef(errs.Invalid, op, "cannot convert to %q (jpeg, webp, png)", format)
	}
	if size == "" {
		size = "original"
	}
	spec := imaging.Spec{Format: f}
	switch size {
	case "original":
	default:
		sz, found := imaging.SizeByName(size)
		if !found || size == "grid" {
			return nil, nil, errs.Ef(errs.Invalid, op, "unknown size %q (%s)", size, strings.Join(ConvertSizes(), ", "))
		}
		spec.Width, spec.Height = sz.Max, sz.Max
	}
	switch f {
	case imaging.JPEG:
		spec.Quality = 88
	case imaging.WebP:
		spec.Quality = 85
	}
	a, err := s.GetAsset(ctx, p, id)
	if err != nil {
		return nil, nil, err
	}
	if err := checkAsset(p, authz.DownloadOriginal, a); err != nil {
		return nil, nil, err
	}
	src, cleanup, err := s.localOriginal(ctx, a)
	if err != nil {
		return nil, nil, err
	}
	defer cleanup()
	tmp, err := s.tempFile("conv-*." + f.Ext())
	if err != nil {
		return nil, nil, err
	}
	tmp.Close()
	rs, err := s.engine.Render(ctx, src, []imaging.Output{{Spec: spec, Path: tmp.Name()}})
	if err != nil {
		os.Remove(tmp.Name())
		return nil, nil, err
	}
	err = s.meta.Tx(ctx, func(tx meta.Tx) error {
		return s.audit(ctx, tx, p, tuku.AuditEvent{Action: "asset.download", TargetType: "asset", TargetID: a.ID,
			CustomerID: a.CustomerID, Detail: auditDetail(map[string]string{"sha256": a.SHA256, "format": string(f), "rendition": size})})
	})
	if err != nil {
		os.Remove(tmp.Name())
		return nil, nil, err
	}
	body, err := os.Open(rs[0].Path)
	if err != nil {
		os.Remove(tmp.Name())
		return nil, nil, errs.E(errs.Unavailable, op, "cannot read the conversion", err)
	}
	// The file is unlinked now; the open handle keeps its bytes readable
	// until Close, and nothing is left behind if the client goes away.
	os.Remove(rs[0].Path)
	name := strings.TrimSuffix(a.Name, extOf(a.Name))
	if size != "original" {
		name += "_" + size
	}
	return a, &Content{Body: body, Size: rs[0].Bytes, ModTime: s.now(), ContentType: f.MIME(),
		ETag: `"` + a.SHA256 + "-" + string(f) + "-" + size + `"`, Filename: name + "." + f.Ext()}, nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
