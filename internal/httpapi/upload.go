package httpapi

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"

	"tuku/internal/authz"
	"tuku/internal/errs"
	"tuku/internal/service"
	"tuku/internal/tuku"
)

// Upload form limits. The file itself is bounded by MaxUploadBytes and the
// service's limits.
const (
	maxFieldBytes = 64 << 10 // one text field
	maxFieldParts = 1000     // text parts before the file (tags may repeat)
)

// uploadResponse is the body of a successful upload.
type uploadResponse struct {
	Status   string      `json:"status"` // imported or duplicate
	Asset    *tuku.Asset `json:"asset"`
	Warnings []string    `json:"warnings,omitempty"`
}

// uploadAsset handles POST /api/v1/assets, a multipart/form-data body.
//
// The file part is streamed straight into the service, never buffered in
// memory or parsed with ParseMultipartForm, so a large image costs the
// same memory as a small one. For that, the text fields (customer_id,
// project_id, tags, description, category, sensitivity) must come before
// the file part; a file part with no customer_id before it is a 400. As
// the asset exists once the file part has been read, anything after it is
// ignored and reported in "warnings".
func (s *server) uploadAsset(w http.ResponseWriter, r *http.Request, p *authz.Principal) error {
	res, err := s.upload(w, r, p)
	if err != nil {
		s.metrics.uploads.WithLabelValues(service.Rejected, string(errCode(err))).Inc()
		return err
	}
	s.metrics.uploads.WithLabelValues(res.Status, "").Inc()
	status := http.StatusOK
	if res.Status == service.Imported {
		status = http.StatusCreated
		s.metrics.uploadBytes.Add(float64(res.Asset.Size))
		w.Header().Set("Location", "/api/v1/assets/"+res.Asset.ID)
	}
	return writeJSON(w, status, res)
}

func errCode(err error) errs.Kind {
	_, kind, _ := describe(err)
	return kind
}

func (s *server) upload(w http.ResponseWriter, r *http.Request, p *authz.Principal) (*uploadResponse, error) {
	const op = "upload"
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" {
		return nil, errs.E(errs.Unsupported, op, "an upload must be multipart/form-data", nil)
	}
	if params["boundary"] == "" {
		return nil, errs.E(errs.Invalid, op, "the multipart body has no boundary", nil)
	}
	r.Body = http.MaxBytesReader(w, r.Body, s.maxUpload)
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, multipartError(err)
	}

	req := service.IngestRequest{Source: "api"}
	var res *service.IngestResult
	var warnings []string
	parts := 0
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			if res != nil {
				// The asset is in; a broken tail does not undo it.
				warnings = append(warnings, "the body after the file part was malformed and was ignored")
				break
			}
			return nil, multipartError(err)
		}
		name := part.FormName()
		if res != nil {
			warnings = append(warnings, fmt.Sprintf("part %q after the file part was ignored: send fields before the file", name))
			part.Close()
			continue
		}
		if name == "file" {
			if req.Customer == "" {
				part.Close()
				return nil, errs.E(errs.Invalid, op, "customer_id is required and must come before the file part", nil)
			}
			req.Filename = part.FileName()
			req.Body = part
			res, err = s.svc.Ingest(r.Context(), p, req)
			if err != nil {
				return nil, err
			}
			continue
		}
		if parts++; parts > maxFieldParts {
			return nil, errs.Ef(errs.Invalid, op, "more than %d form fields", maxFieldParts)
		}
		v, err := readField(part, name)
		if err != nil {
			return nil, err
		}
		switch name {
		case "customer_id":
			req.Customer = v
		case "project_id":
			req.Project = v
		case "tags":
			req.Tags = append(req.Tags, v) // the service splits commas
		case "description":
			req.Description = v
		case "category":
			req.Category = v
		case "sensitivity":
			req.Sensitivity = v
		default:
			return nil, errs.Ef(errs.Invalid, op, "unknown form field %q (file, customer_id, project_id, tags, description, category, sensitivity)", name)
		}
	}
	if res == nil {
		return nil, errs.E(errs.Invalid, op, `no "file" part in the upload`, nil)
	}
	return &uploadResponse{Status: res.Status, Asset: res.Asset, Warnings: warnings}, nil
}

// readField reads a text part of at most maxFieldBytes.
func readField(part *multipart.Part, name string) (string, error) {
	b, err := io.ReadAll(io.LimitReader(part, maxFieldBytes+1))
	if err != nil {
		return "", multipartError(err)
	}
	if len(b) > maxFieldBytes {
		return "", errs.Ef(errs.Invalid, "upload", "form field %q is longer than %d KB", name, maxFieldBytes>>10)
	}
	return string(b), nil
}

// multipartError keeps a body-too-large error as it is (it becomes a 413)
// and turns any other into a 400.
func multipartError(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return err
	}
	return errs.E(errs.Invalid, "upload", "malformed multipart body", err)
}
