//! Integration tests: the real app over real HTTP, on SQLite and on PostgreSQL.

mod audit;
pub mod auth;
mod browser;
mod cache;
mod cli;
mod contract;
mod csrf;
mod data;
mod edge;
mod equipment;
mod events;
mod faults;
mod health;
mod helpers;
mod hold;
pub mod hold_history;
mod html_pages;
mod jobs;
mod ldap;
mod metrics;
mod pages;
mod resilience;
mod shutdown;
mod sse;
mod supervisor;
mod templates;
mod wip;
