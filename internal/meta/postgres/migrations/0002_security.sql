-- Accounts, grants and the audit log (issue 3), PostgreSQL. Kept in step
-- with sqlite/migrations/0002_security.sql.

ALTER TABLE users ADD COLUMN locale TEXT NOT NULL DEFAULT '';
-- Sessions created before it are dead (unix ns, 0 = never changed).
ALTER TABLE users ADD COLUMN password_changed_at BIGINT NOT NULL DEFAULT 0;

-- Only the SHA-256 of the cookie secret is stored.
CREATE TABLE sessions (
	hash        TEXT PRIMARY KEY,
	user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	created_at  BIGINT NOT NULL,
	last_seen   BIGINT NOT NULL,
	mfa_pending BOOLEAN NOT NULL,
	ip          TEXT NOT NULL,
	user_agent  TEXT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_last_seen ON sessions (last_seen);

-- recovery_codes: JSON array of the hex SHA-256 of each unused code.
CREATE TABLE mfa (
	user_id        TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
	secret         TEXT NOT NULL,
	enabled        BOOLEAN NOT NULL,
	last_step      BIGINT NOT NULL,
	recovery_codes TEXT NOT NULL,
	created_at     BIGINT NOT NULL
);

-- project_id is NULL for a grant on the whole customer; project_key makes
-- (user, customer, project) unique in that case too (NULLs never collide).
CREATE TABLE grants (
	id           TEXT PRIMARY KEY,
	user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	customer_id  TEXT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
	project_id   TEXT,
	project_key  TEXT GENERATED ALWAYS AS (COALESCE(project_id, '')) STORED,
	level        INTEGER NOT NULL CHECK (level BETWEEN 1 AND 4),
	confidential BOOLEAN NOT NULL,
	created_at   BIGINT NOT NULL,
	created_by   TEXT NOT NULL,
	UNIQUE (user_id, customer_id, project_key),
	-- A project grant's project must belong to its customer.
	FOREIGN KEY (project_id, customer_id) REFERENCES projects (id, customer_id) ON DELETE CASCADE
);
CREATE INDEX grants_customer ON grants (customer_id, project_key);
CREATE INDEX grants_project ON grants (project_id);

-- The tamper-evident audit log: a hash chain (see doc/audit.md).
CREATE TABLE audit_events (
	seq         BIGINT PRIMARY KEY,
	time        BIGINT NOT NULL,
	actor_id    TEXT NOT NULL,
	actor_email TEXT NOT NULL,
	action      TEXT NOT NULL,
	target_type TEXT NOT NULL,
	target_id   TEXT NOT NULL,
	customer_id TEXT NOT NULL,
	outcome     TEXT NOT NULL,
	ip          TEXT NOT NULL,
	user_agent  TEXT NOT NULL,
	request_id  TEXT NOT NULL,
	detail      TEXT NOT NULL,
	prev_hash   TEXT NOT NULL,
	hash        TEXT NOT NULL
);
CREATE INDEX audit_events_actor ON audit_events (actor_id, seq);
CREATE INDEX audit_events_action ON audit_events (action, seq);
CREATE INDEX audit_events_target ON audit_events (target_id, seq);
CREATE INDEX audit_events_customer ON audit_events (customer_id, seq);
CREATE INDEX audit_events_outcome ON audit_events (outcome, seq);
CREATE INDEX audit_events_time ON audit_events (time);

-- Append-only: the application never updates or deletes audit rows, and
-- these triggers refuse it (and TRUNCATE) from anyone else with SQL. A
-- superuser or the table owner can still disable them (ALTER TABLE
-- audit_events DISABLE TRIGGER USER, as the tamper tests do): the hash
-- chain is what detects that.
CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'audit_events is append-only' USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER audit_events_no_change BEFORE UPDATE OR DELETE ON audit_events
	FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
	FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only();

-- The head of the chain, one row. Appends lock (SELECT … FOR UPDATE) and
-- advance it, so concurrent appends chain one after another.
CREATE TABLE audit_head (
	id   INTEGER PRIMARY KEY CHECK (id = 1),
	seq  BIGINT NOT NULL,
	hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '');
