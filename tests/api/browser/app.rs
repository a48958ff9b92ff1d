//! `BrowserApp`: a `TestApp` and a browser pointed at it.

use std::ops::Deref;

use mes_dashboard::config::Settings;
use mes_dashboard::db::Database;
use mes_dashboard::with_conn;

use super::session::{Browser, BrowserOptions};
use crate::helpers::{Backend, TestApp, TestAppBuilder};

pub struct BrowserApp {
    pub browser: Browser,
    pub app: TestApp,
}

/// `BrowserApp` reads as the browser (`app.click(…)`, `app.text_of(…)`); the app behind it is
/// `app.app`.
impl Deref for BrowserApp {
    type Target = Browser;

    fn deref(&self) -> &Browser {
        &self.browser
    }
}

impl BrowserApp {
    /// The seeded app on SQLite and a zh-TW browser; `None` when browser tests are skipped.
    pub async fn spawn() -> Option<BrowserApp> {
        Self::start(TestApp::builder(Backend::Sqlite), BrowserOptions::default()).await
    }

    /// The app `builder` describes and a browser with `options`; `None` when browser tests are
    /// skipped (checked before the app starts).
    pub async fn start(builder: TestAppBuilder, options: BrowserOptions) -> Option<BrowserApp> {
        let browser = Browser::start(&options).await?;
        let app = builder.start().await;
        Some(BrowserApp { browser, app })
    }

    /// The app's URL of `path`.
    pub fn url(&self, path: &str) -> String {
        self.app.url(path)
    }

    /// Opens `path` of the app.
    pub async fn open(&self, path: &str) {
        self.goto(&self.url(path)).await;
    }

    /// Logs in the way a person does: the login page, the form, the submit button; returns
    /// once the portal shows with the logged-in header.
    pub async fn login_through_form(&self, username: &str, password: &str) {
        self.open("/admin/login").await;
        self.type_into(
            "form[action='/admin/login'] input[name='username']",
            username,
        )
        .await;
        self.type_into(
            "form[action='/admin/login'] input[name='password']",
            password,
        )
        .await;
        self.click("form[action='/admin/login'] button[type='submit']")
            .await;
        self.wait_for_path("/").await;
        // The header's logout form shows only to a logged-in user.
        self.find("form[action='/admin/logout']").await;
    }

    /// The factory the app was seeded with (every browser test runs on a seeded app).
    pub fn factory(&self) -> &mes_dashboard::seed::Factory {
        self.app.factory.as_ref().expect("a seeded app")
    }

    /// Deletes lot `lot_id` from the database behind the app (it leaves the process: the next
    /// WIP snapshot has one lot fewer and pages update live).
    pub async fn remove_lot(&self, lot_id: &str) {
        let db = Database::connect_lazy(&Settings::for_tests(&self.app.database_url(), &[]))
            .expect("database settings");
        let pool = &db.request;
        let removed = with_conn!(pool, |c| async {
            sqlx::query("DELETE FROM lots WHERE lot_id = $1")
                .bind(lot_id)
                .execute(&mut *c)
                .await
                .map(|done| done.rows_affected())
        })
        .expect("remove the lot");
        assert_eq!(removed, 1, "lot {lot_id} was in the database");
        db.close().await;
    }

    /// `GET path` of the app with the browser's session (see [`Browser::fetch`]).
    pub async fn fetch_path(&self, path: &str) -> reqwest::Response {
        self.fetch(&self.url(path)).await
    }
}
