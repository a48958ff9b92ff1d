-- MES Dashboard schema (PostgreSQL). See docs/SCHEMA.md for every column.
-- The report tables (workcenters, packages, lots, equipment, equipment_state_history) carry no
-- foreign keys on purpose: a site may replace them with views over its own warehouse.

CREATE TABLE workcenters (
    workcenter_id TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    sequence      INTEGER NOT NULL
);

CREATE TABLE packages (
    package_id TEXT PRIMARY KEY,
    family     TEXT NOT NULL
);

CREATE TABLE lots (
    lot_id        TEXT PRIMARY KEY,
    product       TEXT NOT NULL,
    package_id    TEXT NOT NULL,
    workcenter_id TEXT NOT NULL,
    step          TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('RUN', 'QUEUE', 'HOLD')),
    quantity      INTEGER NOT NULL CHECK (quantity >= 0),
    priority      INTEGER NOT NULL DEFAULT 3,
    equipment_id  TEXT,
    track_in_at   TIMESTAMPTZ,
    hold_reason   TEXT,
    hold_at       TIMESTAMPTZ,
    hold_by       TEXT,
    started_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX lots_updated_at ON lots (updated_at);
CREATE INDEX lots_workcenter_status ON lots (workcenter_id, status);
CREATE INDEX lots_equipment ON lots (equipment_id) WHERE equipment_id IS NOT NULL;

CREATE TABLE equipment (
    equipment_id  TEXT PRIMARY KEY,
    workcenter_id TEXT NOT NULL,
    model         TEXT NOT NULL,
    e10_state     TEXT NOT NULL CHECK (e10_state IN ('PRD', 'SBY', 'UDT', 'SDT', 'EGT', 'NST')),
    state_reason  TEXT,
    state_since   TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX equipment_workcenter ON equipment (workcenter_id);

CREATE TABLE equipment_state_history (
    id           BIGSERIAL PRIMARY KEY,
    equipment_id TEXT NOT NULL,
    e10_state    TEXT NOT NULL CHECK (e10_state IN ('PRD', 'SBY', 'UDT', 'SDT', 'EGT', 'NST')),
    state_reason TEXT,
    started_at   TIMESTAMPTZ NOT NULL,
    ended_at     TIMESTAMPTZ
);
CREATE INDEX equipment_history_tool_time ON equipment_state_history (equipment_id, started_at);
CREATE INDEX equipment_history_time ON equipment_state_history (started_at);

-- Application tables (owned by the dashboard, never replaced by views).

CREATE TABLE sessions (
    id         TEXT PRIMARY KEY,
    data       TEXT NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX sessions_expires_at ON sessions (expires_at);

CREATE TABLE pages (
    route      TEXT PRIMARY KEY,
    title      TEXT NOT NULL,
    status     TEXT NOT NULL CHECK (status IN ('released', 'dev')),
    updated_at TIMESTAMPTZ NOT NULL,
    updated_by TEXT
);

CREATE TABLE audit_log (
    id     BIGSERIAL PRIMARY KEY,
    at     TIMESTAMPTZ NOT NULL,
    actor  TEXT NOT NULL,
    ip     TEXT,
    action TEXT NOT NULL,
    target TEXT,
    detail TEXT
);
CREATE INDEX audit_log_at ON audit_log (at);
