package httpapi

import (
	"net/http"

	"tuku/internal/authz"
	"tuku/internal/errs"
	"tuku/internal/service"
)

// assetChangeIn is the body of PATCH /api/v1/assets/{id} and the change
// of POST /api/v1/assets/bulk. Absent fields are left alone.
type assetChangeIn struct {
	Description *string   `json:"description"`
	Tags        *[]string `json:"tags"`
	AddTags     []string  `json:"add_tags"`
	RemoveTags  []string  `json:"remove_tags"`
	Category    *string   `json:"category"`
	Sensitivity *string   `json:"sensitivity"`
	ProjectID   *string   `json:"project_id"`
}

func (in *assetChangeIn) change() service.AssetChange {
	return service.AssetChange{Description: in.Description, Tags: in.Tags, AddTags: in.AddTags, RemoveTags: in.RemoveTags,
		Category: in.Category, Sensitivity: in.Sensitivity, Project: in.ProjectID}
}

func (s *server) patchAsset(w http.ResponseWriter, r *http.Request, p *authz.Principal) error {
	var in assetChangeIn
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	a, err := s.svc.UpdateAsset(r.Context(), p, r.PathValue("id"), in.change())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, a)
}

// bulkIn is the body of POST /api/v1/assets/bulk.
type bulkIn struct {
	IDs []string `json:"ids"`
	assetChangeIn
}

func (s *server) bulkAssets(w http.ResponseWriter, r *http.Request, p *authz.Principal) error {
	var in bulkIn
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	res, err := s.svc.BulkUpdate(r.Context(), p, in.IDs, in.change())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, res)
}

// zipIn is the body of POST /api/v1/assets/zip.
type zipIn struct {
	IDs []string `json:"ids"`
}

// zipAssets streams the originals as one archive. Everything is checked
// and audited before the first byte, so an error is still a JSON answer;
// a failure while streaming can only cut the archive short (which a zip
// reader notices: the central directory is missing).
func (s *server) zipAssets(w http.ResponseWriter, r *http.Request, p *authz.Principal) error {
	var in zipIn
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	z, err := s.svc.PrepareZip(r.Context(), p, in.IDs)
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "application/zip")
	h.Set("Content-Disposition", ContentDisposition("attachment", z.Name))
	h["Cache-Control"] = hdrNoStore
	w.WriteHeader(http.StatusOK)
	return z.WriteTo(r.Context(), w)
}

// downloadAsset sends the original (no format) or a conversion.
func (s *server) downloadAsset(w http.ResponseWriter, r *http.Request, p *authz.Principal) error {
	q := r.URL.Query()
	format, size := q.Get("format"), q.Get("size")
	if len(format) > maxQueryValue || len(size) > maxQueryValue {
		return errs.E(errs.Invalid, "asset.download", "query value too long", nil)
	}
	var c *service.Content
	var err error
	if format == "" || format == "original" {
		if size != "" && size != "original" {
			return errs.E(errs.Invalid, "asset.download", "a size needs a format (jpeg, webp, png)", nil)
		}
		_, c, err = s.svc.OpenOriginal(r.Context(), p, r.PathValue("id"))
	} else {
		_, c, err = s.svc.OpenConverted(r.Context(), p, r.PathValue("id"), format, size)
	}
	if err != nil {
		return err
	}
	defer c.Body.Close()
	w.Header().Set("Content-Disposition", ContentDisposition("attachment", c.Filename))
	w.Header()["Cache-Control"] = hdrNoStore
	serveContent(w, r, c)
	return nil
}
