//! Every (method, path) the router serves, read from the router itself, so checks that must
//! cover every route (the CSRF matrix, the login requirement) cover routes added later too.
//!
//! Paths come from the router's `Debug` output (axum prints its path table; a test fails loudly
//! if that ever changes); methods come from asking each path with a method no route uses and
//! reading the `Allow` of the 405. A path that answers anything else accepts every method and
//! is listed with all of them.

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use tower::ServiceExt;

/// One served route; `path` has its parameters filled with sample values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub method: Method,
    /// The path as registered, e.g. `/admin/api/pages/{route}`.
    pub pattern: String,
    /// A concrete path that matches it, e.g. `/admin/api/pages/sample`.
    pub path: String,
}

/// Methods a probe cannot be answered with by a real route.
const PROBE: &str = "MES-INVENTORY-PROBE";

/// The path patterns of `router`, sorted.
pub fn patterns<S>(router: &Router<S>) -> Vec<String> {
    let debug = format!("{router:?}");
    let mut out = Vec::new();
    let mut rest = debug.as_str();
    while let Some(at) = rest.find("RouteId(") {
        rest = &rest[at..];
        let Some(open) = rest.find(": \"") else { break };
        let after = &rest[open + 3..];
        let Some(close) = after.find('"') else { break };
        let path = &after[..close];
        // axum's own catch-all for the fallback is not a route.
        if path.starts_with('/') && !path.contains("__private__") && !out.iter().any(|p| p == path)
        {
            out.push(path.to_string());
        }
        rest = &after[close..];
    }
    out.sort();
    out
}

/// A concrete path for a pattern: `{x}` → `sample`, `{*x}` → `sample/rest`.
pub fn sample_path(pattern: &str) -> String {
    pattern
        .split('/')
        .map(|segment| {
            if segment.starts_with("{*") {
                "sample/rest"
            } else if segment.starts_with('{') {
                "sample"
            } else {
                segment
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Every (method, path) `router` serves.
pub async fn routes(router: Router) -> Vec<Route> {
    let mut out = Vec::new();
    for pattern in patterns(&router) {
        let path = sample_path(&pattern);
        let probe = Request::builder()
            .method(Method::from_bytes(PROBE.as_bytes()).expect("a valid method token"))
            .uri(&path)
            .body(Body::empty())
            .expect("a valid probe request");
        let response = router
            .clone()
            .oneshot(probe)
            .await
            .unwrap_or_else(|e| match e {});
        let methods: Vec<Method> = if response.status() == StatusCode::METHOD_NOT_ALLOWED {
            response
                .headers()
                .get(header::ALLOW)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .split(',')
                .filter_map(|m| Method::from_bytes(m.trim().as_bytes()).ok())
                .collect()
        } else {
            [
                Method::GET,
                Method::POST,
                Method::PUT,
                Method::PATCH,
                Method::DELETE,
            ]
            .into()
        };
        for method in methods {
            out.push(Route {
                method,
                pattern: pattern.clone(),
                path: path.clone(),
            });
        }
    }
    out
}

/// The routes a CSRF token guards: every method but GET, HEAD and OPTIONS.
pub async fn state_changing(router: Router) -> Vec<Route> {
    routes(router)
        .await
        .into_iter()
        .filter(|r| !crate::http::middleware::csrf::is_safe(&r.method))
        .collect()
}
