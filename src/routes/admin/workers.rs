//! `GET /admin/api/worker/status` and `POST /admin/api/worker/restart`: the supervisor's
//! workers, restart policy and history, and the policy-gated manual restart (a reload of every
//! worker).

use axum::Router;
use axum::extract::State;
use axum::routing::{get, post};
use serde::Serialize;

use crate::app::AppState;
use crate::auth::AdminUser;
use crate::http::client::ClientIp;
use crate::http::extract::ApiJson;
use crate::http::{ApiResponse, AppError};
use crate::supervisor::history::{Decision, HistoryEntry};
use crate::supervisor::link::{RestartError, WorkerStatus};
use crate::supervisor::policy::{ManualRequest, PolicyStatus};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/api/worker/status", get(status))
        .route("/admin/api/worker/restart", post(restart))
}

async fn status(State(app): State<AppState>, _admin: AdminUser) -> ApiResponse<WorkerStatus> {
    ApiResponse::new(app.supervision.status())
}

#[derive(Debug, Serialize)]
struct RestartAnswer {
    decision: Decision,
    message: String,
    policy: PolicyStatus,
    entry: HistoryEntry,
}

/// 200 with the decision; 429 in cooldown and 409 `RESTART_POLICY_BLOCKED` when guarded mode
/// blocks (for any request that is not an acknowledged override), 400
/// `RESTART_OVERRIDE_REASON_REQUIRED` for an acknowledged override whose reason is missing or
/// too long.
async fn restart(
    State(app): State<AppState>,
    AdminUser(admin): AdminUser,
    ClientIp(ip): ClientIp,
    ApiJson(request): ApiJson<ManualRequest>,
) -> Result<ApiResponse<RestartAnswer>, AppError> {
    let reply = app
        .supervision
        .request_restart(request, &admin.username, Some(ip.to_string()))
        .await
        .map_err(|e| match e {
            RestartError::NotSupervised => AppError::Conflict {
                message: e.to_string(),
                code: Some("RESTART_NOT_SUPERVISED"),
            },
            RestartError::SupervisorUnavailable => AppError::ServiceUnavailable {
                message: e.to_string(),
                retry_after: 5,
            },
        })?;
    match reply.decision {
        Decision::Allowed | Decision::AllowedOverride => Ok(ApiResponse::new(RestartAnswer {
            decision: reply.decision,
            message: reply.message,
            policy: reply.policy,
            entry: reply.entry,
        })),
        Decision::RejectedCooldown => Err(AppError::TooManyRequests {
            message: reply.message,
            retry_after: reply.retry_after.unwrap_or(1),
        }),
        Decision::RejectedBlocked => Err(AppError::Conflict {
            message: reply.message,
            code: Some("RESTART_POLICY_BLOCKED"),
        }),
        Decision::RejectedReasonRequired => Err(AppError::BadRequest {
            message: reply.message,
            code: "RESTART_OVERRIDE_REASON_REQUIRED",
        }),
    }
}
