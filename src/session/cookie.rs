//! The `mes_session` cookie: a random session id and its HMAC-SHA256 signature.
//!
//! Two kinds: a stored session (`id.signature`, a row in `sessions`) and an anonymous one
//! (`~id.signature`) that only carries a CSRF secret for forms and clients that are not logged
//! in yet. The anonymous secret is derived from the id with the signing key, so an anonymous
//! session costs no storage at all: the login page and `GET /api/auth/csrf` work, and cost no
//! write, even while the database is down.
//!
//! The id alone is unguessable (256 random bits); the signature lets a request with a forged
//! or stale-key cookie be refused without a store lookup, and lets `SECRET_KEY` rotate: a
//! cookie signed with a key of `SECRET_KEY_FALLBACKS` is still accepted and re-issued under
//! the current key.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use quick_cache::sync::Cache;
use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};

use crate::config::SecretKeys;

pub const COOKIE_NAME: &str = "mes_session";

/// Characters of an encoded id (32 bytes, base64url without padding).
const ID_CHARS: usize = 43;
/// Characters of a whole cookie value: id, a dot, the signature.
const VALUE_CHARS: usize = ID_CHARS + 1 + 43;
/// Separates this use of the key from any other.
const CONTEXT: &[u8] = b"mes-dashboard/session-cookie/v1:";
/// The key use that derives an anonymous session's CSRF secret.
const ANONYMOUS_CSRF: &[u8] = b"mes-dashboard/anonymous-csrf/v1:";
/// Marks an anonymous session's cookie value.
const ANONYMOUS: char = '~';

/// 32 random bytes, base64url-encoded: session ids and CSRF secrets.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    // The system generator only fails when the OS has no entropy source at all.
    SystemRandom::new()
        .fill(&mut bytes)
        .expect("the operating system's random generator is available");
    URL_SAFE_NO_PAD.encode(bytes)
}

/// How the session cookie is written.
#[derive(Debug, Clone)]
pub struct CookiePolicy {
    pub secure: bool,
    pub same_site_strict: bool,
}

/// Cookie values already verified, at most this many (then the least used are evicted).
/// quick_cache rather than our own map (a `RwLock<HashMap>` wiped when full): measured with
/// bench/callgrind_summary.sh, about 70 fewer instructions per logged-in request (36 968
/// against 37 037).
const MAX_VERIFIED: usize = 4096;

/// The signing keys: the current one first, then the fallbacks.
pub struct CookieKeys {
    keys: Vec<hmac::Key>,
    /// Values whose signature checked out, with their verdict: a logged-in browser sends the
    /// same value on every request, and an HMAC costs more than the rest of a cached answer's
    /// session work. Only verified values enter, so forged cookies cannot fill it; the keys
    /// never change while the process lives, so a verdict never goes stale.
    verified: Cache<Box<str>, VerifiedId>,
}

/// A verified cookie.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedId {
    pub id: String,
    /// Signed with a fallback key: re-issue it under the current one.
    pub stale_key: bool,
    /// `~id`: an anonymous session, never stored.
    pub anonymous: bool,
    /// Which key signed it (0: `SECRET_KEY`), for deriving an anonymous CSRF secret.
    pub key_index: usize,
}

impl CookieKeys {
    pub fn new(secrets: &SecretKeys) -> Self {
        Self {
            keys: secrets
                .all()
                .map(|k| hmac::Key::new(hmac::HMAC_SHA256, k.as_bytes()))
                .collect(),
            verified: Cache::new(MAX_VERIFIED),
        }
    }

    fn tag(key: &hmac::Key, anonymous: bool, id: &str) -> hmac::Tag {
        let mut ctx = hmac::Context::with_key(key);
        ctx.update(CONTEXT);
        if anonymous {
            ctx.update(&[ANONYMOUS as u8]);
        }
        ctx.update(id.as_bytes());
        ctx.sign()
    }

    /// `id.signature` under the current key.
    pub fn sign(&self, id: &str) -> String {
        let tag = Self::tag(&self.keys[0], false, id);
        format!("{id}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref()))
    }

    /// `~id.signature` under the current key: an anonymous session.
    pub fn sign_anonymous(&self, id: &str) -> String {
        let tag = Self::tag(&self.keys[0], true, id);
        format!("{ANONYMOUS}{id}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref()))
    }

    /// The CSRF secret of the anonymous session `id` signed by key `key_index`.
    pub fn anonymous_csrf_secret(&self, key_index: usize, id: &str) -> String {
        let key = self.keys.get(key_index).unwrap_or(&self.keys[0]);
        let mut ctx = hmac::Context::with_key(key);
        ctx.update(ANONYMOUS_CSRF);
        ctx.update(id.as_bytes());
        URL_SAFE_NO_PAD.encode(ctx.sign().as_ref())
    }

    /// The id of a well-formed value whose signature one of the keys made (constant time).
    pub fn verify(&self, value: &str) -> Option<VerifiedId> {
        let (anonymous, value) = match value.strip_prefix(ANONYMOUS) {
            Some(rest) => (true, rest),
            None => (false, value),
        };
        if value.len() != VALUE_CHARS {
            return None;
        }
        let (id, signature) = value.split_once('.')?;
        if id.len() != ID_CHARS {
            return None;
        }
        let signature = URL_SAFE_NO_PAD.decode(signature).ok()?;
        let mut msg = [0u8; CONTEXT.len() + 1 + ID_CHARS];
        msg[..CONTEXT.len()].copy_from_slice(CONTEXT);
        let mut at = CONTEXT.len();
        if anonymous {
            msg[at] = ANONYMOUS as u8;
            at += 1;
        }
        msg[at..at + ID_CHARS].copy_from_slice(id.as_bytes());
        let msg = &msg[..at + ID_CHARS];
        self.keys.iter().enumerate().find_map(|(i, key)| {
            hmac::verify(key, msg, &signature)
                .ok()
                .map(|()| VerifiedId {
                    id: id.to_string(),
                    stale_key: i > 0,
                    anonymous,
                    key_index: i,
                })
        })
    }

    /// [`Self::verify`] through the memo of values already verified.
    fn verify_memoized(&self, value: &str) -> Option<VerifiedId> {
        if let Some(hit) = self.verified.get(value) {
            return Some(hit);
        }
        let verdict = self.verify(value)?;
        self.verified.insert(value.into(), verdict.clone());
        Some(verdict)
    }

    /// The verified session id among a request's `Cookie` header values, if any. Several
    /// `mes_session` cookies (a stale one under another path) are tried in order.
    pub fn from_cookie_headers<'a>(
        &self,
        values: impl IntoIterator<Item = &'a str>,
    ) -> Option<VerifiedId> {
        values
            .into_iter()
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .filter(|(name, _)| *name == COOKIE_NAME)
            .find_map(|(_, value)| self.verify_memoized(value.trim_matches('"')))
    }
}

impl CookiePolicy {
    fn attributes(&self) -> &'static str {
        match (self.secure, self.same_site_strict) {
            (true, true) => "; Path=/; HttpOnly; Secure; SameSite=Strict",
            (true, false) => "; Path=/; HttpOnly; Secure; SameSite=Lax",
            (false, true) => "; Path=/; HttpOnly; SameSite=Strict",
            (false, false) => "; Path=/; HttpOnly; SameSite=Lax",
        }
    }

    /// `Set-Cookie` for a session that lives `max_age_seconds` more (base64url and ASCII
    /// attributes only: always a valid header value).
    pub fn set(&self, signed: &str, max_age_seconds: i64) -> String {
        format!(
            "{COOKIE_NAME}={signed}; Max-Age={}{}",
            max_age_seconds.max(0),
            self.attributes()
        )
    }

    /// `Set-Cookie` that removes the cookie.
    pub fn clear(&self) -> String {
        format!("{COOKIE_NAME}=; Max-Age=0{}", self.attributes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::SecretString;

    fn keys(current: &str, fallbacks: &[&str]) -> CookieKeys {
        CookieKeys::new(&SecretKeys {
            current: SecretString::from(current.to_string()),
            fallbacks: fallbacks
                .iter()
                .map(|k| SecretString::from(k.to_string()))
                .collect(),
            generated: false,
        })
    }

    #[test]
    fn a_signed_id_verifies_and_a_tampered_one_does_not() {
        let k = keys("key-one", &[]);
        let id = random_token();
        let signed = k.sign(&id);
        assert_eq!(
            k.verify(&signed),
            Some(VerifiedId {
                id: id.clone(),
                stale_key: false,
                anonymous: false,
                key_index: 0,
            })
        );
        let anonymous = k.sign_anonymous(&id);
        assert!(k.verify(&anonymous).is_some_and(|v| v.anonymous));
        assert_eq!(
            k.verify(&anonymous[1..]),
            None,
            "an anonymous signature does not make a stored-session cookie"
        );
        let mut tampered = signed.clone().into_bytes();
        tampered[3] = if tampered[3] == b'A' { b'B' } else { b'A' };
        assert_eq!(k.verify(std::str::from_utf8(&tampered).unwrap()), None);
        assert_eq!(k.verify("short"), None);
        assert_eq!(k.verify(&format!("{signed}x")), None);
    }

    #[test]
    fn a_cookie_signed_with_a_fallback_key_survives_rotation() {
        let old = keys("old-key", &[]);
        let id = random_token();
        let signed = old.sign(&id);
        let rotated = keys("new-key", &["old-key"]);
        assert_eq!(rotated.verify(&signed).map(|v| v.stale_key), Some(true));
        assert_eq!(keys("new-key", &[]).verify(&signed), None);
    }

    #[test]
    fn the_cookie_is_found_among_others() {
        let k = keys("key", &[]);
        let signed = k.sign(&random_token());
        let header = format!("a=1; mes_session=bogus; {COOKIE_NAME}={signed}");
        assert!(k.from_cookie_headers([header.as_str()]).is_some());
        assert!(
            k.from_cookie_headers(["a=1", header.as_str()]).is_some(),
            "in any of several Cookie headers"
        );
    }

    fn from_cookie(k: &CookieKeys, value: &str) -> Option<VerifiedId> {
        k.from_cookie_headers([format!("{COOKIE_NAME}={value}").as_str()])
    }

    #[test]
    fn the_memo_holds_verified_values_only_and_gives_the_same_verdict() {
        let k = keys("key", &["old"]);
        let signed = k.sign(&random_token());
        let first = from_cookie(&k, &signed);
        assert!(first.is_some());
        assert_eq!(from_cookie(&k, &signed), first, "memoized");
        let mut forged = signed.clone().into_bytes();
        let last = forged.len() - 2;
        forged[last] = if forged[last] == b'A' { b'B' } else { b'A' };
        let forged = String::from_utf8(forged).unwrap();
        for _ in 0..2 {
            assert_eq!(from_cookie(&k, &forged), None);
        }
        assert_eq!(k.verified.len(), 1, "forgeries are not kept");

        let stale = keys("old", &[]).sign(&random_token());
        for _ in 0..2 {
            let verdict = from_cookie(&k, &stale).unwrap();
            assert!(verdict.stale_key && verdict.key_index == 1);
        }
    }

    #[test]
    fn the_memo_is_bounded() {
        let k = keys("key", &[]);
        for _ in 0..MAX_VERIFIED + 10 {
            assert!(from_cookie(&k, &k.sign(&random_token())).is_some());
        }
        assert!(k.verified.len() <= MAX_VERIFIED);
    }
}
