//! The data layer of the report pages, on both backends: migrations, the seeded factory's
//! rules, the query functions (against figures computed here from the generated rows) and the
//! writes the simulator makes.

mod queries;
mod schema;
mod writes;

use mes_dashboard::config::Settings;
use mes_dashboard::db::Database;
use mes_dashboard::seed::Factory;

use crate::helpers::{Backend, TestDb, seed_database, small_factory};

/// A test database with the small factory in it and pools on it.
pub struct Seeded {
    pub database: Database,
    pub factory: Factory,
    _db: TestDb,
}

pub async fn seeded(backend: Backend) -> Seeded {
    let db = TestDb::new(backend).await;
    let factory = seed_database(&db.url, &small_factory()).await;
    Seeded {
        database: database(&db.url),
        factory,
        _db: db,
    }
}

pub fn database(url: &str) -> Database {
    Database::connect_lazy(&Settings::for_tests(url, &[])).expect("database settings")
}
