-- The report pages added with the WIP detail, hold and equipment work, released. Idempotent:
-- a page already registered keeps its status. Keep in step with src/routes/catalog.rs (a test
-- compares them).
INSERT INTO pages (route, title, status, updated_at, updated_by) VALUES
    ('/wip-detail', 'WIP detail', 'released', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), NULL),
    ('/hold-detail', 'Hold reason detail', 'released', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), NULL),
    ('/qc-gate', 'QC-GATE waiting', 'released', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), NULL),
    ('/hold-history', 'Hold history', 'released', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), NULL),
    ('/job-query', 'Maintenance job query', 'released', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), NULL)
ON CONFLICT (route) DO NOTHING;
