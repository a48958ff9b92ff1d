-- Lot attributes the WIP pages filter and show (PRODUCT §5), workcenter groups and the steps of
-- each workcenter in route order (SQLite: timestamps as RFC 3339 text). New lot columns are
-- nullable so rows written by an older version (or a site's view that lacks one) stay valid.
-- See docs/SCHEMA.md.

ALTER TABLE lots ADD COLUMN work_order TEXT;
ALTER TABLE lots ADD COLUMN lot_type TEXT;
ALTER TABLE lots ADD COLUMN bop TEXT;
ALTER TABLE lots ADD COLUMN workflow TEXT;
ALTER TABLE lots ADD COLUMN function TEXT;
ALTER TABLE lots ADD COLUMN wafer_lot TEXT;
ALTER TABLE lots ADD COLUMN move_in_at TEXT;
ALTER TABLE lots ADD COLUMN hold_department TEXT;
ALTER TABLE lots ADD COLUMN hold_comment TEXT;
ALTER TABLE lots ADD COLUMN future_hold_comment TEXT;

ALTER TABLE workcenters ADD COLUMN workcenter_group TEXT;
ALTER TABLE workcenters ADD COLUMN group_sequence INTEGER;

CREATE TABLE workcenter_steps (
    workcenter_id TEXT NOT NULL,
    step          TEXT NOT NULL,
    name          TEXT,
    sequence      INTEGER NOT NULL,
    PRIMARY KEY (workcenter_id, step)
);
