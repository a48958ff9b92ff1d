//! One file per concern. [`edge`] runs the request-wide ones in a fixed, documented order;
//! [`crate::http::router::build`] composes the layers.

pub mod access_log;
pub mod body_limit;
pub mod catch_panic;
pub mod csrf;
pub mod drain;
pub mod edge;
pub mod error_render;
pub mod language;
pub mod page_access;
pub mod request_body;
pub mod security_headers;
pub mod session;
pub mod timeout;

pub use access_log::RequestId;
