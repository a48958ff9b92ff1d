//! HTTP: the server loop, the router and its middleware, the error contract and envelope.

pub mod client;
pub mod csv;
pub mod envelope;
pub mod error;
pub mod extract;
pub mod hyper_errors;
pub mod middleware;
pub mod pages;
pub mod probe;
pub mod router;
pub mod server;
pub mod text;

pub use envelope::{ApiResponse, Meta, RawApiResponse, RawJson};
pub use error::{AppError, ErrorCode, ErrorContext};

/// Paths whose answers are JSON (the envelope) rather than HTML pages.
pub fn is_json_path(path: &str) -> bool {
    path == "/api"
        || path.starts_with("/api/")
        || path.starts_with("/admin/api/")
        || path == "/health"
        || path.starts_with("/health/")
        || path == "/metrics"
}

#[cfg(test)]
mod tests {
    #[test]
    fn api_and_probe_paths_are_json_and_pages_are_not() {
        for p in [
            "/api/wip/overview/summary",
            "/admin/api/pages",
            "/health",
            "/health/live",
        ] {
            assert!(super::is_json_path(p), "{p}");
        }
        for p in ["/", "/wip-overview", "/admin/login", "/apiary", "/healthy"] {
            assert!(!super::is_json_path(p), "{p}");
        }
    }
}
