-- The page registry starts with the report pages of the portal, released (DESIGN §3.0).
-- Idempotent: a page already registered keeps its status. Keep in step with
-- src/routes/catalog.rs (a test compares them).
INSERT INTO pages (route, title, status, updated_at, updated_by) VALUES
    ('/', 'Portal', 'released', now(), NULL),
    ('/wip-overview', 'WIP overview', 'released', now(), NULL),
    ('/hold-overview', 'Hold overview', 'released', now(), NULL),
    ('/resource', 'Equipment status', 'released', now(), NULL),
    ('/resource-history', 'Equipment history', 'released', now(), NULL)
ON CONFLICT (route) DO NOTHING;
