-- Tool attributes and flags the equipment pages filter by (PRODUCT §2). The workcenter group is
-- not repeated here: it is the group of the tool's workcenter. Nullable (flags with a default)
-- so rows written by an older version stay valid (SQLite: booleans 0/1). See docs/SCHEMA.md.

ALTER TABLE equipment ADD COLUMN family TEXT;
ALTER TABLE equipment ADD COLUMN location TEXT;
ALTER TABLE equipment ADD COLUMN package_group TEXT;
ALTER TABLE equipment ADD COLUMN vendor TEXT;
ALTER TABLE equipment ADD COLUMN is_production INTEGER NOT NULL DEFAULT 1;
ALTER TABLE equipment ADD COLUMN is_key INTEGER NOT NULL DEFAULT 0;
ALTER TABLE equipment ADD COLUMN is_monitored INTEGER NOT NULL DEFAULT 0;
