-- A stable id for audit records written somewhere else first: the supervisor keeps a record in
-- its file audit log while the database is down and copies it in once the database is back.
-- The unique index makes a second copy of the same record a no-op (`ON CONFLICT DO NOTHING`),
-- so a copy retried after a failure or a crash never duplicates. Rows written directly by the
-- application have no record id (NULLs never conflict).
ALTER TABLE audit_log ADD COLUMN record_id TEXT;
CREATE UNIQUE INDEX audit_log_record_id ON audit_log (record_id);
