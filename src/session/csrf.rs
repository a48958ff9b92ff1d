//! CSRF tokens (DESIGN §4.2): a 32-byte secret lives in the session; pages and clients get it
//! masked with a fresh random pad (`pad ‖ secret ⊕ pad`), so the rendered token changes on
//! every page while the secret stays, and a compressed response cannot leak it (BREACH).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::rand::{SecureRandom, SystemRandom};
use subtle::ConstantTimeEq;

const SECRET_BYTES: usize = 32;
/// Characters of a masked token: 64 bytes base64url without padding.
pub const TOKEN_CHARS: usize = 86;

/// `text` (a session's stored secret or a masked token: base64url, no padding) decoded, when
/// it holds exactly `N` bytes. Into a buffer on the stack: every CSRF-checked request decodes
/// a token and a secret.
fn decode_exact<const N: usize>(text: &str) -> Option<[u8; N]> {
    // Room for the decoder's estimate (three bytes per four characters, rounded up), which
    // it requires of the output even when fewer bytes come out; a longer text is an error.
    let mut buf = [0u8; 2 * SECRET_BYTES + 3];
    let written = URL_SAFE_NO_PAD.decode_slice(text, &mut buf).ok()?;
    (written == N).then(|| {
        let mut out = [0u8; N];
        out.copy_from_slice(&buf[..N]);
        out
    })
}

/// A fresh masked token for the session secret `secret`.
pub fn mask(secret: &str) -> String {
    let secret = decode_exact::<SECRET_BYTES>(secret).unwrap_or([0; SECRET_BYTES]);
    let mut token = [0u8; 2 * SECRET_BYTES];
    SystemRandom::new()
        .fill(&mut token[..SECRET_BYTES])
        .expect("the operating system's random generator is available");
    for i in 0..SECRET_BYTES {
        token[SECRET_BYTES + i] = token[i] ^ secret[i];
    }
    URL_SAFE_NO_PAD.encode(token)
}

/// Whether `token` unmasks to `secret`. A token of the wrong size is refused before any
/// decoding; the comparison itself is constant-time.
pub fn verify(secret: &str, token: &str) -> bool {
    if token.len() != TOKEN_CHARS {
        return false;
    }
    let (Some(secret), Some(token)) = (
        decode_exact::<SECRET_BYTES>(secret),
        decode_exact::<{ 2 * SECRET_BYTES }>(token),
    ) else {
        return false;
    };
    let mut unmasked = [0u8; SECRET_BYTES];
    for i in 0..SECRET_BYTES {
        unmasked[i] = token[i] ^ token[SECRET_BYTES + i];
    }
    unmasked.ct_eq(&secret).into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::cookie::random_token;

    #[test]
    fn masked_tokens_differ_each_time_and_all_verify() {
        let secret = random_token();
        let a = mask(&secret);
        let b = mask(&secret);
        assert_ne!(a, b);
        assert_eq!(a.len(), TOKEN_CHARS);
        assert!(verify(&secret, &a));
        assert!(verify(&secret, &b));
        assert!(!verify(&random_token(), &a), "another session's token");
    }

    #[test]
    fn malformed_and_oversized_tokens_are_refused() {
        let secret = random_token();
        let good = mask(&secret);
        assert!(!verify(&secret, ""));
        assert!(!verify(&secret, &good[..85]));
        assert!(!verify(&secret, &format!("{good}A")));
        assert!(!verify(&secret, &"x".repeat(100_000)));
        assert!(!verify(&secret, &"!".repeat(TOKEN_CHARS)));
        assert!(!verify("not-a-secret", &good));
        // A secret one byte short or long is no secret.
        assert!(!verify(&URL_SAFE_NO_PAD.encode([7u8; 31]), &good));
        assert!(!verify(&URL_SAFE_NO_PAD.encode([7u8; 33]), &good));
    }
}
