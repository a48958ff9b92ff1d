//! Who is asking: login providers (LDAP HTTP API, local development users), the login rate
//! limit, and the extractors that put authentication in handler signatures.
//!
//! `CurrentUser` and `AdminUser` live in [`extract`]: a handler that takes one cannot run
//! without a logged-in user (or an administrator). Pages are redirected to
//! `/admin/login?next=…`; JSON paths get 401 / 403 envelopes.

pub mod extract;
pub mod login;
pub mod provider;
pub mod rate_limit;
pub mod user;

pub use extract::{AdminUser, CurrentUser, MaybeUser};
pub use user::User;
