-- Tuku metadata, SQLite. Times are INTEGER unix nanoseconds (UTC, 0 = unset);
-- sort_time is unix seconds. Kept in step with postgres/migrations.

CREATE TABLE customers (
	id          TEXT PRIMARY KEY,
	name        TEXT NOT NULL,
	code        TEXT NOT NULL,
	contact     TEXT NOT NULL DEFAULT '',
	notes       TEXT NOT NULL DEFAULT '',
	sensitivity TEXT NOT NULL DEFAULT '',
	created_at  INTEGER NOT NULL,
	updated_at  INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX customers_code ON customers (lower(code));

CREATE TABLE projects (
	id          TEXT PRIMARY KEY,
	customer_id TEXT NOT NULL REFERENCES customers (id),
	name        TEXT NOT NULL,
	notes       TEXT NOT NULL DEFAULT '',
	created_at  INTEGER NOT NULL,
	UNIQUE (customer_id, name),
	UNIQUE (id, customer_id) -- target of assets' (project, customer) key
) STRICT;

CREATE TABLE assets (
	id                TEXT PRIMARY KEY,
	customer_id       TEXT NOT NULL REFERENCES customers (id),
	project_id        TEXT,
	name              TEXT NOT NULL,
	original_filename TEXT NOT NULL,
	mime              TEXT NOT NULL,
	format            TEXT NOT NULL,
	size              INTEGER NOT NULL,
	sha256            TEXT NOT NULL,
	width             INTEGER NOT NULL,
	height            INTEGER NOT NULL,
	frames            INTEGER NOT NULL,
	orientation       INTEGER,
	taken_at          TEXT NOT NULL,
	sort_time         INTEGER NOT NULL,
	gps_lat           REAL,
	gps_lon           REAL,
	camera_make       TEXT NOT NULL,
	camera_model      TEXT NOT NULL,
	description       TEXT NOT NULL,
	category          TEXT NOT NULL,
	sensitivity       TEXT NOT NULL,
	status            TEXT NOT NULL,
	source            TEXT NOT NULL,
	copyright         TEXT NOT NULL,
	phash             INTEGER NOT NULL,
	clarity           REAL NOT NULL,
	version           INTEGER NOT NULL,
	created_at        INTEGER NOT NULL,
	created_by        TEXT NOT NULL,
	updated_at        INTEGER NOT NULL,
	-- A project must belong to the asset's customer.
	FOREIGN KEY (project_id, customer_id) REFERENCES projects (id, customer_id)
) STRICT;
CREATE UNIQUE INDEX assets_sha ON assets (customer_id, sha256);
CREATE INDEX assets_customer ON assets (customer_id, id);
CREATE INDEX assets_project ON assets (project_id, id);
CREATE INDEX assets_status ON assets (status, id);
CREATE INDEX assets_sort_time ON assets (sort_time);

CREATE TABLE asset_tags (
	asset_id TEXT NOT NULL REFERENCES assets (id) ON DELETE CASCADE,
	name     TEXT NOT NULL,
	source   TEXT NOT NULL,
	pos      INTEGER NOT NULL, -- order as given
	PRIMARY KEY (asset_id, name)
) STRICT, WITHOUT ROWID;
CREATE INDEX asset_tags_name ON asset_tags (name, asset_id);

CREATE TABLE renditions (
	asset_id TEXT NOT NULL REFERENCES assets (id) ON DELETE CASCADE,
	size     TEXT NOT NULL,
	blob_key TEXT NOT NULL,
	format   TEXT NOT NULL,
	width    INTEGER NOT NULL,
	height   INTEGER NOT NULL,
	bytes    INTEGER NOT NULL,
	PRIMARY KEY (asset_id, size)
) STRICT, WITHOUT ROWID;

CREATE TABLE users (
	id            TEXT PRIMARY KEY,
	email         TEXT NOT NULL UNIQUE,
	display_name  TEXT NOT NULL,
	role          TEXT NOT NULL,
	password_hash TEXT NOT NULL,
	disabled      INTEGER NOT NULL,
	created_at    INTEGER NOT NULL
) STRICT;

CREATE TABLE tokens (
	id          TEXT PRIMARY KEY,
	user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	name        TEXT NOT NULL,
	hash        TEXT NOT NULL UNIQUE,
	scope       TEXT NOT NULL,
	customer_id TEXT NOT NULL,
	created_at  INTEGER NOT NULL,
	revoked_at  INTEGER
) STRICT;
CREATE INDEX tokens_user ON tokens (user_id);

CREATE TABLE import_records (
	customer_id TEXT NOT NULL,
	path        TEXT NOT NULL,
	size        INTEGER NOT NULL,
	mtime_ns    INTEGER NOT NULL,
	inode       INTEGER NOT NULL,
	asset_id    TEXT NOT NULL,
	PRIMARY KEY (customer_id, path)
) STRICT, WITHOUT ROWID;

CREATE TABLE name_seq (
	key   TEXT PRIMARY KEY,
	value INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE TABLE jobs (
	id           INTEGER PRIMARY KEY AUTOINCREMENT,
	kind         TEXT NOT NULL,
	payload      BLOB NOT NULL,
	state        TEXT NOT NULL,
	attempts     INTEGER NOT NULL,
	max_attempts INTEGER NOT NULL,
	run_at       INTEGER NOT NULL,
	lease_until  INTEGER NOT NULL,
	last_error   TEXT NOT NULL,
	created_at   INTEGER NOT NULL
) STRICT;
CREATE INDEX jobs_due ON jobs (state, run_at, id);
