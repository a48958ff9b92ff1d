//! Integration tests: the real app over real HTTP, on SQLite and on PostgreSQL.

mod audit;
pub mod auth;
mod browser;
mod cache;
mod cli;
mod contract;
mod csrf;
mod data;
mod equipment;
mod faults;
mod health;
mod helpers;
mod hold;
mod html_pages;
mod ldap;
mod metrics;
mod pages;
mod resilience;
mod shutdown;
mod supervisor;
mod templates;
mod wip;
mod wip_filters;
