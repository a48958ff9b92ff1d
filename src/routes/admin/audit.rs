//! `GET /admin/api/audit`: the audit log — the database's entries and, beside them, the ones
//! the supervisor could only write to the file audit log while the database was down and has
//! not copied in yet. A record is listed once: the file's records past the copy marker only,
//! and none whose id the database's rows already show (copied a moment ago). When the database
//! cannot be read, every record of the file is listed.

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde::{Deserialize, Serialize};

use crate::app::AppState;
use crate::auth::AdminUser;
use crate::db::audit;
use crate::http::extract::ApiQuery;
use crate::http::{ApiResponse, AppError};
use crate::supervisor::audit::file as file_audit;

pub fn router() -> Router<AppState> {
    Router::new().route("/admin/api/audit", get(list))
}

const MAX_LIMIT: i64 = 500;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Params {
    /// Only this action (`worker.restart`, `worker.reload`, …).
    action: Option<String>,
    /// Newest entries to return (default 100, at most 500).
    limit: Option<i64>,
}

#[derive(Debug, Serialize)]
struct Entry {
    /// `database` or `file` (written while the database was down).
    store: &'static str,
    id: Option<i64>,
    /// The supervisor's stable record id (its records only).
    record_id: Option<String>,
    at: chrono::DateTime<chrono::Utc>,
    actor: String,
    ip: Option<String>,
    action: String,
    target: Option<String>,
    detail: serde_json::Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    db_error: Option<String>,
}

#[derive(Debug, Serialize)]
struct Answer {
    entries: Vec<Entry>,
    /// Set when the database could not be read: only the file's entries are listed (all of
    /// them, those already copied into the database too).
    database_error: Option<String>,
}

async fn list(
    State(app): State<AppState>,
    _admin: AdminUser,
    ApiQuery(params): ApiQuery<Params>,
) -> Result<ApiResponse<Answer>, AppError> {
    let limit = params.limit.unwrap_or(100);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(AppError::validation(format!(
            "limit must be between 1 and {MAX_LIMIT}"
        )));
    }
    let action = params
        .action
        .as_deref()
        .map(str::trim)
        .filter(|a| !a.is_empty());
    if action.is_some_and(|a| a.len() > 64) {
        return Err(AppError::validation("action must be at most 64 characters"));
    }
    let (mut entries, database_error) = match audit::recent(&app.db.request, action, limit).await {
        Ok(rows) => (
            rows.into_iter()
                .map(|e| Entry {
                    store: "database",
                    detail: e.detail_json(),
                    id: Some(e.id),
                    record_id: e.record_id,
                    at: e.at,
                    actor: e.actor,
                    ip: e.ip,
                    action: e.action,
                    target: e.target,
                    db_error: None,
                })
                .collect::<Vec<_>>(),
            None,
        ),
        Err(e) => (Vec::new(), Some(AppError::from(e).public_message())),
    };
    // Copied records are shown from the database; when it cannot be read, from the file.
    let include = match database_error {
        None => file_audit::Include::Uncopied,
        Some(_) => file_audit::Include::All,
    };
    let file = file_audit::recent(app.supervision.runtime_dir(), limit as usize, include)
        .map_err(|e| AppError::internal(anyhow::anyhow!("cannot read the file audit log: {e}")))?;
    let in_database: std::collections::HashSet<String> =
        entries.iter().filter_map(|e| e.record_id.clone()).collect();
    entries.extend(
        file.into_iter()
            .filter(|r| action.is_none_or(|a| r.action == a))
            .filter(|r| !in_database.contains(&r.id))
            .map(|r| Entry {
                store: "file",
                id: None,
                record_id: Some(r.id),
                at: r.at,
                actor: r.actor,
                ip: r.ip,
                action: r.action,
                target: r.target,
                detail: r.detail,
                db_error: r.db_error,
            }),
    );
    entries.sort_by_key(|e| std::cmp::Reverse(e.at));
    entries.truncate(limit as usize);
    Ok(ApiResponse::new(Answer {
        entries,
        database_error,
    }))
}
