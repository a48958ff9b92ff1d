//! One file per middleware. The order they run in is composed, and explained, in
//! [`crate::http::router::build`].

pub mod access_log;
pub mod body_limit;
pub mod catch_panic;
pub mod csrf;
pub mod drain;
pub mod error_render;
pub mod security_headers;
pub mod session;
pub mod timeout;

pub use access_log::RequestId;
