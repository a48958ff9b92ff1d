//! The LDAP HTTP API provider (DESIGN §4.3): `POST {LDAP_API_URL}/api/v1/ldap/auth` with
//! `{username, password, domain}` → `{success, user{username, displayName, mail, department}}`.
//!
//! TLS is rustls with ring, trusting the Mozilla roots plus `LDAP_CA_BUNDLE`; redirects are
//! not followed (the host allow-list must hold for every byte of a password sent). A timeout,
//! a TLS failure or an answer that does not parse is a failed login, never a crash.

use std::sync::Arc;

use futures_util::future::BoxFuture;
use rustls::pki_types::CertificateDer;
use serde::{Deserialize, Serialize};

use super::{LoginError, LoginProvider};
use crate::auth::User;
use crate::config::Mode;
use crate::config::auth::LdapSettings;

pub struct LdapProvider {
    client: reqwest::Client,
    endpoint: url::Url,
    domain: String,
}

#[derive(Serialize)]
struct AuthRequest<'a> {
    username: &'a str,
    password: &'a str,
    domain: &'a str,
}

#[derive(Deserialize)]
struct AuthAnswer {
    success: bool,
    user: Option<AnswerUser>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AnswerUser {
    username: String,
    display_name: Option<String>,
    mail: Option<String>,
    department: Option<String>,
}

/// The rustls client configuration: ring, Mozilla roots and the extra CAs.
fn tls_config(extra_cas: &[Vec<u8>]) -> anyhow::Result<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    for der in extra_cas {
        roots
            .add(CertificateDer::from(der.clone()))
            .map_err(|e| anyhow::anyhow!("LDAP_CA_BUNDLE holds an unusable certificate: {e}"))?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

impl LdapProvider {
    pub fn new(settings: &LdapSettings, mode: Mode) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .tls_backend_preconfigured(tls_config(&settings.ca_certificates)?)
            .https_only(mode != Mode::Development)
            .redirect(reqwest::redirect::Policy::none())
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout)
            .build()
            .map_err(|e| anyhow::anyhow!("cannot build the LDAP API client: {e}"))?;
        let mut endpoint = settings.url.clone();
        let base = endpoint.path().trim_end_matches('/').to_string();
        endpoint.set_path(&format!("{base}/api/v1/ldap/auth"));
        Ok(Self {
            client,
            endpoint,
            domain: settings.domain.clone(),
        })
    }

    async fn call(&self, username: &str, password: &str) -> Result<User, LoginError> {
        let response = self
            .client
            .post(self.endpoint.clone())
            .json(&AuthRequest {
                username,
                password,
                domain: &self.domain,
            })
            .send()
            .await
            .map_err(|e| {
                let kind = if e.is_timeout() {
                    "timed out"
                } else if e.is_connect() {
                    "cannot connect"
                } else {
                    "request failed"
                };
                // The reqwest error chain names the URL and the cause, never the body.
                LoginError::Unavailable(format!("{kind}: {e:#}"))
            })?;
        let status = response.status();
        let body = response
            .bytes()
            .await
            .map_err(|e| LoginError::Unavailable(format!("cannot read the answer: {e}")))?;
        let answer: AuthAnswer = match serde_json::from_slice(&body) {
            Ok(answer) => answer,
            Err(_) if status == reqwest::StatusCode::UNAUTHORIZED => {
                return Err(LoginError::BadCredentials);
            }
            Err(e) => {
                return Err(LoginError::Unavailable(format!(
                    "HTTP {status} with an answer that is not the API's JSON: {e}"
                )));
            }
        };
        match (answer.success, answer.user) {
            (true, Some(user)) if !user.username.is_empty() => Ok(User {
                display_name: user
                    .display_name
                    .filter(|d| !d.is_empty())
                    .unwrap_or_else(|| user.username.clone()),
                username: user.username,
                mail: user.mail.unwrap_or_default(),
                department: user.department,
                provider_admin: false,
            }),
            (true, _) => Err(LoginError::Unavailable(
                "success without a user in the answer".into(),
            )),
            (false, _) => Err(LoginError::BadCredentials),
        }
    }
}

impl LoginProvider for LdapProvider {
    fn name(&self) -> &'static str {
        "ldap"
    }

    fn authenticate<'a>(
        &'a self,
        username: &'a str,
        password: &'a str,
    ) -> BoxFuture<'a, Result<User, LoginError>> {
        Box::pin(self.call(username, password))
    }
}
