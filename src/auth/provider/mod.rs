//! Login providers: the LDAP HTTP API (production) and local users (development only).
//!
//! A provider sits behind a small trait held as `Arc<dyn LoginProvider>`, the one seam tests
//! and deployments choose at start-up.

pub mod ldap;
pub mod local;

use std::sync::Arc;

use futures_util::future::BoxFuture;

use super::User;
use crate::config::Settings;

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
/// `LOCAL_AUTH_USERS`, else (development only) the demo administrator (`DEMO_PASSWORD`, see
/// [`announce_demo_login`]). `None`: nobody can log in.
pub fn from_settings(settings: &Settings) -> anyhow::Result<Option<Arc<dyn LoginProvider>>> {
    if let Some(ldap) = &settings.auth.ldap {
        return Ok(Some(Arc::new(ldap::LdapProvider::new(
            ldap,
            settings.mode,
        )?)));
    }
    if let Some(users) = &settings.auth.local_auth_users {
        return Ok(Some(Arc::new(local::LocalProvider::new(users.clone()))));
    }
    if let Some(demo) = &settings.auth.demo_password {
        return Ok(Some(Arc::new(local::LocalProvider::demo(
            secrecy::ExposeSecret::expose_secret(&demo.value),
        ))));
    }
    Ok(None)
}

/// Prints the demo login once, from the serving process (the supervisor, or the one process with
/// `WORKERS=0`), when its password was made up at start. Printed, not logged: log lines may be
/// shipped elsewhere; this is for the person at the terminal.
pub fn announce_demo_login(settings: &Settings) {
    if let Some(demo) = settings.auth.demo_password.as_ref().filter(|d| d.generated) {
        eprintln!(
            "\n  Development login: user `{}`, password `{}` (administrator).\n  \
             It changes at every start; set DEMO_PASSWORD, LOCAL_AUTH_USERS or LDAP_API_URL to \
             choose.\n",
            local::DEMO_USER,
            secrecy::ExposeSecret::expose_secret(&demo.value)
        );
    }
}
