-- A password Tuku made (the first admin's, a generated one) is good for
-- one sign-in: that session may only change it. Kept in step with
-- sqlite/migrations/0004_password_once.sql.
ALTER TABLE users ADD COLUMN must_change_password BOOLEAN NOT NULL DEFAULT false;
