//! What the request says about its client: the client IP (for the login limit and the audit
//! log) and the origin it was served under (for the CSRF origin check).
//!
//! Forwarded headers are believed only when `TRUST_PROXY_HEADERS` is on and the socket peer
//! is one of `TRUSTED_PROXY_IPS`; otherwise the client is the socket peer and the origin is
//! what the `Host` header names.

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, LazyLock};

use axum::extract::ConnectInfo;
use axum::http::{Extensions, HeaderMap, header};

use crate::config::AuthSettings;

fn peer(extensions: &Extensions) -> Option<IpAddr> {
    extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip())
}

fn trusted_peer(settings: &AuthSettings, extensions: &Extensions) -> Option<IpAddr> {
    let ip = peer(extensions)?;
    (settings.trust_proxy_headers && settings.trusted_proxy_ips.contains(&ip)).then_some(ip)
}

/// The single value of `name`, if the header appears exactly once and is text.
fn single<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    let mut values = headers.get_all(name).iter();
    let first = values.next()?;
    values
        .next()
        .is_none()
        .then(|| first.to_str().ok())
        .flatten()
}

/// The client's address: the socket peer, or behind a trusted proxy the right-most
/// `X-Forwarded-For` entry that is not itself a trusted proxy.
pub fn client_ip(settings: &AuthSettings, headers: &HeaderMap, extensions: &Extensions) -> IpAddr {
    let socket = peer(extensions).unwrap_or(IpAddr::from([127, 0, 0, 1]));
    if trusted_peer(settings, extensions).is_none() {
        return socket;
    }
    headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .filter_map(|s| s.parse::<IpAddr>().ok())
        .find(|ip| !settings.trusted_proxy_ips.contains(ip))
        .unwrap_or(socket)
}

/// The origin (`scheme://host[:port]`, lower case, no default port) this request was served
/// under, or `None` without a usable host.
///
/// The scheme is `X-Forwarded-Proto` from a trusted proxy, else `https` when the session cookie
/// is `Secure` (TLS ends at a proxy in front of us), else `http`.
pub fn served_origin(
    settings: &AuthSettings,
    headers: &HeaderMap,
    extensions: &Extensions,
    uri_authority: Option<&str>,
) -> Option<Arc<str>> {
    let (scheme, host) = served_origin_parts(settings, headers, extensions, uri_authority)?;
    joined_origin(scheme, host)
}

/// `{scheme}://{host}` in its normal form.
pub fn joined_origin(scheme: &str, host: &str) -> Option<Arc<str>> {
    let mut origin = String::with_capacity(scheme.len() + 3 + host.len());
    origin.push_str(scheme);
    origin.push_str("://");
    origin.push_str(host);
    normalized_origin(&origin)
}

/// The scheme and host of [`served_origin`] before they are joined and normalized: the
/// origin this request was served under is `{scheme}://{host}` in its normal form.
pub fn served_origin_parts<'h>(
    settings: &AuthSettings,
    headers: &'h HeaderMap,
    extensions: &Extensions,
    uri_authority: Option<&'h str>,
) -> Option<(&'static str, &'h str)> {
    let trusted = trusted_peer(settings, extensions).is_some();
    let forwarded = |name| trusted.then(|| single(headers, name)).flatten();
    let scheme = match forwarded("x-forwarded-proto").map(str::trim) {
        Some(p) if p.eq_ignore_ascii_case("https") => "https",
        Some(p) if p.eq_ignore_ascii_case("http") => "http",
        _ if settings.cookie_secure => "https",
        _ => "http",
    };
    let host = forwarded("x-forwarded-host")
        .or_else(|| single(headers, header::HOST.as_str()))
        .or(uri_authority)?
        .trim();
    Some((scheme, host))
}

/// [`crate::config::auth::normalize_origin`], remembered for the last few hundred values: a
/// URL parse per origin costs more than the rest of a CSRF check, and a site sees few origins
/// (its own, the trusted ones). The memo is bounded, so made-up origins only evict each other.
pub fn normalized_origin(origin: &str) -> Option<Arc<str>> {
    static SEEN: LazyLock<quick_cache::sync::Cache<Box<str>, Option<Arc<str>>>> =
        LazyLock::new(|| quick_cache::sync::Cache::new(512));
    if let Some(hit) = SEEN.get(origin) {
        return hit;
    }
    let normalized: Option<Arc<str>> = crate::config::auth::normalize_origin(origin).map(Arc::from);
    SEEN.insert(origin.into(), normalized.clone());
    normalized
}

/// The client's address as an extractor (see [`client_ip`]).
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub IpAddr);

impl axum::extract::FromRequestParts<crate::app::AppState> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        app: &crate::app::AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(Self(client_ip(
            &app.config.auth,
            &parts.headers,
            &parts.extensions,
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{EnvSource, Settings};
    use axum::http::HeaderValue;

    fn settings(pairs: &[(&str, &str)]) -> AuthSettings {
        let mut all = vec![("MES_ENV", "testing")];
        all.extend_from_slice(pairs);
        Settings::from_source(&EnvSource::from_pairs(all)).0.auth
    }

    fn from_peer(ip: &str) -> Extensions {
        let mut ext = Extensions::new();
        ext.insert(ConnectInfo(SocketAddr::new(ip.parse().unwrap(), 40000)));
        ext
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn forwarded_headers_count_only_from_a_trusted_proxy() {
        let trusting = settings(&[
            ("TRUST_PROXY_HEADERS", "true"),
            ("TRUSTED_PROXY_IPS", "10.0.0.1"),
        ]);
        let h = headers(&[
            ("x-forwarded-for", "203.0.113.9, 198.51.100.7"),
            ("x-forwarded-proto", "https"),
            ("x-forwarded-host", "mes.example.com"),
            ("host", "10.0.0.2:8080"),
        ]);
        let proxy = from_peer("10.0.0.1");
        assert_eq!(client_ip(&trusting, &h, &proxy).to_string(), "198.51.100.7");
        assert_eq!(
            served_origin(&trusting, &h, &proxy, None).as_deref(),
            Some("https://mes.example.com")
        );

        let stranger = from_peer("192.0.2.4");
        assert_eq!(client_ip(&trusting, &h, &stranger).to_string(), "192.0.2.4");
        assert_eq!(
            served_origin(&trusting, &h, &stranger, None).as_deref(),
            Some("http://10.0.0.2:8080")
        );

        let plain = settings(&[]);
        assert_eq!(client_ip(&plain, &h, &proxy).to_string(), "10.0.0.1");
    }

    #[test]
    fn a_secure_cookie_means_the_browser_sees_https() {
        let secure = settings(&[("SESSION_COOKIE_SECURE", "true")]);
        let h = headers(&[("host", "mes.example.com:443")]);
        assert_eq!(
            served_origin(&secure, &h, &from_peer("192.0.2.4"), None).as_deref(),
            Some("https://mes.example.com")
        );
    }
}
