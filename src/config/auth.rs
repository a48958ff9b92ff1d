//! Login, session and CSRF settings (DESIGN §4.2–4.3).

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use super::Mode;
use super::env::Reader;

/// `CSRF_MODE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CsrfMode {
    /// Rejections answer 403.
    Enforce,
    /// The verdict is computed, logged and counted, and the request goes through.
    ReportOnly,
}

/// The LDAP HTTP API login provider (`LDAP_*`).
#[derive(Debug, Clone)]
pub struct LdapSettings {
    /// `LDAP_API_URL`: base URL; the provider posts to `{url}/api/v1/ldap/auth`.
    pub url: url::Url,
    /// `LDAP_ALLOWED_HOSTS`: the URL's host must be one of these (outside development).
    pub allowed_hosts: Vec<String>,
    /// `LDAP_CA_BUNDLE`: extra trusted certificate authorities (PEM), DER-encoded here.
    pub ca_certificates: Vec<Vec<u8>>,
    /// `LDAP_CA_BUNDLE` as given, for messages.
    pub ca_bundle_path: Option<PathBuf>,
    /// `LDAP_DOMAIN`: sent as `domain` with every login.
    pub domain: String,
    /// `LDAP_TIMEOUT_SECONDS`: bound on one login call (10 s by default).
    pub timeout: Duration,
}

/// One development user of `LOCAL_AUTH_USERS`, parsed and checked once with the rest of the
/// configuration (the login provider only uses it).
#[derive(Clone)]
pub struct LocalUser {
    pub username: String,
    pub mail: String,
    /// The PHC string (`$argon2id$v=19$…`).
    pub hash: String,
    /// The demo administrator; `LOCAL_AUTH_USERS` entries are not (`ADMIN_EMAILS` decides).
    pub admin: bool,
}

impl std::fmt::Debug for LocalUser {
    /// Without the hash: settings are printed in diagnostics.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalUser")
            .field("username", &self.username)
            .field("mail", &self.mail)
            .field("admin", &self.admin)
            .finish_non_exhaustive()
    }
}

/// Parses `LOCAL_AUTH_USERS`: `username:mail:argon2-hash` entries separated by `;` or new
/// lines. The message names the broken entry, never a hash.
pub fn parse_local_users(raw: &str) -> Result<Vec<LocalUser>, String> {
    use argon2::password_hash::phc::PasswordHash;
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

/// The development demo administrator's password (`DEMO_PASSWORD`).
#[derive(Debug, Clone)]
pub struct DemoPassword {
    pub value: secrecy::SecretString,
    /// Made up at start (the variable was unset): the serving process prints it once, and a
    /// supervisor hands it to its workers so every worker accepts the same one.
    pub generated: bool,
}

#[derive(Debug, Clone)]
pub struct AuthSettings {
    /// `LOCAL_AUTH_USERS`, parsed: development-only demo users (refused in staging and
    /// production).
    pub local_auth_users: Option<Vec<LocalUser>>,
    /// Development without `LDAP_API_URL` and `LOCAL_AUTH_USERS`: the demo administrator
    /// `demo` logs in with this password.
    pub demo_password: Option<DemoPassword>,
    /// The LDAP provider, when `LDAP_API_URL` is set.
    pub ldap: Option<LdapSettings>,
    /// `ADMIN_EMAILS`, lower-cased: users whose mail is listed are administrators.
    pub admin_emails: Vec<String>,
    /// `SESSION_LIFETIME`: a session ends this long after login or its last heartbeat.
    pub session_lifetime: Duration,
    /// `SESSION_ABSOLUTE_LIFETIME`: the longest a login lasts; heartbeats cannot extend it.
    pub session_absolute_lifetime: Duration,
    /// `SESSION_COOKIE_SECURE`: the cookie carries `Secure` (default: staging and production).
    pub cookie_secure: bool,
    /// SameSite=Strict in staging and production, Lax otherwise.
    pub cookie_same_site_strict: bool,
    /// `SESSION_CACHE_MS`: how long a worker trusts its in-process copy of a session; a logout
    /// elsewhere is seen within this bound.
    pub session_cache_ttl: Duration,
    /// `SESSION_CLEANUP_INTERVAL`: seconds between sweeps of expired sessions.
    pub session_cleanup_interval: Duration,
    /// `CSRF_MODE`.
    pub csrf_mode: CsrfMode,
    /// `TRUSTED_ORIGINS`: extra origins (`scheme://host[:port]`) accepted in `Origin`.
    pub trusted_origins: Vec<String>,
    /// `TRUST_PROXY_HEADERS`: read `X-Forwarded-For/-Host/-Proto` from trusted proxies.
    pub trust_proxy_headers: bool,
    /// `TRUSTED_PROXY_IPS`: the peers whose forwarded headers count.
    pub trusted_proxy_ips: Vec<IpAddr>,
    /// `LOGIN_RATE_LIMIT`: login attempts per client IP per window.
    pub login_rate_limit: u32,
    /// `LOGIN_RATE_WINDOW`: the window of the login limit.
    pub login_rate_window: Duration,
}

impl AuthSettings {
    /// Whether `mail` belongs to an administrator.
    pub fn is_admin_mail(&self, mail: &str) -> bool {
        let mail = mail.trim();
        !mail.is_empty()
            && self
                .admin_emails
                .iter()
                .any(|m| m.eq_ignore_ascii_case(mail))
    }
}

pub(super) fn read(r: &mut Reader<'_>, mode: Mode) -> AuthSettings {
    let local_auth_given = r.optional("LOCAL_AUTH_USERS");
    if mode.is_production_like() && local_auth_given.is_some() {
        r.diag.error(
            "LOCAL_AUTH_USERS",
            format!(
                "local demo users are refused in {mode} mode; remove the variable and log in \
                 through the LDAP API (LDAP_API_URL)"
            ),
        );
    }
    let local_auth_users = match &local_auth_given {
        Some(raw) if !mode.is_production_like() => match parse_local_users(raw) {
            Ok(users) => Some(users),
            Err(message) => {
                r.diag.error("LOCAL_AUTH_USERS", message);
                None
            }
        },
        _ => None,
    };
    let ldap = read_ldap(r, mode);
    if mode.is_production_like() && ldap.is_none() {
        r.diag.warning(
            "LDAP_API_URL",
            format!("not set: nobody can log in in {mode} mode until it is"),
        );
    }

    let demo_given = r.optional("DEMO_PASSWORD");
    let demo_password = if mode != Mode::Development {
        if demo_given.is_some() {
            r.diag.error(
                "DEMO_PASSWORD",
                format!("the demo login exists in development only, not in {mode} mode; remove the variable"),
            );
        }
        None
    } else if ldap.is_none() && local_auth_given.is_none() {
        Some(match demo_given {
            Some(value) => DemoPassword {
                value: value.into(),
                generated: false,
            },
            None => DemoPassword {
                value: super::secret::random_password().into(),
                generated: true,
            },
        })
    } else {
        None
    };

    let admin_emails = r
        .list("ADMIN_EMAILS")
        .into_iter()
        .map(|m| m.to_ascii_lowercase())
        .collect();

    // Enforced in every mode unless CSRF_MODE says otherwise, and said aloud whenever it is
    // not: a test or staging run must not pass because the protection was off.
    let csrf_mode = match r.choice("CSRF_MODE", "enforce", &["enforce", "report-only"]) {
        "report-only" => CsrfMode::ReportOnly,
        _ => CsrfMode::Enforce,
    };
    if csrf_mode == CsrfMode::ReportOnly {
        r.diag.warning(
            "CSRF_MODE",
            format!(
                "report-only ({mode} mode): CSRF is not enforced; requests that fail the check \
                 are logged and counted but served. Switch to enforce once the logs are clean"
            ),
        );
    }

    let trusted_origins = r
        .list("TRUSTED_ORIGINS")
        .into_iter()
        .filter_map(|o| match normalize_origin(&o) {
            Some(origin) => Some(origin),
            None => {
                r.diag.error(
                    "TRUSTED_ORIGINS",
                    format!(
                        "{o:?} is not an origin: write scheme://host[:port] with no path, \
                         e.g. https://mes.example.com"
                    ),
                );
                None
            }
        })
        .collect();

    let trust_proxy_headers = r.bool("TRUST_PROXY_HEADERS", false);
    let trusted_proxy_ips: Vec<IpAddr> = r
        .list("TRUSTED_PROXY_IPS")
        .into_iter()
        .filter_map(|ip| match ip.parse() {
            Ok(ip) => Some(ip),
            Err(_) => {
                r.diag
                    .error("TRUSTED_PROXY_IPS", format!("{ip:?} is not an IP address"));
                None
            }
        })
        .collect();
    if trust_proxy_headers && trusted_proxy_ips.is_empty() {
        r.diag.error(
            "TRUSTED_PROXY_IPS",
            "TRUST_PROXY_HEADERS is on but no proxy is listed: name the addresses of the \
             proxies whose X-Forwarded-* headers count",
        );
    }

    AuthSettings {
        local_auth_users,
        demo_password,
        ldap,
        admin_emails,
        session_lifetime: r.seconds("SESSION_LIFETIME", 28_800, 60, 30 * 86_400),
        session_absolute_lifetime: r.seconds("SESSION_ABSOLUTE_LIFETIME", 86_400, 60, 90 * 86_400),
        cookie_secure: r.bool("SESSION_COOKIE_SECURE", mode.is_production_like()),
        cookie_same_site_strict: mode.is_production_like(),
        session_cache_ttl: r.millis("SESSION_CACHE_MS", 500, 0, 1_000),
        session_cleanup_interval: r.seconds("SESSION_CLEANUP_INTERVAL", 300, 1, 86_400),
        csrf_mode,
        trusted_origins,
        trust_proxy_headers,
        trusted_proxy_ips,
        login_rate_limit: r.int("LOGIN_RATE_LIMIT", 5, 1, 10_000) as u32,
        login_rate_window: r.seconds("LOGIN_RATE_WINDOW", 300, 1, 86_400),
    }
}

/// `scheme://host[:port]` in lower case without a default port, or `None` when `origin` has
/// a path, a query, credentials or an unknown scheme.
pub fn normalize_origin(origin: &str) -> Option<String> {
    let url = url::Url::parse(origin).ok()?;
    if !matches!(url.scheme(), "http" | "https")
        || !(url.path().is_empty() || url.path() == "/")
        || origin.trim_end_matches('/').matches('/').count() != 2
        || url.query().is_some()
        || url.fragment().is_some()
        || !url.username().is_empty()
        || url.password().is_some()
    {
        return None;
    }
    Some(url.origin().ascii_serialization())
}

fn read_ldap(r: &mut Reader<'_>, mode: Mode) -> Option<LdapSettings> {
    let raw = r.optional("LDAP_API_URL")?;
    let allowed_hosts: Vec<String> = r
        .list("LDAP_ALLOWED_HOSTS")
        .into_iter()
        .map(|h| h.to_ascii_lowercase())
        .collect();
    let domain = r.string("LDAP_DOMAIN", "");
    let timeout = r.seconds("LDAP_TIMEOUT_SECONDS", 10, 1, 120);
    let (ca_certificates, ca_bundle_path) = match r.optional("LDAP_CA_BUNDLE") {
        None => (Vec::new(), None),
        Some(path) => {
            let path = PathBuf::from(path);
            match read_ca_bundle(&path) {
                Ok(certs) => (certs, Some(path)),
                Err(message) => {
                    r.diag.error("LDAP_CA_BUNDLE", message);
                    (Vec::new(), Some(path))
                }
            }
        }
    };
    let url = match url::Url::parse(&raw) {
        Ok(url) if url.host_str().is_some() => url,
        _ => {
            r.diag.error(
                "LDAP_API_URL",
                "is not an absolute URL such as https://ldap-api.example.com",
            );
            return None;
        }
    };
    let mut ok = true;
    match url.scheme() {
        "https" => {}
        "http" if mode == Mode::Development => r.diag.warning(
            "LDAP_API_URL",
            "uses http: passwords travel in clear text (accepted in development only)",
        ),
        scheme => {
            ok = false;
            r.diag.error(
                "LDAP_API_URL",
                format!(
                    "must use https outside development (it uses {scheme}); passwords are sent \
                     to it"
                ),
            );
        }
    }
    if !url.username().is_empty() || url.password().is_some() {
        ok = false;
        r.diag
            .error("LDAP_API_URL", "must not carry credentials in the URL");
    }
    let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
    if allowed_hosts.is_empty() {
        if mode != Mode::Development {
            ok = false;
            r.diag.error(
                "LDAP_ALLOWED_HOSTS",
                format!(
                    "must list the LDAP API host outside development (LDAP_API_URL points at \
                     {host})"
                ),
            );
        }
    } else if !allowed_hosts.contains(&host) {
        ok = false;
        r.diag.error(
            "LDAP_API_URL",
            format!(
                "its host {host} is not in LDAP_ALLOWED_HOSTS ({})",
                allowed_hosts.join(", ")
            ),
        );
    }
    ok.then_some(LdapSettings {
        url,
        allowed_hosts,
        ca_certificates,
        ca_bundle_path,
        domain,
        timeout,
    })
}

/// Every certificate of a PEM file, DER-encoded.
fn read_ca_bundle(path: &std::path::Path) -> Result<Vec<Vec<u8>>, String> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let pem = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let certs: Vec<Vec<u8>> = CertificateDer::pem_slice_iter(&pem)
        .map(|c| c.map(|c| c.to_vec()))
        .collect::<Result<_, _>>()
        .map_err(|e| format!("{} is not a PEM certificate bundle: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!("{} holds no PEM certificate", path.display()));
    }
    Ok(certs)
}

#[cfg(test)]
mod tests {
    use crate::config::{EnvSource, Settings};

    #[test]
    fn malformed_local_users_are_named_without_their_hash() {
        let err = super::parse_local_users("ann:ann@example.com:not-a-hash").unwrap_err();
        assert!(err.contains("entry 1"));
        assert!(!err.contains("not-a-hash"));
        assert!(super::parse_local_users("justaname").is_err());
    }

    fn load(pairs: &[(&str, &str)]) -> (Settings, crate::config::Diagnostics) {
        let mut all = vec![("MES_ENV", "testing")];
        all.extend_from_slice(pairs);
        Settings::from_source(&EnvSource::from_pairs(all))
    }

    fn errors_for(diag: &crate::config::Diagnostics, var: &str) -> Vec<String> {
        diag.errors()
            .filter(|d| d.variable == var)
            .map(|d| d.message.clone())
            .collect()
    }

    #[test]
    fn a_plain_http_ldap_url_is_refused_outside_development() {
        let (s, diag) = load(&[
            ("LDAP_API_URL", "http://ldap.example.com"),
            ("LDAP_ALLOWED_HOSTS", "ldap.example.com"),
        ]);
        assert!(errors_for(&diag, "LDAP_API_URL")[0].contains("https"));
        assert!(s.auth.ldap.is_none());

        let (s, diag) = load(&[
            ("MES_ENV", "development"),
            ("LDAP_API_URL", "http://ldap.example.com"),
        ]);
        assert!(!diag.has_errors(), "{diag}");
        assert!(s.auth.ldap.is_some());
    }

    #[test]
    fn the_ldap_host_must_be_allowed_and_the_ca_bundle_readable() {
        let (_, diag) = load(&[
            ("LDAP_API_URL", "https://evil.example.com"),
            ("LDAP_ALLOWED_HOSTS", "ldap.example.com"),
            ("LDAP_CA_BUNDLE", "/nonexistent/ca.pem"),
        ]);
        assert!(errors_for(&diag, "LDAP_API_URL")[0].contains("not in LDAP_ALLOWED_HOSTS"));
        assert!(errors_for(&diag, "LDAP_CA_BUNDLE")[0].contains("cannot read"));

        let (_, diag) = load(&[("LDAP_API_URL", "https://ldap.example.com")]);
        assert!(!errors_for(&diag, "LDAP_ALLOWED_HOSTS").is_empty());
    }

    #[test]
    fn origins_are_exact_and_proxy_trust_needs_addresses() {
        let (s, diag) = load(&[
            (
                "TRUSTED_ORIGINS",
                "https://MES.example.com, http://a.example:8080/, https://b.example:443",
            ),
            ("TRUST_PROXY_HEADERS", "true"),
        ]);
        assert_eq!(
            s.auth.trusted_origins,
            [
                "https://mes.example.com",
                "http://a.example:8080",
                "https://b.example"
            ]
        );
        assert!(!errors_for(&diag, "TRUSTED_PROXY_IPS").is_empty());

        let (_, diag) = load(&[("TRUSTED_ORIGINS", "https://a.example/path,null")]);
        assert_eq!(errors_for(&diag, "TRUSTED_ORIGINS").len(), 2);
    }

    #[test]
    fn csrf_is_enforced_in_every_mode_and_report_only_always_warns() {
        let key = crate::config::secret::generate();
        for mode in ["development", "testing", "staging", "production"] {
            let base = [
                ("MES_ENV", mode),
                ("SECRET_KEY", key.as_str()),
                ("DATABASE_URL", "postgres://mes@db/mes"),
            ];
            let (s, diag) = load(&base);
            assert_eq!(s.auth.csrf_mode, super::CsrfMode::Enforce, "{mode}");
            assert!(
                !diag.items.iter().any(|d| d.variable == "CSRF_MODE"),
                "{mode}"
            );

            let mut report_only = base.to_vec();
            report_only.push(("CSRF_MODE", "report-only"));
            let (s, diag) = load(&report_only);
            assert_eq!(s.auth.csrf_mode, super::CsrfMode::ReportOnly, "{mode}");
            assert!(
                diag.warnings()
                    .any(|d| d.variable == "CSRF_MODE" && d.message.contains("not enforced")),
                "{mode}: {diag}"
            );
        }
    }

    #[test]
    fn admin_mails_match_case_insensitively() {
        let (s, _) = load(&[("ADMIN_EMAILS", "Lee@Example.com, ops@example.com")]);
        assert!(s.auth.is_admin_mail("lee@example.COM"));
        assert!(!s.auth.is_admin_mail("other@example.com"));
        assert!(!s.auth.is_admin_mail(""));
    }

    #[test]
    fn the_demo_password_is_development_only_and_generated_when_unset() {
        let dev = [("MES_ENV", "development")];
        let (s, _) = load(&dev);
        let demo = s
            .auth
            .demo_password
            .expect("development without users: the demo login");
        assert!(demo.generated);
        assert_eq!(secrecy::ExposeSecret::expose_secret(&demo.value).len(), 16);

        let (s, _) = load(&[("MES_ENV", "development"), ("DEMO_PASSWORD", "chosen")]);
        let demo = s.auth.demo_password.unwrap();
        assert!(!demo.generated);
        assert_eq!(secrecy::ExposeSecret::expose_secret(&demo.value), "chosen");

        let users = "alice:alice@example.com:$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaA";
        let (s, _) = load(&[("MES_ENV", "development"), ("LOCAL_AUTH_USERS", users)]);
        assert!(
            s.auth.demo_password.is_none(),
            "local users replace the demo login"
        );

        for mode in ["testing", "staging", "production"] {
            let (s, diag) = load(&[("MES_ENV", mode), ("DEMO_PASSWORD", "chosen")]);
            assert!(s.auth.demo_password.is_none());
            assert!(
                !errors_for(&diag, "DEMO_PASSWORD").is_empty(),
                "{mode}: {diag}"
            );
        }
    }
}
