//! HTTP: the WebSocket endpoint for web apps, and static files (a web app
//! and the npm package) so a browser needs nothing else.

use super::connection;
use super::wire::Wire;
use super::{ServerOptions, Shared};
use axum::Router;
use axum::extract::{ConnectInfo, State, WebSocketUpgrade};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use std::net::SocketAddr;
use std::sync::Arc;
use tower_http::services::ServeDir;

/// Largest WebSocket message accepted: a little more than one frame.
const MAX_WS_MESSAGE: usize = 70 << 10;

pub(super) fn router(shared: Arc<Shared>, options: &ServerOptions) -> Router {
    let mut app = Router::new().route("/tidings", get(upgrade));
    if let Some(pkg) = &options.pkg_root {
        app = app.nest_service("/pkg", ServeDir::new(pkg));
    }
    if let Some(web) = &options.web_root {
        app = app.fallback_service(ServeDir::new(web));
    }
    app.with_state(shared)
}

async fn upgrade(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    ws: WebSocketUpgrade,
) -> Response {
    let Ok(permit) = shared.connections.clone().try_acquire_owned() else {
        return (StatusCode::SERVICE_UNAVAILABLE, "connection limit reached").into_response();
    };
    ws.max_message_size(MAX_WS_MESSAGE)
        .max_frame_size(MAX_WS_MESSAGE)
        .on_upgrade(move |socket| async move {
            connection::serve(shared, Wire::Ws(Box::new(socket)), peer.to_string()).await;
            drop(permit);
        })
}
