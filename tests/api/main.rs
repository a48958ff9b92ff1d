//! Integration tests: the real app over real HTTP, on SQLite and on PostgreSQL.

mod audit;
mod cli;
mod contract;
mod helpers;
mod supervisor;
mod wip;
