//! Puts the request's [`SessionHandle`] in its extensions (nothing is loaded yet), runs the CSRF
//! check ([`super::csrf`]) in the same layer, and writes the handle's cookie decision on the
//! response.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;

use crate::app::AppState;
use crate::session::SessionHandle;

pub async fn session(State(app): State<AppState>, mut req: Request, next: Next) -> Response {
    let cookie = app.sessions.keys().from_headers(req.headers());
    let handle = SessionHandle::new(app.clone(), cookie);
    req.extensions_mut().insert(handle.clone());
    let mut response = super::csrf::guard(&app, req, next).await;
    handle.apply(&mut response);
    response
}
