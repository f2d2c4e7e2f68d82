package sqldb

import (
	"context"
	"database/sql"
	"encoding/base64"
	"strconv"
	"strings"
	"time"

	"tuku/internal/errs"
	"tuku/internal/meta"
	"tuku/internal/tuku"
)

const (
	defaultLimit = 50
	maxLimit     = 1000
)

const assetCols = `a.id, a.customer_id, a.project_id, a.name, a.original_filename, a.mime, a.format, a.size, a.sha256,
	a.width, a.height, a.frames, a.orientation, a.taken_at, a.gps_lat, a.gps_lon, a.camera_make, a.camera_model,
	a.description, a.category, a.sensitivity, a.status, a.source, a.copyright, a.phash, a.clarity, a.version,
	a.created_at, a.created_by, a.updated_at`

func scanAsset(sc interface{ Scan(...any) error }) (*tuku.Asset, error) {
	var a tuku.Asset
	var project sql.NullString
	var lat, lon sql.NullFloat64
	var phash, created, updated int64
	err := sc.Scan(&a.ID, &a.CustomerID, &project, &a.Name, &a.OriginalFilename, &a.MIME, &a.Format, &a.Size, &a.SHA256,
		&a.Width, &a.Height, &a.Frames, &a.Orientation, &a.TakenAt, &lat, &lon, &a.CameraMake, &a.CameraModel,
		&a.Description, &a.Category, &a.Sensitivity, &a.Status, &a.Source, &a.Copyright, &phash, &a.Clarity, &a.Version,
		&created, &a.CreatedBy, &updated)
	if err != nil {
		return nil, err
	}
	a.ProjectID = project.String
	if lat.Valid && lon.Valid {
		a.GPS = &tuku.GPS{Lat: lat.Float64, Lon: lon.Float64}
	}
	a.PHash = uint64(phash)
	a.CreatedAt, a.UpdatedAt = fromNS(created), fromNS(updated)
	return &a, nil
}

// SortTime is the instant an asset sorts and filters by (unix seconds):
// its capture time when takenAt parses (a time without offset is read as if
// it were UTC, since the offset is unknown), else its upload time.
func SortTime(takenAt string, createdAt time.Time) int64 {
	if takenAt != "" {
		for _, layout := range []string{"2006-01-02T15:04:05Z07:00", "2006-01-02T15:04:05"} {
			if t, err := time.Parse(layout, takenAt); err == nil {
				return t.Unix()
			}
		}
	}
	return createdAt.Unix()
}

// cleanTags trims names, drops empty ones and keeps the first of each name:
// a tag name appears once per asset.
func cleanTags(tags []tuku.Tag) []tuku.Tag {
	out := tags[:0:0]
	seen := make(map[string]bool, len(tags))
	for _, tg := range tags {
		tg.Name = strings.TrimSpace(tg.Name)
		if tg.Name == "" || seen[tg.Name] {
			continue
		}
		seen[tg.Name] = true
		out = append(out, tg)
	}
	return out
}

// writeTags replaces the asset's tags with a.Tags, kept in their order.
func (t *Tx) writeTags(ctx context.Context, a *tuku.Asset, replace bool) error {
	if replace {
		if _, err := t.exec(ctx, `DELETE FROM asset_tags WHERE asset_id = ?`, a.ID); err != nil {
			return err
		}
	}
	a.Tags = cleanTags(a.Tags)
	if len(a.Tags) == 0 {
		return nil
	}
	args := make([]any, 0, 4*len(a.Tags))
	for i, tg := range a.Tags {
		args = append(args, a.ID, tg.Name, string(tg.Source), i)
	}
	q := `INSERT INTO asset_tags (asset_id, name, source, pos) VALUES ` +
		strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?), ", len(a.Tags)), ", ")
	_, err := t.exec(ctx, q, args...)
	return err
}

// InsertAsset implements meta.Tx. It fills in an empty ID and zero
// timestamps, cleans a.Tags (trimmed, no empty or repeated names) and
// writes them. The same bytes for the same customer again are
// errs.Conflict; an unknown customer or project errs.Invalid.
func (t *Tx) InsertAsset(ctx context.Context, a *tuku.Asset) error {
	const op = "meta.insert_asset"
	if err := t.writable(op); err != nil {
		return err
	}
	if a.ID == "" {
		a.ID = tuku.NewID()
	}
	if a.CreatedAt.IsZero() {
		a.CreatedAt = nowUTC()
	}
	if a.UpdatedAt.IsZero() {
		a.UpdatedAt = a.CreatedAt
	}
	var lat, lon sql.NullFloat64
	if a.GPS != nil {
		lat = sql.NullFloat64{Float64: a.GPS.Lat, Valid: true}
		lon = sql.NullFloat64{Float64: a.GPS.Lon, Valid: true}
	}
	_, err := t.exec(ctx, `INSERT INTO assets (id, customer_id, project_id, name, original_filename, mime, format, size, sha256,
		width, height, frames, orientation, taken_at, sort_time, gps_lat, gps_lon, camera_make, camera_model,
		description, category, sensitivity, status, source, copyright, phash, clarity, version,
		created_at, created_by, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		a.ID, a.CustomerID, nullStr(a.ProjectID), a.Name, a.OriginalFilename, a.MIME, a.Format, a.Size, a.SHA256,
		a.Width, a.Height, a.Frames, a.Orientation, a.TakenAt, SortTime(a.TakenAt, a.CreatedAt), lat, lon, a.CameraMake, a.CameraModel,
		a.Description, string(a.Category), string(a.Sensitivity), string(a.Status), a.Source, a.Copyright, int64(a.PHash), a.Clarity, a.Version,
		toNS(a.CreatedAt), a.CreatedBy, toNS(a.UpdatedAt))
	if err == nil {
		err = t.writeTags(ctx, a, false)
	}
	return t.s.mapErr(op, err, "", "this customer already has an asset with the same content")
}

// UpdateAsset implements meta.Tx: it writes the editable fields and
// replaces the tags. A zero UpdatedAt is set to now.
func (t *Tx) UpdateAsset(ctx context.Context, a *tuku.Asset) error {
	const op = "meta.update_asset"
	if err := t.writable(op); err != nil {
		return err
	}
	if a.UpdatedAt.IsZero() {
		a.UpdatedAt = nowUTC()
	}
	res, err := t.exec(ctx, `UPDATE assets SET project_id = ?, name = ?, description = ?, category = ?, sensitivity = ?,
		status = ?, copyright = ?, version = ?, updated_at = ? WHERE id = ?`,
		nullStr(a.ProjectID), a.Name, a.Description, string(a.Category), string(a.Sensitivity),
		string(a.Status), a.Copyright, a.Version, toNS(a.UpdatedAt), a.ID)
	if err != nil {
		return t.s.mapErr(op, err, "", "")
	}
	if err := t.mustAffect(op, res, "asset not found"); err != nil {
		return err
	}
	return t.s.mapErr(op, t.writeTags(ctx, a, true), "", "")
}

// GetAsset implements meta.Tx.
func (t *Tx) GetAsset(ctx context.Context, id string) (*tuku.Asset, error) {
	return t.getAsset(ctx, getAssetByIDQuery, id)
}

// Prepared at Open (see hotQueries).
const (
	getAssetByIDQuery = `SELECT ` + assetCols + ` FROM assets a WHERE a.id = ?`
	tagsOfOneQuery    = `SELECT asset_id, name, source FROM asset_tags WHERE asset_id IN (?) ORDER BY asset_id, pos`
)

// GetAssetBySHA implements meta.Tx.
func (t *Tx) GetAssetBySHA(ctx context.Context, customerID, sha256hex string) (*tuku.Asset, error) {
	return t.getAsset(ctx, `SELECT `+assetCols+` FROM assets a WHERE a.customer_id = ? AND a.sha256 = ?`, customerID, sha256hex)
}

func (t *Tx) getAsset(ctx context.Context, q string, args ...any) (*tuku.Asset, error) {
	const op = "meta.get_asset"
	a, err := scanAsset(t.queryRow(ctx, q, args...))
	if err != nil {
		return nil, t.s.mapErr(op, err, "asset not found", "")
	}
	list := []tuku.Asset{*a}
	if err := t.loadTags(ctx, list); err != nil {
		return nil, t.s.mapErr(op, err, "", "")
	}
	return &list[0], nil
}

// loadTags fills in the tags of as with one query.
func (t *Tx) loadTags(ctx context.Context, as []tuku.Asset) error {
	if len(as) == 0 {
		return nil
	}
	idx := make(map[string]int, len(as))
	args := make([]any, len(as))
	for i := range as {
		idx[as[i].ID] = i
		args[i] = as[i].ID
		as[i].Tags = []tuku.Tag{}
	}
	q := tagsOfOneQuery
	if len(as) > 1 {
		q = `SELECT asset_id, name, source FROM asset_tags WHERE asset_id IN (` + placeholders(len(as)) + `) ORDER BY asset_id, pos`
	}
	rows, err := t.query(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var tg tuku.Tag
		if err := rows.Scan(&id, &tg.Name, &tg.Source); err != nil {
			return err
		}
		if i, ok := idx[id]; ok {
			as[i].Tags = append(as[i].Tags, tg)
		}
	}
	return rows.Err()
}

// EncodeCursor and DecodeCursor make the opaque page cursor: the ID of the
// last asset of the page.
func EncodeCursor(lastID string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(lastID))
}

func DecodeCursor(c string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || !tuku.ValidID(string(b)) {
		return "", errs.E(errs.Invalid, "meta.list_assets", "invalid page cursor", err)
	}
	return string(b), nil
}

// encodeTakenCursor and decodeTakenCursor make the cursor of the
// capture-time order: the sort time and ID of the page's last asset.
func encodeTakenCursor(sortTime int64, lastID string) string {
	return base64.RawURLEncoding.EncodeToString([]byte("t" + strconv.FormatInt(sortTime, 10) + "." + lastID))
}

func decodeTakenCursor(c string) (int64, string, error) {
	bad := errs.E(errs.Invalid, "meta.list_assets", "invalid page cursor", nil)
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || len(b) < 2 || b[0] != 't' {
		return 0, "", bad
	}
	ts, id, ok := strings.Cut(string(b[1:]), ".")
	st, err := strconv.ParseInt(ts, 10, 64)
	if !ok || err != nil || !tuku.ValidID(id) {
		return 0, "", bad
	}
	return st, id, nil
}

// where builds the WHERE clause for f (without the cursor). none reports
// that f can match nothing (an empty, non-nil CustomerIDs).
func (t *Tx) where(f *meta.AssetFilter) (clause string, args []any, none bool) {
	var conds []string
	add := func(c string, a ...any) {
		conds = append(conds, c)
		args = append(args, a...)
	}
	if f.CustomerID != "" {
		add(`a.customer_id = ?`, f.CustomerID)
	}
	if f.CustomerIDs != nil {
		if len(f.CustomerIDs) == 0 {
			return "", nil, true
		}
		ids := make([]any, len(f.CustomerIDs))
		for i, id := range f.CustomerIDs {
			ids[i] = id
		}
		add(`a.customer_id IN (`+placeholders(len(ids))+`)`, ids...)
	}
	if f.Scopes != nil {
		// One OR-ed condition per scope (a member's grants): its customer,
		// its project when it names one, and the sensitivities it opens.
		var ors []string
		var sargs []any
		for _, sc := range f.Scopes {
			if len(sc.Sensitivities) == 0 {
				continue
			}
			c := `(a.customer_id = ?`
			sargs = append(sargs, sc.CustomerID)
			if sc.ProjectID != "" {
				c += ` AND a.project_id = ?`
				sargs = append(sargs, sc.ProjectID)
			}
			c += ` AND a.sensitivity IN (` + placeholders(len(sc.Sensitivities)) + `))`
			for _, x := range sc.Sensitivities {
				sargs = append(sargs, x)
			}
			ors = append(ors, c)
		}
		if len(ors) == 0 {
			return "", nil, true
		}
		add(`(`+strings.Join(ors, " OR ")+`)`, sargs...)
	}
	if f.ProjectID != "" {
		add(`a.project_id = ?`, f.ProjectID)
	}
	if f.Tag != "" {
		add(`EXISTS (SELECT 1 FROM asset_tags t WHERE t.asset_id = a.id AND t.name = ?)`, strings.TrimSpace(f.Tag))
	}
	if f.Category != "" {
		add(`a.category = ?`, f.Category)
	}
	if f.Status != "" {
		add(`a.status = ?`, f.Status)
	}
	if f.Sensitivity != "" {
		add(`a.sensitivity = ?`, f.Sensitivity)
	}
	// Every whitespace-separated word must occur somewhere: in the asset's
	// name, description, file name or a tag, or in the name or code of its
	// customer or the name of its project. A one-word query is a plain
	// substring match. (Visibility is the scope condition above, so a
	// customer's name finds only assets the caller may see.)
	like := t.s.d.Like
	for _, w := range strings.Fields(f.Query) {
		p := likePattern(w)
		add(`(a.name `+like+` ? ESCAPE '\' OR a.description `+like+` ? ESCAPE '\' OR a.original_filename `+like+` ? ESCAPE '\'`+
			` OR EXISTS (SELECT 1 FROM asset_tags q WHERE q.asset_id = a.id AND q.name `+like+` ? ESCAPE '\')`+
			` OR EXISTS (SELECT 1 FROM customers qc WHERE qc.id = a.customer_id AND (qc.name `+like+` ? ESCAPE '\' OR qc.code `+like+` ? ESCAPE '\'))`+
			` OR EXISTS (SELECT 1 FROM projects qp WHERE qp.id = a.project_id AND qp.name `+like+` ? ESCAPE '\'))`, p, p, p, p, p, p, p)
	}
	if !f.From.IsZero() {
		add(`a.sort_time >= ?`, f.From.Unix())
	}
	if !f.To.IsZero() {
		add(`a.sort_time < ?`, f.To.Unix())
	}
	if len(conds) == 0 {
		return "", args, false
	}
	return " WHERE " + strings.Join(conds, " AND "), args, false
}

// ListAssets implements meta.Tx: keyset pagination over id DESC.
func (t *Tx) ListAssets(ctx context.Context, f meta.AssetFilter) ([]tuku.Asset, string, error) {
	const op = "meta.list_assets"
	limit := f.Limit
	if limit <= 0 {
		limit = defaultLimit
	}
	if limit > maxLimit {
		limit = maxLimit
	}
	clause, args, none := t.where(&f)
	if none {
		return []tuku.Asset{}, "", nil
	}
	byTaken := f.Sort == meta.SortTaken
	if f.Cursor != "" {
		cond := "a.id < ?"
		if byTaken {
			st, last, err := decodeTakenCursor(f.Cursor)
			if err != nil {
				return nil, "", err
			}
			cond = "(a.sort_time < ? OR (a.sort_time = ? AND a.id < ?))"
			args = append(args, st, st, last)
		} else {
			last, err := DecodeCursor(f.Cursor)
			if err != nil {
				return nil, "", err
			}
			args = append(args, last)
		}
		if clause == "" {
			clause = " WHERE " + cond
		} else {
			clause += " AND " + cond
		}
	}
	order := ` ORDER BY a.id DESC`
	if byTaken {
		order = ` ORDER BY a.sort_time DESC, a.id DESC`
	}
	// One row more than asked tells whether there is a next page.
	args = append(args, limit+1)
	rows, err := t.query(ctx, `SELECT `+assetCols+` FROM assets a`+clause+order+` LIMIT ?`, args...)
	if err != nil {
		return nil, "", t.s.mapErr(op, err, "", "")
	}
	out := make([]tuku.Asset, 0, min(limit, 64))
	for rows.Next() {
		a, err := scanAsset(rows)
		if err != nil {
			rows.Close()
			return nil, "", t.s.mapErr(op, err, "", "")
		}
		out = append(out, *a)
	}
	err = rows.Err()
	rows.Close()
	if err != nil {
		return nil, "", t.s.mapErr(op, err, "", "")
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		next = EncodeCursor(out[limit-1].ID)
		if byTaken {
			a := &out[limit-1]
			next = encodeTakenCursor(SortTime(a.TakenAt, a.CreatedAt), a.ID)
		}
	}
	if err := t.loadTags(ctx, out); err != nil {
		return nil, "", t.s.mapErr(op, err, "", "")
	}
	return out, next, nil
}

// CountAssets implements meta.Tx (the cursor and limit are ignored).
func (t *Tx) CountAssets(ctx context.Context, f meta.AssetFilter) (int64, error) {
	clause, args, none := t.where(&f)
	if none {
		return 0, nil
	}
	var n int64
	err := t.queryRow(ctx, `SELECT COUNT(*) FROM assets a`+clause, args...).Scan(&n)
	return n, t.s.mapErr("meta.count_assets", err, "", "")
}
