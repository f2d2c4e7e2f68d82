// Package meta is Tuku's relational metadata: the register, assets, users,
// tokens, the import cache and the durable job queue. Every change happens in
// an explicit transaction (Store.Tx) so that a use case's writes, the jobs it
// enqueues and (later) its audit rows commit or roll back together.
//
// Implementations: meta/sqlite (the default, one file in the data dir) and
// meta/postgres. Both share their SQL in meta/sqldb and pass the conformance
// suite in meta/metatest.
package meta

import (
	"context"
	"time"

	"tuku/internal/tuku"
)

// Store opens transactions. It is safe for concurrent use.
type Store interface {
	// Tx runs fn in a read-write transaction and commits if fn returns nil;
	// otherwise it rolls back and returns fn's error. fn may be retried by
	// the implementation on a serialization failure, so it must not have
	// side effects outside the transaction.
	Tx(ctx context.Context, fn func(tx Tx) error) error

	// View runs fn in a read-only transaction (a consistent snapshot).
	View(ctx context.Context, fn func(tx Tx) error) error

	// Jobs is the durable queue stored in the same database.
	Jobs() JobQueue

	// Ping checks that the database answers (for /readyz).
	Ping(ctx context.Context) error

	// Close releases the connections.
	Close() error
}

// Tx is one transaction. It must not be used after the function given to
// Tx or View returns, nor from several goroutines at once.
//
// Errors: a missing row is errs.NotFound; a uniqueness violation
// errs.Conflict; a write in a View errs.Invalid.
type Tx interface {
	// Customers. Code is unique (case-insensitive).
	CreateCustomer(ctx context.Context, c *tuku.Customer) error
	UpdateCustomer(ctx context.Context, c *tuku.Customer) error
	GetCustomer(ctx context.Context, id string) (*tuku.Customer, error)
	GetCustomerByCode(ctx context.Context, code string) (*tuku.Customer, error)
	ListCustomers(ctx context.Context) ([]tuku.Customer, error)

	// Projects. Name is unique within a customer.
	CreateProject(ctx context.Context, p *tuku.Project) error
	GetProject(ctx context.Context, id string) (*tuku.Project, error)
	ListProjects(ctx context.Context, customerID string) ([]tuku.Project, error)

	// Assets. (CustomerID, SHA256) is unique: inserting the same bytes for
	// the same customer again fails with errs.Conflict. InsertAsset also
	// writes a.Tags.
	InsertAsset(ctx context.Context, a *tuku.Asset) error
	// UpdateAsset writes the editable fields (project, name, description,
	// category, sensitivity, status, copyright, tags, version, updated_at).
	UpdateAsset(ctx context.Context, a *tuku.Asset) error
	GetAsset(ctx context.Context, id string) (*tuku.Asset, error)
	GetAssetBySHA(ctx context.Context, customerID, sha256hex string) (*tuku.Asset, error)
	// ListAssets returns up to f.Limit assets matching f, newest first
	// (by ID, which sorts by creation), and the cursor of the next page
	// ("" when there is none).
	ListAssets(ctx context.Context, f AssetFilter) ([]tuku.Asset, string, error)
	// CountAssets counts what ListAssets would return without a limit.
	CountAssets(ctx context.Context, f AssetFilter) (int64, error)
	// SumAssetBytes adds up the original sizes of what ListAssets would
	// return without a limit (storage used, for the home page).
	SumAssetBytes(ctx context.Context, f AssetFilter) (int64, error)

	// NextSeq increments and returns the naming-template sequence for this
	// key (e.g. customer + date + description); the first call returns 1.
	NextSeq(ctx context.Context, key string) (int, error)

	// Renditions records which derived images exist for an asset.
	PutRendition(ctx context.Context, r Rendition) error
	GetRendition(ctx context.Context, assetID, size string) (*Rendition, error)

	// Users and tokens. Email is unique (stored lower case).
	CreateUser(ctx context.Context, u *tuku.User) error
	GetUser(ctx context.Context, id string) (*tuku.User, error)
	GetUserByEmail(ctx context.Context, email string) (*tuku.User, error)
	ListUsers(ctx context.Context) ([]tuku.User, error)
	CountUsers(ctx context.Context) (int, error)
	// ActiveAdmins returns the IDs of the administrators who are not
	// disabled. In a write transaction their rows stay locked until it
	// ends, so two concurrent demotions cannot both see "another admin
	// is left" and leave none.
	ActiveAdmins(ctx context.Context) ([]string, error)
	CreateToken(ctx context.Context, t *tuku.Token) error
	GetTokenByHash(ctx context.Context, hash string) (*tuku.Token, error)

	// Import cache: what a file at a path with this size and mtime became,
	// so re-importing an unchanged folder reads no file.
	GetImportRecord(ctx context.Context, customerID, path string) (*ImportRecord, error)
	PutImportRecord(ctx context.Context, r ImportRecord) error
	// WalkImportRecords calls fn for every record of the customer whose
	// path starts with prefix, in path order, so a whole folder is checked
	// with one query. fn must not use the transaction.
	WalkImportRecords(ctx context.Context, customerID, prefix string, fn func(ImportRecord) error) error

	// Enqueue adds a job in this transaction: it becomes visible to
	// workers only if the transaction commits.
	Enqueue(ctx context.Context, j *tuku.Job) error

	// ---- accounts (sessions, MFA, user and token changes) ----

	// UpdateUser writes display name, role, password hash, disabled,
	// locale and password_changed_at.
	UpdateUser(ctx context.Context, u *tuku.User) error
	ListTokens(ctx context.Context, userID string) ([]tuku.Token, error)
	GetToken(ctx context.Context, id string) (*tuku.Token, error)
	// RevokeToken sets revoked_at (NotFound for an unknown ID; revoking a
	// revoked token keeps the first time).
	RevokeToken(ctx context.Context, id string, at time.Time) error

	CreateSession(ctx context.Context, s *tuku.Session) error
	GetSession(ctx context.Context, hash string) (*tuku.Session, error)
	// TouchSession updates last_seen and mfa_pending.
	TouchSession(ctx context.Context, s *tuku.Session) error
	DeleteSession(ctx context.Context, hash string) error
	// DeleteUserSessions ends every session of a user and returns how many.
	DeleteUserSessions(ctx context.Context, userID string) (int, error)
	// DeleteSessionsBefore removes sessions last seen before t (expiry).
	DeleteSessionsBefore(ctx context.Context, t time.Time) (int, error)

	// MFA: one row per user. PutMFA inserts or replaces. GetMFA in a Tx
	// locks the row until the transaction ends (read-check-write of a
	// code's time step must not interleave).
	GetMFA(ctx context.Context, userID string) (*tuku.MFA, error)
	PutMFA(ctx context.Context, m *tuku.MFA) error
	DeleteMFA(ctx context.Context, userID string) error

	// ---- grants ----

	// PutGrant inserts or replaces the grant of (user, customer, project);
	// it fills in ID and CreatedAt when empty.
	PutGrant(ctx context.Context, g *tuku.Grant) error
	GetGrant(ctx context.Context, id string) (*tuku.Grant, error)
	DeleteGrant(ctx context.Context, id string) error
	// ListGrants returns the grants matching the non-empty fields of f.
	ListGrants(ctx context.Context, f GrantFilter) ([]tuku.Grant, error)

	// ---- audit (append-only; see package audit for the chain) ----

	// AuditHead returns the last row's sequence number and hash (0, ""
	// for an empty log) and locks the log until the transaction ends, so
	// concurrent appends chain one after another.
	AuditHead(ctx context.Context) (seq int64, hash string, err error)
	// InsertAudit stores a row whose Seq and hashes the caller computed
	// from AuditHead. There is no update or delete.
	InsertAudit(ctx context.Context, e *tuku.AuditEvent) error
	// ListAudit returns rows matching f, newest first, and the cursor of
	// the next page.
	ListAudit(ctx context.Context, f AuditFilter) ([]tuku.AuditEvent, string, error)
	// WalkAudit calls fn for every row in sequence order from seq from
	// (inclusive); it stops at fn's first error and returns it.
	WalkAudit(ctx context.Context, from int64, fn func(e *tuku.AuditEvent) error) error

	// ---- settings (run-time configuration, see service/settings.go) ----

	// GetSetting returns the value stored under key (errs.NotFound when
	// none is).
	GetSetting(ctx context.Context, key string) (string, error)
	// PutSetting inserts or replaces the value of key; an empty key is
	// errs.Invalid.
	PutSetting(ctx context.Context, key, value string) error
	// DeleteSetting removes key (back to the default); removing a key that
	// is not stored is not an error.
	DeleteSetting(ctx context.Context, key string) error
	// ListSettings returns every stored key and value.
	ListSettings(ctx context.Context) (map[string]string, error)
}

// GrantFilter selects grants; empty fields do not filter.
type GrantFilter struct {
	UserID     string
	CustomerID string
	ProjectID  string
}

// AuditFilter selects audit rows; zero fields do not filter.
type AuditFilter struct {
	ActorID    string
	Action     string // exact, or a prefix ending in "." ("asset.")
	TargetID   string
	CustomerID string
	Outcome    string
	From, To   time.Time
	Cursor     string
	Limit      int // default 100, max 1000
}

// AssetFilter selects assets. Zero fields do not filter.
type AssetFilter struct {
	CustomerID  string
	CustomerIDs []string // any of these (for grants); nil = no restriction
	// Scopes restricts to assets inside any one of them (what a member's
	// grants open); nil = no restriction, empty = nothing.
	Scopes      []AssetScope
	ProjectID   string
	Tag         string
	Category    string
	Status      string
	Sensitivity string
	Query       string    // substring of name, description, file name, tags
	From, To    time.Time // on the capture time (else upload time), inclusive From, exclusive To
	Cursor      string    // from a previous page
	Limit       int       // default 50, max 1000
	// Sort is the order: "" (or SortUploaded) newest upload first, by ID;
	// SortTaken newest capture time first (upload time when unknown), ties
	// by ID. A cursor belongs to the order it was made in.
	Sort string
}

// Asset list orders (AssetFilter.Sort).
const (
	SortUploaded = "uploaded"
	SortTaken    = "taken"
)

// AssetScope is a part of the library: a customer's assets, or only one
// project's (ProjectID != ""), whose sensitivity is one of Sensitivities.
type AssetScope struct {
	CustomerID    string
	ProjectID     string
	Sensitivities []string
}

// Rendition is a derived image stored in the blob store.
type Rendition struct {
	AssetID string
	Size    string // named size, e.g. "grid", "preview"
	Key     string // blob key
	Format  string // jpeg, webp, ...
	Width   int
	Height  int
	Bytes   int64
}

// ImportRecord remembers the outcome of importing a file from disk.
type ImportRecord struct {
	CustomerID string
	Path       string // absolute, cleaned
	Size       int64
	ModTimeNs  int64
	Inode      uint64
	AssetID    string
}

// JobQueue is the durable queue. Handlers must be idempotent: a job whose
// lease expires (its worker died) is handed out again.
type JobQueue interface {
	// Claim leases the oldest due job of one of kinds for lease, or returns
	// (nil, nil) when none is due.
	Claim(ctx context.Context, kinds []string, lease time.Duration) (*tuku.Job, error)
	// Complete removes a finished job.
	Complete(ctx context.Context, id int64) error
	// Fail records an error; the job runs again at retryAt unless it has
	// used its attempts, in which case it is kept as dead for inspection.
	Fail(ctx context.Context, id int64, msg string, retryAt time.Time) error
	// Stats counts jobs by state ("queued", "running", "dead").
	Stats(ctx context.Context) (map[string]int, error)
}
