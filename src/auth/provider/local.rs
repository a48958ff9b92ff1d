//! Local users for development: `LOCAL_AUTH_USERS` holds `username:mail:argon2-hash` entries
//! separated by `;` or new lines (`mes-dashboard hash-password` makes the hash). Refused in
//! staging and production by the configuration.

use argon2::password_hash::phc::PasswordHash;
use argon2::{Argon2, PasswordVerifier};
use futures_util::future::BoxFuture;

use super::{LoginError, LoginProvider};
use crate::auth::User;

pub const DEMO_USER: &str = "demo";

#[derive(Debug, Clone)]
pub struct LocalUser {
    pub username: String,
    pub mail: String,
    /// The PHC string (`$argon2id$v=19$…`).
    pub hash: String,
    pub admin: bool,
}

/// Parses and checks every entry; the message names the broken entry, never a hash.
pub fn parse_users(raw: &str) -> Result<Vec<LocalUser>, String> {
    let mut users = Vec::new();
    for (i, entry) in raw
        .split([';', '\n'])
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .enumerate()
    {
        let mut parts = entry.splitn(3, ':');
        let (Some(username), Some(mail), Some(hash)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(format!("entry {} is not username:mail:argon2-hash", i + 1));
        };
        if username.is_empty() || PasswordHash::new(hash).is_err() {
            return Err(format!(
                "entry {} ({username}) needs a user name and an argon2 hash from \
                 `mes-dashboard hash-password`",
                i + 1
            ));
        }
        users.push(LocalUser {
            username: username.to_string(),
            mail: mail.to_string(),
            hash: hash.to_string(),
            admin: false,
        });
    }
    Ok(users)
}

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

/// A fresh random password of 16 letters and digits, for the demo login.
pub fn random_password() -> String {
    let mut password = String::new();
    while password.len() < 16 {
        password.extend(
            crate::session::cookie::random_token()
                .chars()
                .filter(char::is_ascii_alphanumeric),
        );
    }
    password.truncate(16);
    password
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
        let users = parse_users(&format!(
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

    #[test]
    fn malformed_entries_are_named_without_their_hash() {
        let err = parse_users("ann:ann@example.com:not-a-hash").unwrap_err();
        assert!(err.contains("entry 1"));
        assert!(!err.contains("not-a-hash"));
        assert!(parse_users("justaname").is_err());
    }
}
