//! The logged-in user as a session keeps it.

use serde::{Deserialize, Serialize};

/// Who is logged in. Written into the session at login; the admin right is re-checked
/// against `ADMIN_EMAILS` on every use, so removing a mail takes effect at once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub username: String,
    pub display_name: String,
    pub mail: String,
    pub department: Option<String>,
    /// Granted by the provider itself (only the development demo user); otherwise the
    /// right comes from `ADMIN_EMAILS`.
    #[serde(default)]
    pub provider_admin: bool,
}
