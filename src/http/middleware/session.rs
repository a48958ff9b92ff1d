//! Puts the request's [`SessionHandle`] in its extensions (nothing is loaded yet) and writes the
//! handle's cookie decision on the response.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;

use crate::app::AppState;
use crate::session::SessionHandle;

pub async fn session(State(app): State<AppState>, mut req: Request, next: Next) -> Response {
    let cookie = app.sessions.keys().from_headers(req.headers());
    let handle = SessionHandle::new(app, cookie);
    req.extensions_mut().insert(handle.clone());
    let mut response = next.run(req).await;
    handle.apply(&mut response);
    response
}
