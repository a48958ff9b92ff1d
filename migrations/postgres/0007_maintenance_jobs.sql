-- Maintenance jobs of the tools and their transactions (PRODUCT §5). Report tables (no foreign
-- keys): a site may replace them with views of its maintenance system. See docs/SCHEMA.md.

CREATE TABLE maintenance_jobs (
    job_id       TEXT PRIMARY KEY,
    job_order    TEXT,
    status       TEXT NOT NULL,
    stage        TEXT,
    equipment_id TEXT NOT NULL,
    model        TEXT,
    created_at   TIMESTAMPTZ NOT NULL,
    completed_at TIMESTAMPTZ,
    symptom_code TEXT,
    cause_code   TEXT,
    repair_code  TEXT,
    technician   TEXT
);
CREATE INDEX maintenance_jobs_tool ON maintenance_jobs (equipment_id, created_at);
CREATE INDEX maintenance_jobs_created ON maintenance_jobs (created_at);
-- The open jobs (the equipment page's alerts) without a scan.
CREATE INDEX maintenance_jobs_open ON maintenance_jobs (created_at) WHERE completed_at IS NULL;

CREATE TABLE maintenance_job_transactions (
    id         BIGSERIAL PRIMARY KEY,
    job_id     TEXT NOT NULL,
    changed_at TIMESTAMPTZ NOT NULL,
    status     TEXT NOT NULL,
    stage      TEXT,
    changed_by TEXT,
    note       TEXT
);
CREATE INDEX maintenance_job_transactions_job ON maintenance_job_transactions (job_id, changed_at);
