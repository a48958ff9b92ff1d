-- Login attempt counts shared by every worker and instance when Redis is absent: per client
-- address (`ip:…`) and failures per user name (`user:…`), each in a fixed window.
CREATE TABLE login_attempts (
    key            TEXT PRIMARY KEY,
    count          BIGINT NOT NULL,
    window_ends_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX login_attempts_window_ends_at ON login_attempts (window_ends_at);
