//! Redis settings: optional everywhere; without `REDIS_URL` caches are in-process only.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

use super::env::Reader;

#[derive(Debug, Clone)]
pub struct RedisSettings {
    /// `REDIS_URL`: `redis://[:password@]host:6379/db`; unset means no Redis (L1 only).
    pub url: Option<SecretString>,
    /// `REDIS_KEY_PREFIX`: every key and channel starts with `<prefix>:`.
    pub key_prefix: String,
    /// `REDIS_COMMAND_TIMEOUT_MS`: bound on one command; past it Redis counts as unavailable.
    pub command_timeout: Duration,
    /// `REDIS_CONNECT_TIMEOUT_MS`: bound on opening a connection.
    pub connect_timeout: Duration,
}

impl RedisSettings {
    /// The URL with its password masked.
    pub fn display_url(&self) -> Option<String> {
        self.url
            .as_ref()
            .map(|u| super::database::redact_url(u.expose_secret()))
    }

    pub fn password(&self) -> Option<String> {
        let url = self.url.as_ref()?.expose_secret();
        let start = url.find("://")? + 3;
        let authority = &url[start..];
        let at = authority[..authority.find('/').unwrap_or(authority.len())].rfind('@')?;
        let (_, password) = authority[..at].split_once(':')?;
        (!password.is_empty()).then(|| password.to_string())
    }
}

pub(super) fn read(r: &mut Reader<'_>) -> RedisSettings {
    let url = r.optional("REDIS_URL");
    if let Some(u) = &url
        && !(u.starts_with("redis://") || u.starts_with("rediss://") || u.starts_with("unix://"))
    {
        r.diag.error(
            "REDIS_URL",
            "must start with redis://, rediss:// or unix:// (leave it unset for no Redis)",
        );
    }
    let key_prefix = r.string("REDIS_KEY_PREFIX", "mes");
    if key_prefix.contains(char::is_whitespace) || key_prefix.len() > 64 {
        r.diag.error(
            "REDIS_KEY_PREFIX",
            "must be at most 64 characters without spaces",
        );
    }
    RedisSettings {
        url: url.map(SecretString::from),
        key_prefix,
        command_timeout: r.millis("REDIS_COMMAND_TIMEOUT_MS", 500, 10, 60_000),
        connect_timeout: r.millis("REDIS_CONNECT_TIMEOUT_MS", 1_000, 10, 60_000),
    }
}
