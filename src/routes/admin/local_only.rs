//! TEMPORARY guard for the admin APIs until admin login and CSRF (issue 4) land: they answer
//! only to requests made on the machine itself (loopback peer) that did not come through a
//! proxy. Behind nginx every peer is loopback, so any forwarding header is refused too. When
//! the `AdminUser` extractor exists, replace [`LocalAdmin`] with it in the handlers and delete
//! this file.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;

use crate::http::AppError;

/// A caller allowed to use the admin APIs before admin login exists.
#[derive(Debug, Clone)]
pub struct LocalAdmin {
    /// Recorded as `requested_by` in the restart history and audit log.
    pub name: &'static str,
    pub ip: String,
}

const PROXY_HEADERS: [&str; 4] = ["forwarded", "x-forwarded-for", "x-real-ip", "via"];

impl<S: Send + Sync> FromRequestParts<S> for LocalAdmin {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip());
        let proxied = PROXY_HEADERS.iter().any(|h| parts.headers.contains_key(*h));
        match peer {
            Some(ip) if ip.is_loopback() && !proxied => Ok(Self {
                name: "local-admin",
                ip: ip.to_string(),
            }),
            _ => Err(AppError::Forbidden(
                "the admin APIs answer only on the dashboard's own machine, not through a \
                 proxy, until admin login is enabled"
                    .into(),
            )),
        }
    }
}
