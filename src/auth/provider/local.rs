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

/// An argon2id PHC string for `password` (the `hash-password` role), with argon2's default
/// parameters (19 MiB, 2 passes: the recommended minimum for stored passwords).
pub fn hash_password(password: &str) -> anyhow::Result<String> {
    hash_with(&Argon2::default(), password)
}

fn hash_with(argon2: &Argon2<'_>, password: &str) -> anyhow::Result<String> {
    use argon2::PasswordHasher;
    argon2
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("cannot hash the password: {e}"))
}

/// The development demo's password hashing: 1 MiB instead of 19. Its password is random and
/// new at every start (or a developer's `DEMO_PASSWORD`), never stored, and the demo exists in
/// development only; what costs there is memory: the allocator kept each 19 MiB check's working
/// memory while the process idled, and an idle demo worker held 57 MiB instead of 37.
/// A check reads the parameters from the hash, so the demo's checks use these.
fn demo_argon2() -> Argon2<'static> {
    let params = argon2::Params::new(1024, 2, 1, None).expect("valid argon2 parameters");
    Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
}

pub struct LocalProvider {
    users: Vec<LocalUser>,
    name: &'static str,
    /// Verified for an unknown user name, so that it takes as long as a known one with a
    /// wrong password: the time of an answer does not tell which user names exist.
    dummy_hash: String,
}

/// A hash of a random password with the same parameters as the users' hashes.
fn dummy_hash(argon2: &Argon2<'_>) -> String {
    let password: [u8; 16] = rand::random();
    hash_with(argon2, &String::from_utf8_lossy(&password)).expect("hashing a password cannot fail")
}

impl LocalProvider {
    pub fn new(users: Vec<LocalUser>) -> Self {
        Self {
            users,
            name: "local",
            dummy_hash: dummy_hash(&Argon2::default()),
        }
    }

    /// The development demo administrator `demo` with `password`.
    pub fn demo(password: &str) -> Self {
        let user = LocalUser {
            username: DEMO_USER.into(),
            mail: "demo@localhost".into(),
            hash: hash_with(&demo_argon2(), password).expect("hashing a password cannot fail"),
            admin: true,
        };
        Self {
            users: vec![user],
            name: "demo",
            dummy_hash: dummy_hash(&demo_argon2()),
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
            let dummy = self.dummy_hash.clone();
            // Argon2 is deliberately slow: keep it off the async workers. An unknown user is
            // checked against the dummy hash, and refused whatever the outcome.
            let verified = tokio::task::spawn_blocking(move || {
                let stored = user.as_ref().map_or(dummy.as_str(), |u| u.hash.as_str());
                let hash = PasswordHash::new(stored).ok()?;
                let matches = Argon2::default()
                    .verify_password(password.as_bytes(), &hash)
                    .is_ok();
                user.filter(|_| matches)
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

    /// An unknown user name costs a full password check too (before: it was refused without
    /// one, in microseconds against tens of milliseconds). A lower bound only, on the fastest
    /// of several runs, so a busy machine cannot break it.
    #[tokio::test]
    async fn an_unknown_user_takes_as_long_as_a_wrong_password() {
        // LOCAL_AUTH_USERS' parameters (the demo's are lighter, with a dummy hash to match).
        let provider = LocalProvider::new(vec![LocalUser {
            username: DEMO_USER.into(),
            mail: "demo@localhost".into(),
            hash: hash_password("right").unwrap(),
            admin: false,
        }]);
        let fastest = |user: &'static str| {
            let provider = &provider;
            async move {
                let mut best = std::time::Duration::MAX;
                for _ in 0..3 {
                    let started = std::time::Instant::now();
                    assert!(provider.authenticate(user, "wrong").await.is_err());
                    best = best.min(started.elapsed());
                }
                best
            }
        };
        let known = fastest(DEMO_USER).await;
        let unknown = fastest("nobody").await;
        assert!(unknown * 4 >= known, "unknown {unknown:?}, known {known:?}");
    }

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
