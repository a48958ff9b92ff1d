//! Login providers: the LDAP HTTP API (production) and local users (development only).
//!
//! A provider sits behind a small trait held as `Arc<dyn LoginProvider>`, the one seam tests
//! and deployments choose at start-up.

pub mod ldap;
pub mod local;

use std::sync::Arc;

use futures_util::future::BoxFuture;

use super::User;
use crate::config::{Mode, Settings};

/// Why a login failed.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    #[error("wrong username or password")]
    BadCredentials,
    /// The provider could not decide (timeout, malformed answer, TLS failure): still a
    /// failed login, never a crash.
    #[error("the login service did not give a usable answer: {0}")]
    Unavailable(String),
}

pub trait LoginProvider: Send + Sync {
    /// `ldap`, `local` or `demo`, for logs.
    fn name(&self) -> &'static str;

    /// Checks the credentials; on success the user as the provider knows them.
    fn authenticate<'a>(
        &'a self,
        username: &'a str,
        password: &'a str,
    ) -> BoxFuture<'a, Result<User, LoginError>>;
}

/// The provider the settings ask for: LDAP when `LDAP_API_URL` is set, else the local users of
/// `LOCAL_AUTH_USERS`, else (development only) a demo administrator whose random password is
/// printed once. `None`: nobody can log in.
pub fn from_settings(settings: &Settings) -> anyhow::Result<Option<Arc<dyn LoginProvider>>> {
    if let Some(ldap) = &settings.auth.ldap {
        return Ok(Some(Arc::new(ldap::LdapProvider::new(
            ldap,
            settings.mode,
        )?)));
    }
    if let Some(users) = &settings.auth.local_auth_users {
        let users =
            local::parse_users(users).map_err(|e| anyhow::anyhow!("LOCAL_AUTH_USERS: {e}"))?;
        return Ok(Some(Arc::new(local::LocalProvider::new(users))));
    }
    if settings.mode == Mode::Development {
        let (provider, password) = local::LocalProvider::demo();
        // Printed, not logged: log lines may be shipped elsewhere; this is a one-off for the
        // person at the terminal.
        eprintln!(
            "\n  Development login: user `{}`, password `{password}` (administrator).\n  \
             It changes at every start; set LOCAL_AUTH_USERS or LDAP_API_URL to choose.\n",
            local::DEMO_USER
        );
        return Ok(Some(Arc::new(provider)));
    }
    Ok(None)
}
