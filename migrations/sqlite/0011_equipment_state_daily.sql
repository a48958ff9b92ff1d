-- The equipment history's per-day rollup (docs/SCHEMA.md, application tables). The same
-- tables as on PostgreSQL; on SQLite (the embedded demo) they stay empty: the report streams
-- the spans.
CREATE TABLE equipment_state_daily (
    shift_day    TEXT NOT NULL,
    equipment_id TEXT NOT NULL,
    prd_us       INTEGER NOT NULL,
    sby_us       INTEGER NOT NULL,
    udt_us       INTEGER NOT NULL,
    sdt_us       INTEGER NOT NULL,
    egt_us       INTEGER NOT NULL,
    nst_us       INTEGER NOT NULL,
    PRIMARY KEY (shift_day, equipment_id)
);

CREATE TABLE equipment_state_rollup (
    id            INTEGER PRIMARY KEY CHECK (id = 1),
    time_zone     TEXT NOT NULL,
    day_start     TEXT NOT NULL,
    rolled_before TEXT,
    rolled_until  TEXT,
    stale_from    TEXT,
    updated_at    TEXT NOT NULL
);
