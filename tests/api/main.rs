//! Integration tests: the real app over real HTTP, on SQLite and on PostgreSQL.

mod audit;
mod cli;
mod contract;
mod faults;
mod health;
mod helpers;
mod resilience;
mod supervisor;
mod wip;
