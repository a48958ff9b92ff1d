//! Local users for development: `LOCAL_AUTH_USERS` holds `username:mail:argon2-hash` entries
//! separated by `;` or new lines (`mes-dashboard hash-password` makes the hash), parsed and
//! checked once by the configuration ([`crate::config::auth::parse_local_users`]), which refuses
//! them in staging and production.

use argon2::password_hash::phc::PasswordHash;
use argon2::{Argon2, PasswordVerifier};
use futures_util::future::BoxFuture;

use super::{LoginError, LoginProvider};
use crate::auth::User;
use crate::config::auth::LocalUser;

pub const DEMO_USER: &str = "demo";

/// An argon2id PHC string for `password` (the `hash-password` role).
pub fn hash_password(password: &str) -> anyhow::Result<String> {
    use argon2::PasswordHasher;
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("cannot hash the password: {e}"))
}

pub struct LocalProvider {
    users: Vec<LocalUser>,
    name: &'static str,
}

impl LocalProvider {
    pub fn new(users: Vec<LocalUser>) -> Self {
        Self {
            users,
            name: "local",
        }
    }

    /// The development demo administrator `demo` with `password`.
    pub fn demo(password: &str) -> Self {
        let user = LocalUser {
            username: DEMO_USER.into(),
            mail: "demo@localhost".into(),
            hash: hash_password(password).expect("hashing a password cannot fail"),
            admin: true,
        };
        Self {
            users: vec![user],
            name: "demo",
        }
    }
}

impl LoginProvider for LocalProvider {
    fn name(&self) -> &'static str {
        self.name
    }

    fn authenticate<'a>(
        &'a self,
        username: &'a str,
        password: &'a str,
    ) -> BoxFuture<'a, Result<User, LoginError>> {
        Box::pin(async move {
            let user = self.users.iter().find(|u| u.username == username).cloned();
            let password = password.to_string();
            // Argon2 is deliberately slow: keep it off the async workers.
            let verified = tokio::task::spawn_blocking(move || {
                let user = user?;
                let hash = PasswordHash::new(&user.hash).ok()?;
                Argon2::default()
                    .verify_password(password.as_bytes(), &hash)
                    .ok()
                    .map(|()| user)
            })
            .await
            .map_err(|e| LoginError::Unavailable(format!("password check failed: {e}")))?;
            let user = verified.ok_or(LoginError::BadCredentials)?;
            Ok(User {
                display_name: user.username.clone(),
                username: user.username,
                mail: user.mail,
                department: None,
                provider_admin: user.admin,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_local_user_logs_in_with_the_right_password_only() {
        let hash = hash_password("s3cret").unwrap();
        let users = crate::config::auth::parse_local_users(&format!(
            "ann:ann@example.com:{hash}; bob:bob@example.com:{hash}"
        ))
        .unwrap();
        assert_eq!(users.len(), 2);
        let provider = LocalProvider::new(users);
        let user = provider.authenticate("bob", "s3cret").await.unwrap();
        assert_eq!(user.mail, "bob@example.com");
        assert!(!user.provider_admin);
        assert!(matches!(
            provider.authenticate("bob", "wrong").await,
            Err(LoginError::BadCredentials)
        ));
        assert!(matches!(
            provider.authenticate("nobody", "s3cret").await,
            Err(LoginError::BadCredentials)
        ));
    }
}
