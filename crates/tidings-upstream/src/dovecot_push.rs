//! Dovecot's own push: its push-notification plugin (`ox` driver) makes
//! an HTTP `PUT` to a URL the moment LMTP delivers a message into a
//! user's INBOX. IMAP IDLE and NOTIFY on Dovecot 2.3 report a change only
//! after Dovecot's half-second notification delay; the plugin's request
//! leaves with the delivery itself. The gateway listens for it and syncs
//! that account's folder at once; IDLE/NOTIFY and the polls stay as they
//! are (the plugin reports new mail only).
//!
//! Dovecot sends a notification for a user only when the user has the
//! metadata entry [`METADATA_KEY`] = `user=<name>` (RFC 5464); the gateway
//! sets it at every connection to `user=<principal address>`, and the
//! plugin's `user_from_metadata` puts that address in the JSON body:
//! `{"user": "alice@example.org", "folder": "INBOX", "event":
//! "messageNew", …}`.
//!
//! A request is trusted for nothing but "look at this folder now": the
//! worst a forged one does is one extra sync of a folder, coalesced with
//! any other pending. Bodies are bounded ([`MAX_BODY`]), headers must
//! arrive within [`HEADER_TIMEOUT`], a connection lives at most
//! [`CONNECTION_LIMIT`]. Listen on loopback or the mail servers' network.

use crate::account::Account;
use crate::gateway::Handle;
use crate::session::quote;
use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Limited};
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// The metadata entry Dovecot's `ox` driver reads (RFC 5464, private).
pub const METADATA_KEY: &str = "/private/vendor/vendor.dovecot/http-notify";
/// Most bytes of one notification body (Dovecot's are a few hundred).
pub const MAX_BODY: usize = 16 << 10;
/// The longest wait for a request's headers.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// The longest a connection is kept.
pub const CONNECTION_LIMIT: Duration = Duration::from_secs(60);

/// What the gateway reads of a notification.
#[derive(Deserialize)]
struct Notification {
    user: String,
    #[serde(default)]
    folder: Option<String>,
}

/// Accounts by principal address.
pub type Accounts = Arc<HashMap<String, Handle>>;

/// Serves notifications on `listener` until `shutdown` turns true.
pub async fn serve(listener: TcpListener, accounts: Accounts, mut shutdown: watch::Receiver<bool>) {
    loop {
        let accepted = tokio::select! {
            _ = shutdown.changed() => return,
            accepted = listener.accept() => accepted,
        };
        let Ok((stream, _)) = accepted else {
            continue;
        };
        let accounts = accounts.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                let accounts = accounts.clone();
                async move { Ok::<_, std::convert::Infallible>(answer(request, &accounts).await) }
            });
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .serve_connection(TokioIo::new(stream), service);
            let _ = tokio::time::timeout(CONNECTION_LIMIT, connection).await;
        });
    }
}

fn status(code: StatusCode) -> Response<Empty<Bytes>> {
    let mut response = Response::new(Empty::new());
    *response.status_mut() = code;
    response
}

async fn answer(request: Request<Incoming>, accounts: &Accounts) -> Response<Empty<Bytes>> {
    if request.method() != Method::PUT && request.method() != Method::POST {
        return status(StatusCode::METHOD_NOT_ALLOWED);
    }
    let Ok(body) = Limited::new(request.into_body(), MAX_BODY).collect().await else {
        return status(StatusCode::PAYLOAD_TOO_LARGE);
    };
    let Ok(notification) = serde_json::from_slice::<Notification>(&body.to_bytes()) else {
        return status(StatusCode::BAD_REQUEST);
    };
    let Some(handle) = accounts.get(&notification.user) else {
        return status(StatusCode::NOT_FOUND);
    };
    let folder = notification.folder.unwrap_or_else(|| "INBOX".to_string());
    handle.upstream_changed(folder);
    status(StatusCode::NO_CONTENT)
}

impl Account {
    /// Sets this account's [`METADATA_KEY`] to `user=<address>`, so that
    /// Dovecot notifies the gateway of its new mail. A server without
    /// METADATA (RFC 5464), or one that refuses it, is logged: IDLE and
    /// the polls still bring the mail.
    pub async fn register_dovecot_push(&mut self, address: &str) {
        if !self.upstream.has("METADATA") {
            tracing::warn!("dovecot_push is set but the upstream lacks METADATA (RFC 5464)");
            return;
        }
        let value = match quote(&format!("user={address}")) {
            Ok(value) => value,
            Err(_) => return,
        };
        let command = format!("SETMETADATA \"\" ({METADATA_KEY} {value})");
        if let Err(e) = self.upstream.command(&command).await {
            tracing::warn!(
                code = e.code(),
                "the upstream refused the push registration"
            );
        }
    }
}
