package sqldb

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"tuku/internal/errs"
	"tuku/internal/meta"
	"tuku/internal/tuku"
)

// Tx implements meta.Tx over one database/sql transaction.
type Tx struct {
	s    *Store
	tx   *sql.Tx
	pool *pool // the pool the transaction runs on
	ro   bool  // a View: writes are refused before they reach the database
}

var _ meta.Tx = (*Tx)(nil)

func nowUTC() time.Time { return time.Now().UTC() }

// writable refuses writes in a View with errs.Invalid. The database would
// refuse them too (query_only / READ ONLY), this just says so clearly.
func (t *Tx) writable(op string) error {
	if t.ro {
		return errs.E(errs.Invalid, op, "write in a read-only transaction", nil)
	}
	return nil
}

func (t *Tx) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return t.tx.ExecContext(ctx, t.s.d.rebind(q), args...)
}

func (t *Tx) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if st := t.prepared(ctx, q); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return t.tx.QueryContext(ctx, t.s.d.rebind(q), args...)
}

func (t *Tx) queryRow(ctx context.Context, q string, args ...any) *sql.Row {
	if st := t.prepared(ctx, q); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return t.tx.QueryRowContext(ctx, t.s.d.rebind(q), args...)
}

// prepared returns the transaction's handle on a statement prepared when
// the store opened (the hot read path: one asset, its tags and rendition,
// a token, a user), or nil for any other query. Parsing SQL on every call
// was a fifth of a thumbnail request's cost.
func (t *Tx) prepared(ctx context.Context, q string) *sql.Stmt {
	if st := t.pool.stmts[q]; st != nil {
		return t.tx.StmtContext(ctx, st)
	}
	return nil
}

// mustAffect turns "no row matched" into errs.NotFound.
func (t *Tx) mustAffect(op string, res sql.Result, notFound string) error {
	n, err := res.RowsAffected()
	if err != nil {
		return t.s.mapErr(op, err, "", "")
	}
	if n == 0 {
		return errs.E(errs.NotFound, op, notFound, nil)
	}
	return nil
}

func nullStr(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }

// ---- customers ----

const customerCols = `id, name, code, contact, notes, sensitivity, created_at, updated_at`

func scanCustomer(sc interface{ Scan(...any) error }) (*tuku.Customer, error) {
	var c tuku.Customer
	var created, updated int64
	if err := sc.Scan(&c.ID, &c.Name, &c.Code, &c.Contact, &c.Notes, &c.Sensitivity, &created, &updated); err != nil {
		return nil, err
	}
	c.CreatedAt, c.UpdatedAt = fromNS(created), fromNS(updated)
	return &c, nil
}

// CreateCustomer implements meta.Tx. It fills in an empty ID and zero
// timestamps.
func (t *Tx) CreateCustomer(ctx context.Context, c *tuku.Customer) error {
	const op = "meta.create_customer"
	if err := t.writable(op); err != nil {
		return err
	}
	if c.ID == "" {
		c.ID = tuku.NewID()
	}
	if c.CreatedAt.IsZero() {
		c.CreatedAt = nowUTC()
	}
	if c.UpdatedAt.IsZero() {
		c.UpdatedAt = c.CreatedAt
	}
	_, err := t.exec(ctx, `INSERT INTO customers (`+customerCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		c.ID, c.Name, c.Code, c.Contact, c.Notes, string(c.Sensitivity), toNS(c.CreatedAt), toNS(c.UpdatedAt))
	return t.s.mapErr(op, err, "", "a customer with code "+c.Code+" already exists")
}

// UpdateCustomer implements meta.Tx: it writes every field but ID and
// CreatedAt, and sets a zero UpdatedAt to now.
func (t *Tx) UpdateCustomer(ctx context.Context, c *tuku.Customer) error {
	const op = "meta.update_customer"
	if err := t.writable(op); err != nil {
		return err
	}
	if c.UpdatedAt.IsZero() {
		c.UpdatedAt = nowUTC()
	}
	res, err := t.exec(ctx, `UPDATE customers SET name = ?, code = ?, contact = ?, notes = ?, sensitivity = ?, updated_at = ? WHERE id = ?`,
		c.Name, c.Code, c.Contact, c.Notes, string(c.Sensitivity), toNS(c.UpdatedAt), c.ID)
	if err != nil {
		return t.s.mapErr(op, err, "", "a customer with code "+c.Code+" already exists")
	}
	return t.mustAffect(op, res, "customer not found")
}

// GetCustomer implements meta.Tx.
func (t *Tx) GetCustomer(ctx context.Context, id string) (*tuku.Customer, error) {
	c, err := scanCustomer(t.queryRow(ctx, `SELECT `+customerCols+` FROM customers WHERE id = ?`, id))
	return c, t.s.mapErr("meta.get_customer", err, "customer not found", "")
}

// GetCustomerByCode implements meta.Tx; the code matches case-insensitively.
func (t *Tx) GetCustomerByCode(ctx context.Context, code string) (*tuku.Customer, error) {
	c, err := scanCustomer(t.queryRow(ctx, `SELECT `+customerCols+` FROM customers WHERE lower(code) = lower(?)`, code))
	return c, t.s.mapErr("meta.get_customer", err, "customer not found", "")
}

// ListCustomers implements meta.Tx, ordered by name.
func (t *Tx) ListCustomers(ctx context.Context) ([]tuku.Customer, error) {
	const op = "meta.list_customers"
	rows, err := t.query(ctx, `SELECT `+customerCols+` FROM customers ORDER BY name, id`)
	if err != nil {
		return nil, t.s.mapErr(op, err, "", "")
	}
	defer rows.Close()
	var out []tuku.Customer
	for rows.Next() {
		c, err := scanCustomer(rows)
		if err != nil {
			return nil, t.s.mapErr(op, err, "", "")
		}
		out = append(out, *c)
	}
	return out, t.s.mapErr(op, rows.Err(), "", "")
}

// ---- projects ----

const projectCols = `id, customer_id, name, notes, created_at`

func scanProject(sc interface{ Scan(...any) error }) (*tuku.Project, error) {
	var p tuku.Project
	var created int64
	if err := sc.Scan(&p.ID, &p.CustomerID, &p.Name, &p.Notes, &created); err != nil {
		return nil, err
	}
	p.CreatedAt = fromNS(created)
	return &p, nil
}

// CreateProject implements meta.Tx. It fills in an empty ID and a zero
// CreatedAt; an unknown customer is errs.Invalid.
func (t *Tx) CreateProject(ctx context.Context, p *tuku.Project) error {
	const op = "meta.create_project"
	if err := t.writable(op); err != nil {
		return err
	}
	if p.ID == "" {
		p.ID = tuku.NewID()
	}
	if p.CreatedAt.IsZero() {
		p.CreatedAt = nowUTC()
	}
	_, err := t.exec(ctx, `INSERT INTO projects (`+projectCols+`) VALUES (?, ?, ?, ?, ?)`,
		p.ID, p.CustomerID, p.Name, p.Notes, toNS(p.CreatedAt))
	return t.s.mapErr(op, err, "", "this customer already has a project named "+p.Name)
}

// GetProject implements meta.Tx.
func (t *Tx) GetProject(ctx context.Context, id string) (*tuku.Project, error) {
	p, err := scanProject(t.queryRow(ctx, `SELECT `+projectCols+` FROM projects WHERE id = ?`, id))
	return p, t.s.mapErr("meta.get_project", err, "project not found", "")
}

// ListProjects implements meta.Tx: a customer's projects ordered by name,
// or every project when customerID is "".
func (t *Tx) ListProjects(ctx context.Context, customerID string) ([]tuku.Project, error) {
	const op = "meta.list_projects"
	q := `SELECT ` + projectCols + ` FROM projects`
	var args []any
	if customerID != "" {
		q += ` WHERE customer_id = ?`
		args = append(args, customerID)
	}
	rows, err := t.query(ctx, q+` ORDER BY name, id`, args...)
	if err != nil {
		return nil, t.s.mapErr(op, err, "", "")
	}
	defer rows.Close()
	var out []tuku.Project
	for rows.Next() {
		p, err := scanProject(rows)
		if err != nil {
			return nil, t.s.mapErr(op, err, "", "")
		}
		out = append(out, *p)
	}
	return out, t.s.mapErr(op, rows.Err(), "", "")
}

// ---- naming sequence ----

// NextSeq implements meta.Tx. The upsert takes the row lock, so concurrent
// transactions get consecutive values.
func (t *Tx) NextSeq(ctx context.Context, key string) (int, error) {
	const op = "meta.next_seq"
	if err := t.writable(op); err != nil {
		return 0, err
	}
	var v int
	err := t.queryRow(ctx, `INSERT INTO name_seq (key, value) VALUES (?, 1)
		ON CONFLICT (key) DO UPDATE SET value = name_seq.value + 1 RETURNING value`, key).Scan(&v)
	return v, t.s.mapErr(op, err, "", "")
}

// ---- renditions ----

// PutRendition implements meta.Tx: it inserts or replaces the rendition of
// this asset and size.
func (t *Tx) PutRendition(ctx context.Context, r meta.Rendition) error {
	const op = "meta.put_rendition"
	if err := t.writable(op); err != nil {
		return err
	}
	_, err := t.exec(ctx, `INSERT INTO renditions (asset_id, size, blob_key, format, width, height, bytes)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (asset_id, size) DO UPDATE SET blob_key = excluded.blob_key, format = excluded.format,
			width = excluded.width, height = excluded.height, bytes = excluded.bytes`,
		r.AssetID, r.Size, r.Key, r.Format, r.Width, r.Height, r.Bytes)
	return t.s.mapErr(op, err, "", "")
}

// GetRendition implements meta.Tx.
func (t *Tx) GetRendition(ctx context.Context, assetID, size string) (*meta.Rendition, error) {
	var r meta.Rendition
	err := t.queryRow(ctx, getRenditionQuery, assetID, size).Scan(&r.AssetID, &r.Size, &r.Key, &r.Format, &r.Width, &r.Height, &r.Bytes)
	if err != nil {
		return nil, t.s.mapErr("meta.get_rendition", err, "rendition not found", "")
	}
	return &r, nil
}

// ---- users and tokens ----

// The hot read queries, prepared at Open (see hotQueries).
const (
	getTokenQuery        = `SELECT ` + tokenCols + ` FROM tokens WHERE hash = ?`
	getUserQuery         = `SELECT ` + userCols + ` FROM users WHERE id = ?`
	getImportRecordQuery = `SELECT customer_id, path, size, mtime_ns, inode, asset_id FROM import_records WHERE customer_id = ? AND path = ?`
	getRenditionQuery    = `SELECT asset_id, size, blob_key, format, width, height, bytes FROM renditions WHERE asset_id = ? AND size = ?`
)

const userCols = `id, email, display_name, role, password_hash, disabled, locale, password_changed_at, created_at, must_change_password`

func scanUser(sc interface{ Scan(...any) error }) (*tuku.User, error) {
	var u tuku.User
	var pwChanged, created int64
	if err := sc.Scan(&u.ID, &u.Email, &u.DisplayName, &u.Role, &u.PasswordHash, &u.Disabled, &u.Locale, &pwChanged, &created, &u.MustChangePassword); err != nil {
		return nil, err
	}
	u.PasswordChangedAt, u.CreatedAt = fromNS(pwChanged), fromNS(created)
	return &u, nil
}

// CreateUser implements meta.Tx. The email is normalised (tuku.NormEmail)
// in u; an empty ID and a zero CreatedAt are filled in.
func (t *Tx) CreateUser(ctx context.Context, u *tuku.User) error {
	const op = "meta.create_user"
	if err := t.writable(op); err != nil {
		return err
	}
	u.Email = tuku.NormEmail(u.Email)
	if u.ID == "" {
		u.ID = tuku.NewID()
	}
	if u.CreatedAt.IsZero() {
		u.CreatedAt = nowUTC()
	}
	_, err := t.exec(ctx, `INSERT INTO users (`+userCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		u.ID, u.Email, u.DisplayName, string(u.Role), u.PasswordHash, u.Disabled, u.Locale, toNS(u.PasswordChangedAt), toNS(u.CreatedAt),
		u.MustChangePassword)
	return t.s.mapErr(op, err, "", "a user with email "+u.Email+" already exists")
}

// GetUser implements meta.Tx.
func (t *Tx) GetUser(ctx context.Context, id string) (*tuku.User, error) {
	u, err := scanUser(t.queryRow(ctx, getUserQuery, id))
	return u, t.s.mapErr("meta.get_user", err, "user not found", "")
}

// GetUserByEmail implements meta.Tx; the email is normalised first.
func (t *Tx) GetUserByEmail(ctx context.Context, email string) (*tuku.User, error) {
	u, err := scanUser(t.queryRow(ctx, `SELECT `+userCols+` FROM users WHERE email = ?`, tuku.NormEmail(email)))
	return u, t.s.mapErr("meta.get_user", err, "user not found", "")
}

// ListUsers implements meta.Tx, ordered by email.
func (t *Tx) ListUsers(ctx context.Context) ([]tuku.User, error) {
	const op = "meta.list_users"
	rows, err := t.query(ctx, `SELECT `+userCols+` FROM users ORDER BY email`)
	if err != nil {
		return nil, t.s.mapErr(op, err, "", "")
	}
	defer rows.Close()
	var out []tuku.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, t.s.mapErr(op, err, "", "")
		}
		out = append(out, *u)
	}
	return out, t.s.mapErr(op, rows.Err(), "", "")
}

// CountUsers implements meta.Tx.
func (t *Tx) CountUsers(ctx context.Context) (int, error) {
	var n int
	err := t.queryRow(ctx, `SELECT COUNT(*) FROM users`).Scan(&n)
	return n, t.s.mapErr("meta.count_users", err, "", "")
}

// ActiveAdmins implements meta.Tx.
func (t *Tx) ActiveAdmins(ctx context.Context) ([]string, error) {
	const op = "meta.active_admins"
	q := `SELECT id FROM users WHERE role = ? AND disabled = ? ORDER BY id`
	if !t.ro && t.s.d.LockHead != "" {
		// PostgreSQL runs Read Committed: a second transaction waits here
		// for the first and then sees its change. (SQLite's write
		// transactions are serialised already.)
		q += " " + t.s.d.LockHead
	}
	rows, err := t.query(ctx, q, string(tuku.RoleAdmin), false)
	if err != nil {
		return nil, t.s.mapErr(op, err, "", "")
	}
	defer rows.Close()
	ids := []string{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, t.s.mapErr(op, err, "", "")
		}
		ids = append(ids, id)
	}
	return ids, t.s.mapErr(op, rows.Err(), "", "")
}

// CreateToken implements meta.Tx. An unknown user is errs.Invalid.
func (t *Tx) CreateToken(ctx context.Context, k *tuku.Token) error {
	const op = "meta.create_token"
	if err := t.writable(op); err != nil {
		return err
	}
	if k.ID == "" {
		k.ID = tuku.NewID()
	}
	if k.CreatedAt.IsZero() {
		k.CreatedAt = nowUTC()
	}
	var revoked sql.NullInt64
	if k.RevokedAt != nil {
		revoked = sql.NullInt64{Int64: toNS(*k.RevokedAt), Valid: true}
	}
	_, err := t.exec(ctx, `INSERT INTO tokens (id, user_id, name, hash, scope, customer_id, created_at, revoked_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		k.ID, k.UserID, k.Name, k.Hash, k.Scope, k.CustomerID, toNS(k.CreatedAt), revoked)
	return t.s.mapErr(op, err, "", "this token already exists")
}

// GetTokenByHash implements meta.Tx. Revoked tokens are returned too (with
// RevokedAt set): the caller decides.
func (t *Tx) GetTokenByHash(ctx context.Context, hash string) (*tuku.Token, error) {
	k, err := scanToken(t.queryRow(ctx, getTokenQuery, hash))
	if err != nil {
		return nil, t.s.mapErr("meta.get_token", err, "token not found", "")
	}
	return k, nil
}

const tokenCols = `id, user_id, name, hash, scope, customer_id, created_at, revoked_at`

func scanToken(sc interface{ Scan(...any) error }) (*tuku.Token, error) {
	var k tuku.Token
	var created int64
	var revoked sql.NullInt64
	if err := sc.Scan(&k.ID, &k.UserID, &k.Name, &k.Hash, &k.Scope, &k.CustomerID, &created, &revoked); err != nil {
		return nil, err
	}
	k.CreatedAt = fromNS(created)
	if revoked.Valid {
		r := fromNS(revoked.Int64)
		k.RevokedAt = &r
	}
	return &k, nil
}

// ---- import cache ----

// GetImportRecord implements meta.Tx.
func (t *Tx) GetImportRecord(ctx context.Context, customerID, path string) (*meta.ImportRecord, error) {
	var r meta.ImportRecord
	var inode int64
	err := t.queryRow(ctx, getImportRecordQuery, customerID, path).Scan(&r.CustomerID, &r.Path, &r.Size, &r.ModTimeNs, &inode, &r.AssetID)
	if err != nil {
		return nil, t.s.mapErr("meta.get_import_record", err, "no import record", "")
	}
	r.Inode = uint64(inode)
	return &r, nil
}

// WalkImportRecords implements meta.Tx. The prefix is matched as a range
// of the primary key (customer_id, path), not with LIKE, so the index
// serves it and no character of the path is special.
func (t *Tx) WalkImportRecords(ctx context.Context, customerID, prefix string, fn func(meta.ImportRecord) error) error {
	const op = "meta.walk_import_records"
	q := `SELECT customer_id, path, size, mtime_ns, inode, asset_id FROM import_records WHERE customer_id = ? AND path >= ?`
	args := []any{customerID, prefix}
	if end, ok := prefixEnd(prefix); ok {
		q += ` AND path < ?`
		args = append(args, end)
	}
	rows, err := t.query(ctx, q+` ORDER BY path`, args...)
	if err != nil {
		return t.s.mapErr(op, err, "", "")
	}
	defer rows.Close()
	for rows.Next() {
		var r meta.ImportRecord
		var inode int64
		if err := rows.Scan(&r.CustomerID, &r.Path, &r.Size, &r.ModTimeNs, &inode, &r.AssetID); err != nil {
			return t.s.mapErr(op, err, "", "")
		}
		r.Inode = uint64(inode)
		if err := fn(r); err != nil {
			return err
		}
	}
	return t.s.mapErr(op, rows.Err(), "", "")
}

// prefixEnd is the smallest string greater than every string starting
// with prefix (byte-wise), or false when there is none.
func prefixEnd(prefix string) (string, bool) {
	b := []byte(prefix)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < 0xFF {
			b[i]++
			return string(b[:i+1]), true
		}
	}
	return "", false
}

// PutImportRecord implements meta.Tx: it inserts or replaces the record
// for (CustomerID, Path).
func (t *Tx) PutImportRecord(ctx context.Context, r meta.ImportRecord) error {
	const op = "meta.put_import_record"
	if err := t.writable(op); err != nil {
		return err
	}
	// Inodes are stored bit for bit in a signed BIGINT.
	_, err := t.exec(ctx, `INSERT INTO import_records (customer_id, path, size, mtime_ns, inode, asset_id)
		VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (customer_id, path) DO UPDATE SET size = excluded.size, mtime_ns = excluded.mtime_ns,
			inode = excluded.inode, asset_id = excluded.asset_id`,
		r.CustomerID, r.Path, r.Size, r.ModTimeNs, int64(r.Inode), r.AssetID)
	return t.s.mapErr(op, err, "", "")
}

// likePattern makes a LIKE pattern matching s anywhere, with the LIKE
// wildcards in s escaped (ESCAPE '\').
func likePattern(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(s) + "%"
}
