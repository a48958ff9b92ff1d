-- The equipment history's per-day rollup (docs/SCHEMA.md, application tables): microseconds
-- per E10 state of each tool in each closed shift day, written by the dashboard from
-- `equipment_state_history` (the seed, then the equipment sync's leader); the report reads
-- it for the days before `equipment_state_rollup.rolled_before` and the spans for the rest.
CREATE TABLE equipment_state_daily (
    shift_day    DATE NOT NULL,
    equipment_id TEXT NOT NULL,
    prd_us       BIGINT NOT NULL,
    sby_us       BIGINT NOT NULL,
    udt_us       BIGINT NOT NULL,
    sdt_us       BIGINT NOT NULL,
    egt_us       BIGINT NOT NULL,
    nst_us       BIGINT NOT NULL,
    PRIMARY KEY (shift_day, equipment_id)
);

-- One row: how far the rollup is final, and the plant clock it was computed with.
CREATE TABLE equipment_state_rollup (
    id            INTEGER PRIMARY KEY CHECK (id = 1),
    time_zone     TEXT NOT NULL,
    day_start     TEXT NOT NULL,
    rolled_before DATE,
    rolled_until  TIMESTAMPTZ,
    stale_from    TIMESTAMPTZ,
    updated_at    TIMESTAMPTZ NOT NULL
);

-- The spans still open or ending after an instant (the part of a range not rolled up).
CREATE INDEX equipment_history_end ON equipment_state_history (ended_at);

-- Any write to the spans that reaches back before `rolled_until` marks the rollup stale from
-- the earliest instant it changes (readers then stop the rollup at that instant's shift day;
-- the next roll-up recomputes from it). The shared advisory lock orders the write after a
-- roll-up in flight (which takes it exclusively), so the write sees its `rolled_until`.
CREATE FUNCTION equipment_state_history_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    changed TIMESTAMPTZ;
BEGIN
    PERFORM pg_advisory_xact_lock_shared(84960145047571);
    IF TG_OP = 'INSERT' THEN
        SELECT min(started_at) INTO changed FROM new_rows;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT min(started_at) INTO changed FROM old_rows;
    ELSE
        -- A span closed (or its end moved) changes time from its earlier end on; any other
        -- change, from its earlier start.
        SELECT min(CASE
                   WHEN o.equipment_id = n.equipment_id AND o.e10_state = n.e10_state
                        AND o.started_at = n.started_at
                   THEN CASE WHEN o.ended_at IS DISTINCT FROM n.ended_at
                             THEN LEAST(o.ended_at, n.ended_at) END
                   ELSE LEAST(o.started_at, n.started_at) END)
        INTO changed
        FROM old_rows o JOIN new_rows n ON n.id = o.id;
    END IF;
    IF changed IS NOT NULL THEN
        UPDATE equipment_state_rollup SET stale_from = changed
        WHERE rolled_until > changed AND (stale_from IS NULL OR stale_from > changed);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER equipment_state_history_inserted AFTER INSERT ON equipment_state_history
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION equipment_state_history_changed();
CREATE TRIGGER equipment_state_history_updated AFTER UPDATE ON equipment_state_history
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION equipment_state_history_changed();
CREATE TRIGGER equipment_state_history_deleted AFTER DELETE ON equipment_state_history
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION equipment_state_history_changed();
