//! MES Dashboard: a web portal for a factory's manufacturing execution system.
//!
//! The binary (`src/main.rs`) only parses the command line; everything lives here so roles
//! and tests share it. Start at [`cli::run`] for the roles, [`serve`] for serving, and
//! [`http::router::build`] for the request path.

pub mod app;
pub mod assets;
pub mod auth;
pub mod cache;
pub mod charts;
pub mod cli;
pub mod config;
pub mod db;
pub mod equipment;
pub mod health;
pub mod hold_history;
pub mod http;
pub mod i18n;
pub mod jobs;
pub mod json;
pub mod lifecycle;
pub mod metrics;
pub mod redis;
pub mod resource_history;
pub mod routes;
pub mod seed;
pub mod serve;
pub mod session;
pub mod simulate;
pub mod supervisor;
pub mod telemetry;
pub mod templates;
pub mod timefmt;

#[cfg(test)]
mod dependency_rules;
