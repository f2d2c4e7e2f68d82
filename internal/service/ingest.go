package service

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"tuku/internal/authz"
	"tuku/internal/blob"
	"tuku/internal/errs"
	"tuku/internal/extract"
	"tuku/internal/imaging"
	"tuku/internal/meta"
	"tuku/internal/tuku"
)

// IngestRequest is one file to file under a customer.
type IngestRequest struct {
	Customer    string    // ID or code
	Project     string    // ID or name; optional
	Filename    string    // as the client named it; untrusted, only a label
	Body        io.Reader // the bytes; never trusted for size or type
	Tags        []string  // manual tags
	Description string
	Category    string
	Sensitivity string // default: the customer's
	Source      string // upload, import, api, link

	// Source is a local file (tuku import): its identity is remembered so
	// that re-importing it unchanged reads nothing.
	Local *LocalFile
}

// LocalFile identifies a file on disk by path, size, mtime and inode.
type LocalFile struct {
	Path      string // absolute, cleaned
	Size      int64
	ModTimeNs int64
	Inode     uint64
}

// Ingest outcomes.
const (
	Imported  = "imported"
	Duplicate = "duplicate"
	Rejected  = "rejected"
)

// IngestResult is the outcome of a successful ingest.
type IngestResult struct {
	Status string // Imported or Duplicate
	Asset  *tuku.Asset
}

// JobRender is the job kind that renders an asset's background sizes.
const JobRender = "render"

type renderPayload struct {
	AssetID string   `json:"asset_id"`
	Sizes   []string `json:"sizes"`
}

type ingestTarget struct {
	customer *tuku.Customer
	project  *tuku.Project
}

// headWriter keeps the first bytes written through it, for type sniffing.
type headWriter struct {
	buf [512]byte
	n   int
}

func (h *headWriter) Write(p []byte) (int, error) {
	if h.n < len(h.buf) {
		h.n += copy(h.buf[h.n:], p)
	}
	return len(p), nil
}

// Ingest checks and stores one image: stream to a temporary file while
// hashing, decide the type from content, return the existing asset when the
// customer already has these bytes, probe and render the grid thumbnail in
// a child process, read the file's metadata, store original and thumbnail,
// and record the asset with its tags, name and a job for larger renditions
// in one transaction. A rejected file leaves nothing behind.
//
// Uploads are audited: "asset.upload" in the transaction that records a new
// asset, and for a duplicate or a rejected file a row of its own.
func (s *Service) Ingest(ctx context.Context, p *authz.Principal, req IngestRequest) (*IngestResult, error) {
	var tgt *ingestTarget
	res, err := s.ingest(ctx, p, req, &tgt)
	if err != nil {
		s.auditUpload(ctx, p, req, tgt, nil, err)
	} else if res.Status == Duplicate {
		s.auditUpload(ctx, p, req, tgt, res.Asset, nil)
	}
	return res, err
}

// auditUpload records an upload that created no asset: a duplicate (a is
// the existing asset) or a rejected file (err). An unauthenticated caller
// is not logged (nothing was attempted on anyone's behalf), nor a
// cancelled request. It runs in its own transaction and only logs its own
// failure: the caller's outcome stands.
func (s *Service) auditUpload(ctx context.Context, p *authz.Principal, req IngestRequest, tgt *ingestTarget, a *tuku.Asset, cause error) {
	if p == nil || p.UserID == "" || ctx.Err() != nil {
		return
	}
	ev := tuku.AuditEvent{Action: "asset.upload", TargetType: "asset"}
	d := map[string]string{"filename": CleanFilename(req.Filename), "source": req.Source}
	if tgt != nil && tgt.customer != nil {
		ev.CustomerID = tgt.customer.ID
	} else {
		d["customer"] = req.Customer
	}
	if a != nil {
		ev.TargetID, ev.CustomerID = a.ID, a.CustomerID
		d["status"] = Duplicate
	} else {
		ev.Outcome = OutcomeFailed
		if k := errs.KindOf(cause); k == errs.Permission || k == errs.Unauth {
			ev.Outcome = OutcomeDenied
		}
		d["status"], d["error"], d["message"] = Rejected, string(errs.KindOf(cause)), errs.Message(cause)
	}
	ev.Detail = auditDetail(d)
	if err := s.meta.Tx(ctx, func(tx meta.Tx) error { return s.audit(ctx, tx, p, ev) }); err != nil {
		s.log.Error("audit row for an upload not written", "err", err)
	}
}

func (s *Service) ingest(ctx context.Context, p *authz.Principal, req IngestRequest, tgtOut **ingestTarget) (*IngestResult, error) {
	const op = "ingest"
	tgt, err := s.ingestTarget(ctx, p, req)
	if err != nil {
		return nil, err
	}
	*tgtOut = tgt
	manualTags, err := cleanTags(req.Tags)
	if err != nil {
		return nil, err
	}
	category := tuku.Category(strings.TrimSpace(req.Category))
	if category == "" {
		category = tuku.CatOther
	}
	if !category.Valid() {
		return nil, errs.Ef(errs.Invalid, op, "unknown category %q", req.Category)
	}
	sens := tuku.Sensitivity(strings.TrimSpace(req.Sensitivity))
	if sens == "" {
		sens = tgt.customer.Sensitivity
	}
	if !sens.Valid() {
		return nil, errs.Ef(errs.Invalid, op, "unknown sensitivity %q (public, internal, confidential, restricted)", req.Sensitivity)
	}
	// No one files an asset it could not see afterwards.
	if err := authz.Check(p, authz.UploadAsset, authz.Resource{CustomerID: tgt.customer.ID, ProjectID: tgt.projectID(), Sensitivity: sens}); err != nil {
		return nil, err
	}
	if req.Body == nil {
		return nil, errs.E(errs.Invalid, op, "no file given", nil)
	}
	// The administrator's settings (naming template, lower limits), read
	// once per ingest (cached for a few seconds, see settings.go).
	eff, err := s.effective(ctx)
	if err != nil {
		return nil, err
	}

	// 1. Stream to a temporary file while hashing; never trust a declared size.
	tmp, err := s.tempFile("in-*")
	if err != nil {
		return nil, err
	}
	tmpPath := tmp.Name()
	defer os.Remove(tmpPath)
	h := sha256.New()
	var head headWriter
	limit := eff.MaxBytes
	n, err := io.Copy(io.MultiWriter(tmp, h, &head), io.LimitReader(req.Body, limit+1))
	if cerr := tmp.Close(); err == nil && cerr != nil {
		err = errs.E(errs.Unavailable, op, "cannot write the temporary file", cerr)
	}
	if err != nil {
		if errs.KindOf(err) != errs.Internal {
			return nil, err
		}
		return nil, errs.E(errs.Invalid, op, "the upload was interrupted", err)
	}
	if n > limit {
		if limit < 1<<20 { // a limit an administrator lowered (settings)
			return nil, errs.Ef(errs.TooLarge, op, "the file is larger than the limit of %d KB", limit>>10)
		}
		return nil, errs.Ef(errs.TooLarge, op, "the file is larger than the limit of %d MB", limit>>20)
	}
	if n == 0 {
		return nil, errs.E(errs.Invalid, op, "the file is empty", nil)
	}
	sum := hex.EncodeToString(h.Sum(nil))

	// 2. Type from content.
	format, err := imaging.Sniff(head.buf[:head.n])
	if err != nil {
		return nil, err
	}

	// 3. Exact duplicate within the customer: no decoding needed.
	if a, err := s.existing(ctx, tgt.customer.ID, sum); err != nil {
		return nil, err
	} else if a != nil {
		if err := hiddenDuplicate(p, a); err != nil {
			return nil, err
		}
		if req.Local != nil {
			s.rememberImport(ctx, tgt.customer.ID, req.Local, a.ID)
		}
		return &IngestResult{Status: Duplicate, Asset: a}, nil
	}

	// 4. Stored limits below the engine's own are checked from the headers
	// before anything is decoded (the engine checks only its own).
	if lim := eff.Limits(); lim != s.cfg.Limits {
		info, err := s.engine.Probe(ctx, tmpPath)
		if err != nil {
			return nil, err
		}
		if err := lim.Check(info); err != nil {
			return nil, err
		}
	}

	// Probe, render the ingest sizes and fingerprint (child process),
	// while reading metadata here.
	mdc := make(chan *extract.Metadata, 1)
	go func() { mdc <- s.readMetadata(ctx, tmpPath, format) }()

	var outs []imaging.Output
	for _, name := range s.cfg.IngestSizes {
		sz, _ := imaging.SizeByName(name)
		// Unique per request: concurrent uploads of the same bytes must not
		// share (and delete) each other's temporary files.
		outs = append(outs, imaging.Output{Spec: sz.Spec(), Path: s.tempPath(fmt.Sprintf("r-%s-%s.%s", tuku.NewID(), name, sz.Format.Ext()))})
	}
	defer func() {
		for _, o := range outs {
			os.Remove(o.Path)
		}
	}()
	an, err := s.engine.Analyze(ctx, tmpPath, outs)
	md := <-mdc
	if err != nil {
		return nil, err
	}

	// 5. Build the asset.
	now := s.now().UTC()
	a := &tuku.Asset{
		ID:               tuku.NewID(),
		CustomerID:       tgt.customer.ID,
		OriginalFilename: CleanFilename(req.Filename),
		MIME:             imaging.DetectMIME(an.Format, head.buf[:head.n]),
		Format:           string(an.Format),
		Size:             n,
		SHA256:           sum,
		Width:            an.Width,
		Height:           an.Height,
		Frames:           an.Frames,
		Orientation:      md.Orientation,
		TakenAt:          md.TakenAt,
		GPS:              md.GPS,
		CameraMake:       md.Make,
		CameraModel:      md.Model,
		Description:      cleanText(req.Description, 4000),
		Category:         category,
		Sensitivity:      sens,
		Status:           tuku.StatusActive,
		Source:           req.Source,
		Copyright:        md.Copyright,
		PHash:            an.PHash,
		Clarity:          an.Clarity,
		Version:          1,
		CreatedAt:        now,
		CreatedBy:        p.UserID,
		UpdatedAt:        now,
	}
	if md.StoredSize {
		// The size as the container states it (HEIF ispe before irot,
		// JPEG SOF even when it says 0 and a DNL marker says more).
		a.Width, a.Height = md.Width, md.Height
	}
	if tgt.project != nil {
		a.ProjectID = tgt.project.ID
	}
	if a.Source == "" {
		a.Source = "upload"
	}
	if a.Description == "" {
		a.Description = cleanText(md.Description, 4000)
	}
	a.Tags = mergeTags(manualTags, md.Keywords)

	// 6. Store original and renditions. Keys are content-addressed, so a
	// concurrent ingest of the same bytes writes the same objects.
	if err := s.blobs.PutFile(ctx, blob.OriginalKey(a.CustomerID, sum), tmpPath); err != nil {
		return nil, err
	}
	var rends []meta.Rendition
	for i, r := range an.Outputs {
		name := s.cfg.IngestSizes[i]
		key := blob.RenditionKey(a.CustomerID, sum, name, s.engine.Version(), r.Format.Ext())
		if err := s.blobs.PutFile(ctx, key, r.Path); err != nil {
			return nil, err
		}
		rends = append(rends, meta.Rendition{AssetID: a.ID, Size: name, Key: key, Format: string(r.Format), Width: r.Width, Height: r.Height, Bytes: r.Bytes})
	}

	// 7. One transaction: name, asset, tags, renditions, job, import record.
	nameIn := s.nameInput(tgt, a, now)
	dup := false
	err = s.meta.Tx(ctx, func(tx meta.Tx) error {
		seq := 0
		if eff.namer.HasSeq() {
			var err error
			if seq, err = tx.NextSeq(ctx, eff.namer.SeqKey(a.CustomerID, nameIn)); err != nil {
				return err
			}
		}
		a.Name = eff.namer.Name(nameIn, seq)
		if err := tx.InsertAsset(ctx, a); err != nil {
			return err
		}
		for _, r := range rends {
			if err := tx.PutRendition(ctx, r); err != nil {
				return err
			}
		}
		if len(s.cfg.BackgroundSizes) > 0 {
			payload, _ := json.Marshal(renderPayload{AssetID: a.ID, Sizes: s.cfg.BackgroundSizes})
			if err := tx.Enqueue(ctx, &tuku.Job{Kind: JobRender, Payload: payload}); err != nil {
				return err
			}
		}
		if req.Local != nil {
			if err := tx.PutImportRecord(ctx, importRecord(a.CustomerID, req.Local, a.ID)); err != nil {
				return err
			}
		}
		return s.audit(ctx, tx, p, tuku.AuditEvent{Action: "asset.upload", TargetType: "asset", TargetID: a.ID,
			CustomerID: a.CustomerID, Detail: auditDetail(map[string]string{"status": Imported,
				"filename": a.OriginalFilename, "sha256": a.SHA256, "size": fmt.Sprint(a.Size), "source": a.Source})})
	})
	if errors.Is(err, errs.Conflict) {
		// Another upload of the same bytes won the race.
		if ex, err2 := s.existing(ctx, a.CustomerID, sum); err2 == nil && ex != nil {
			dup = true
			a = ex
			err = hiddenDuplicate(p, ex)
			if req.Local != nil && err == nil {
				s.rememberImport(ctx, a.CustomerID, req.Local, a.ID)
			}
		}
	}
	if err != nil {
		return nil, err
	}
	if dup {
		return &IngestResult{Status: Duplicate, Asset: a}, nil
	}
	s.log.Info("ingested", "asset", a.ID, "customer", a.CustomerID, "format", a.Format, "bytes", a.Size)
	return &IngestResult{Status: Imported, Asset: a}, nil
}

func (s *Service) ingestTarget(ctx context.Context, p *authz.Principal, req IngestRequest) (*ingestTarget, error) {
	var t ingestTarget
	err := s.meta.View(ctx, func(tx meta.Tx) error {
		c, err := resolveCustomer(ctx, tx, req.Customer)
		if err != nil {
			return err
		}
		if !authz.CanSeeCustomer(p, c.ID) {
			return notFound("customer")
		}
		t.customer = c
		r := authz.Resource{CustomerID: c.ID}
		if strings.TrimSpace(req.Project) != "" {
			if t.project, err = resolveVisibleProject(ctx, tx, p, c, req.Project); err != nil {
				return err
			}
			r.ProjectID = t.project.ID
		}
		// The sensitivity is checked once it is known (Ingest).
		return authz.Check(p, authz.UploadAsset, r)
	})
	if err != nil {
		return nil, err
	}
	return &t, nil
}

func (t *ingestTarget) projectID() string {
	if t.project == nil {
		return ""
	}
	return t.project.ID
}

// hiddenDuplicate: the customer already has these bytes as an asset p may
// not see (another project, a higher sensitivity). Assets are unique per
// customer and content, so the upload cannot make a second one, and
// returning the existing one would show it: refuse, naming nothing. (The
// uploader learns only that the bytes it holds are on file.)
func hiddenDuplicate(p *authz.Principal, a *tuku.Asset) error {
	if authz.Check(p, authz.ViewAsset, assetResource(a)) == nil {
		return nil
	}
	return errs.E(errs.Conflict, "ingest", "this file is already on file for the customer", nil)
}

func (s *Service) existing(ctx context.Context, customerID, sum string) (*tuku.Asset, error) {
	var a *tuku.Asset
	err := s.meta.View(ctx, func(tx meta.Tx) error {
		var err error
		a, err = tx.GetAssetBySHA(ctx, customerID, sum)
		return err
	})
	if errors.Is(err, errs.NotFound) {
		return nil, nil
	}
	return a, err
}

// readMetadata never fails the ingest: a file whose metadata cannot be read
// is still a good image without metadata.
func (s *Service) readMetadata(ctx context.Context, path string, format imaging.Format) *extract.Metadata {
	f, err := os.Open(path)
	if err != nil {
		return &extract.Metadata{}
	}
	defer f.Close()
	md, err := s.extr(ctx, f, string(format))
	if err != nil || md == nil {
		if err != nil {
			s.log.Warn("metadata unreadable", "err", err)
		}
		return &extract.Metadata{}
	}
	return md
}

func (s *Service) nameInput(t *ingestTarget, a *tuku.Asset, now time.Time) NameInput {
	in := NameInput{
		CustomerCode: t.customer.Code,
		CustomerName: t.customer.Name,
		Date:         now,
		Desc:         a.Description,
		Category:     string(a.Category),
		Orig:         strings.TrimSuffix(a.OriginalFilename, extOf(a.OriginalFilename)),
		Ext:          imaging.Format(a.Format).Ext(),
	}
	if t.project != nil {
		in.Project = t.project.Name
	}
	if len(a.TakenAt) >= 19 {
		if tm, err := time.Parse("2006-01-02T15:04:05", a.TakenAt[:19]); err == nil {
			in.Date = tm
		}
	}
	return in
}

func extOf(name string) string {
	if i := strings.LastIndexByte(name, '.'); i > 0 {
		return name[i:]
	}
	return ""
}

// cleanTags trims and deduplicates manual tags and rejects unusable ones.
func cleanTags(in []string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for _, t := range in {
		for _, part := range strings.Split(t, ",") {
			part = cleanText(part, 64)
			if part == "" || seen[part] {
				continue
			}
			seen[part] = true
			out = append(out, part)
		}
	}
	if len(out) > 100 {
		return nil, errs.E(errs.Invalid, "tags", "at most 100 tags per asset", nil)
	}
	return out, nil
}

// mergeTags combines manual tags with the file's own keywords; a name
// typed by a person stays manual.
func mergeTags(manual []string, keywords []string) []tuku.Tag {
	tags := make([]tuku.Tag, 0, len(manual)+len(keywords))
	seen := map[string]bool{}
	for _, m := range manual {
		seen[m] = true
		tags = append(tags, tuku.Tag{Name: m, Source: tuku.TagManual})
	}
	for _, k := range keywords {
		k = cleanText(k, 64)
		if k == "" || seen[k] {
			continue
		}
		seen[k] = true
		tags = append(tags, tuku.Tag{Name: k, Source: tuku.TagFile})
		if len(tags) >= 100 {
			break
		}
	}
	return tags
}

func importRecord(customerID string, lf *LocalFile, assetID string) meta.ImportRecord {
	return meta.ImportRecord{CustomerID: customerID, Path: lf.Path, Size: lf.Size, ModTimeNs: lf.ModTimeNs, Inode: lf.Inode, AssetID: assetID}
}

func (s *Service) rememberImport(ctx context.Context, customerID string, lf *LocalFile, assetID string) {
	err := s.meta.Tx(ctx, func(tx meta.Tx) error {
		return tx.PutImportRecord(ctx, importRecord(customerID, lf, assetID))
	})
	if err != nil {
		s.log.Warn("import record not saved", "err", err)
	}
}

// ImportIndex maps every local file imported before for this customer
// under the given path prefixes (folders end in "/") to what it was then:
// one query per prefix, so re-importing a folder costs a stat and a map
// lookup per file, whatever the size of the library.
func (s *Service) ImportIndex(ctx context.Context, p *authz.Principal, customerID string, prefixes []string) (map[string]ImportedFile, error) {
	if err := authz.Check(p, authz.UploadAsset, authz.Resource{CustomerID: customerID}); err != nil {
		return nil, err
	}
	idx := map[string]ImportedFile{}
	err := s.meta.View(ctx, func(tx meta.Tx) error {
		for _, prefix := range prefixes {
			err := tx.WalkImportRecords(ctx, customerID, prefix, func(r meta.ImportRecord) error {
				idx[r.Path] = ImportedFile{LocalFile: LocalFile{Path: r.Path, Size: r.Size, ModTimeNs: r.ModTimeNs, Inode: r.Inode}, AssetID: r.AssetID}
				return nil
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	return idx, err
}

// ImportedFile is a local file as it was when imported, and its asset.
type ImportedFile struct {
	LocalFile
	AssetID string
}

// Unchanged reports whether lf is the same file as when it was imported.
func (f ImportedFile) Unchanged(lf LocalFile) bool {
	return f.Size == lf.Size && f.ModTimeNs == lf.ModTimeNs && f.Inode == lf.Inode
}
