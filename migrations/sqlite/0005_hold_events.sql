-- Hold / release events: one row per hold of a lot, closed by its release (PRODUCT §5; SQLite:
-- timestamps as RFC 3339 text, booleans 0/1). A report table (no foreign keys): a site may
-- replace it with a view. See docs/SCHEMA.md.

CREATE TABLE hold_events (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    lot_id              TEXT NOT NULL,
    product             TEXT,
    package_id          TEXT,
    workcenter_id       TEXT NOT NULL,
    step                TEXT,
    quantity            INTEGER NOT NULL CHECK (quantity >= 0),
    hold_reason         TEXT,
    hold_at             TEXT NOT NULL,
    hold_by             TEXT,
    hold_department     TEXT,
    hold_comment        TEXT,
    future_hold         INTEGER NOT NULL DEFAULT 0 CHECK (future_hold IN (0, 1)),
    future_hold_comment TEXT,
    release_at          TEXT,
    release_by          TEXT
);
-- Range scans of a history window: holds that began in it, releases that fell in it.
CREATE INDEX hold_events_hold_at ON hold_events (hold_at);
CREATE INDEX hold_events_release_at ON hold_events (release_at);
CREATE INDEX hold_events_lot ON hold_events (lot_id, hold_at);
-- A lot is held at most once at a time.
CREATE UNIQUE INDEX hold_events_open_lot ON hold_events (lot_id) WHERE release_at IS NULL;
