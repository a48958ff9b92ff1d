-- Background jobs of long reports and their results (PRODUCT §4), used when Redis is not
-- configured so every worker and instance serves them. An application table, not part of
-- the warehouse contract. See docs/SCHEMA.md.

CREATE TABLE report_jobs (
    id               TEXT PRIMARY KEY,
    kind             TEXT NOT NULL,
    owner            TEXT NOT NULL,
    state            TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed', 'cancelled')),
    progress         INTEGER NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 100),
    params           TEXT NOT NULL,
    result           TEXT,
    error            TEXT,
    cancel_requested BOOLEAN NOT NULL DEFAULT FALSE,
    worker           TEXT NOT NULL,
    heartbeat_at     TIMESTAMPTZ NOT NULL,
    created_at       TIMESTAMPTZ NOT NULL,
    started_at       TIMESTAMPTZ,
    finished_at      TIMESTAMPTZ,
    expires_at       TIMESTAMPTZ NOT NULL
);
-- The sweep of expired jobs.
CREATE INDEX report_jobs_expires_at ON report_jobs (expires_at);
