//! Login, session and CSRF settings (DESIGN §4.2–4.3).

use super::Mode;
use super::env::Reader;

#[derive(Debug, Clone)]
pub struct AuthSettings {
    /// `LOCAL_AUTH_USERS`: development-only demo users (refused in staging and production).
    pub local_auth_users: Option<String>,
}

pub(super) fn read(r: &mut Reader<'_>, mode: Mode) -> AuthSettings {
    let local_auth_users = r.optional("LOCAL_AUTH_USERS");
    if mode.is_production_like() && local_auth_users.is_some() {
        r.diag.error(
            "LOCAL_AUTH_USERS",
            format!(
                "local demo users are refused in {mode} mode; remove the variable and log in \
                 through the LDAP API (LDAP_API_URL)"
            ),
        );
    }
    AuthSettings { local_auth_users }
}
