package sqldb

import (
	"context"
	"database/sql"
	"strings"

	"tuku/internal/errs"
	"tuku/internal/meta"
	"tuku/internal/tuku"
)

// grants.project_id is NULL for a grant on the whole customer (so that the
// foreign key to projects applies only to project grants); the generated
// column project_key (project_id or '') carries the uniqueness of
// (user, customer, project), since NULLs never collide in a UNIQUE key.

const grantCols = `id, user_id, customer_id, project_id, level, confidential, created_at, created_by`

func scanGrant(sc interface{ Scan(...any) error }) (*tuku.Grant, error) {
	var g tuku.Grant
	var project sql.NullString
	var created int64
	if err := sc.Scan(&g.ID, &g.UserID, &g.CustomerID, &project, &g.Level, &g.Confidential, &created, &g.CreatedBy); err != nil {
		return nil, err
	}
	g.ProjectID = project.String
	g.CreatedAt = fromNS(created)
	return &g, nil
}

// PutGrant implements meta.Tx. When (user, customer, project) already has
// a grant, that row keeps its ID (written back to g.ID) and takes g's
// level, confidential flag, CreatedAt and CreatedBy: the grant as it now
// stands was made by that person at that time. A level outside
// viewer..manager is errs.Invalid; an unknown user, customer, or a project
// not of that customer errs.Invalid too.
func (t *Tx) PutGrant(ctx context.Context, g *tuku.Grant) error {
	const op = "meta.put_grant"
	if err := t.writable(op); err != nil {
		return err
	}
	if g.Level < tuku.LevelViewer || g.Level > tuku.LevelManager {
		return errs.Ef(errs.Invalid, op, "invalid grant level %d", int(g.Level))
	}
	if g.ID == "" {
		g.ID = tuku.NewID()
	}
	if g.CreatedAt.IsZero() {
		g.CreatedAt = nowUTC()
	}
	var id string
	err := t.queryRow(ctx, `INSERT INTO grants (`+grantCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (user_id, customer_id, project_key) DO UPDATE SET level = excluded.level,
			confidential = excluded.confidential, created_at = excluded.created_at, created_by = excluded.created_by
		RETURNING id`,
		g.ID, g.UserID, g.CustomerID, nullStr(g.ProjectID), int(g.Level), g.Confidential, toNS(g.CreatedAt), g.CreatedBy).Scan(&id)
	if err != nil {
		return t.s.mapErr(op, err, "", "a grant with this ID already exists")
	}
	g.ID = id
	return nil
}

// GetGrant implements meta.Tx.
func (t *Tx) GetGrant(ctx context.Context, id string) (*tuku.Grant, error) {
	g, err := scanGrant(t.queryRow(ctx, `SELECT `+grantCols+` FROM grants WHERE id = ?`, id))
	if err != nil {
		return nil, t.s.mapErr("meta.get_grant", err, "grant not found", "")
	}
	return g, nil
}

// DeleteGrant implements meta.Tx (NotFound for an unknown ID).
func (t *Tx) DeleteGrant(ctx context.Context, id string) error {
	const op = "meta.delete_grant"
	if err := t.writable(op); err != nil {
		return err
	}
	res, err := t.exec(ctx, `DELETE FROM grants WHERE id = ?`, id)
	if err != nil {
		return t.s.mapErr(op, err, "", "")
	}
	return t.mustAffect(op, res, "grant not found")
}

// grantsOfUserQuery builds every signed-in request's principal: it is
// prepared at Open (see hotQueries). ListGrants builds the same text.
const grantsOfUserQuery = `SELECT ` + grantCols + ` FROM grants WHERE user_id = ? ORDER BY customer_id, project_key, user_id`

// ListGrants implements meta.Tx, ordered by customer, project (the
// customer-wide grant first), user.
func (t *Tx) ListGrants(ctx context.Context, f meta.GrantFilter) ([]tuku.Grant, error) {
	const op = "meta.list_grants"
	var conds []string
	var args []any
	if f.UserID != "" {
		conds, args = append(conds, `user_id = ?`), append(args, f.UserID)
	}
	if f.CustomerID != "" {
		conds, args = append(conds, `customer_id = ?`), append(args, f.CustomerID)
	}
	if f.ProjectID != "" {
		conds, args = append(conds, `project_id = ?`), append(args, f.ProjectID)
	}
	q := `SELECT ` + grantCols + ` FROM grants`
	if len(conds) > 0 {
		q += ` WHERE ` + strings.Join(conds, ` AND `)
	}
	q += ` ORDER BY customer_id, project_key, user_id`
	if len(conds) == 1 && f.UserID != "" {
		q = grantsOfUserQuery // the same text, prepared
	}
	rows, err := t.query(ctx, q, args...)
	if err != nil {
		return nil, t.s.mapErr(op, err, "", "")
	}
	defer rows.Close()
	out := []tuku.Grant{}
	for rows.Next() {
		g, err := scanGrant(rows)
		if err != nil {
			return nil, t.s.mapErr(op, err, "", "")
		}
		out = append(out, *g)
	}
	return out, t.s.mapErr(op, rows.Err(), "", "")
}
