-- Settings an administrator changes at run time (issue 4): the naming
-- template and upload limits, one row per key. Kept in step with
-- postgres/migrations/0003_settings.sql.
CREATE TABLE settings (
	key        TEXT PRIMARY KEY,
	value      TEXT NOT NULL,
	updated_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
