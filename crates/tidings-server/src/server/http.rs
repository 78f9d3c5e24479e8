//! HTTP: the WebSocket endpoint for web apps, and static files (a web app
//! and the npm package) so a browser needs nothing else.
//!
//! Connections are accepted here rather than by `axum::serve`, so that each
//! takes a slot of the same connection limit as raw TCP and passes the same
//! [`Gate`](super::gate::Gate) before its first byte is read, and so that a
//! client that does not finish its request headers in time, or is not a
//! WebSocket by the handshake deadline, is dropped. A WebSocket upgrade
//! carries the connection's slot on into the session.
//!
//! Past the deadline, a download in flight goes on while it has moved, on
//! average since it connected, at least [`MIN_DOWNLOAD_PER_PERIOD`] bytes
//! per handshake deadline, for at most [`MAX_DOWNLOAD_PERIODS`] deadlines
//! in all: the web app reaches a phone on a slow link, and a reader that
//! stalls on purpose is cut once its average falls below that, or at the
//! cap. Such a connection no longer counts as a stranger (it
//! cannot become a session); it keeps its connection slot.

use super::access::Backend;
use super::connection;
use super::gate::Admission;
use super::wire::Wire;
use super::{ServerOptions, Shared};
use axum::Router;
use axum::extract::{ConnectInfo, Extension, State, WebSocketUpgrade};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::OwnedSemaphorePermit;
use tower::ServiceExt;
use tower_http::services::ServeDir;

/// Largest WebSocket message accepted: a little more than one frame.
const MAX_WS_MESSAGE: usize = 70 << 10;
/// The most a WebSocket's unsent output may hold (see `upgrade`).
const MAX_WS_WRITE_BUFFER: usize = 4 * MAX_WS_MESSAGE;

/// A WebSocket's read buffer: tungstenite's default (128 KiB) would cost
/// that much per idle or stalled socket.
const WS_READ_BUFFER: usize = 4 << 10;

/// Largest request head (request line and headers) read from a client.
const MAX_HTTP_HEAD: usize = 16 << 10;

/// What a download in flight past the handshake deadline must hand to the
/// kernel per period (the deadline, 10 s by default) to keep its
/// connection: 1.6 KiB/s then, below the slowest mobile data links.
pub(super) const MIN_DOWNLOAD_PER_PERIOD: u64 = 16 << 10;

/// The most a connection not upgraded lives, in handshake deadlines (100 s
/// at the default 10 s): the web app is a few hundred KiB, which fits at
/// [`MIN_DOWNLOAD_PER_PERIOD`].
pub(super) const MAX_DOWNLOAD_PERIODS: u32 = 10;

/// A socket that counts the bytes written to it, and ends a stranger that
/// sends more than `stranger_bytes` before it authenticates.
struct Counted {
    stream: TcpStream,
    sent: Arc<AtomicU64>,
    received: u64,
    stranger_bytes: u64,
    authenticated: Arc<AtomicBool>,
}

impl AsyncRead for Counted {
    /// The WebSocket layer reads whole messages, and a message bounded in
    /// size is not bounded in frames: a stranger's unfinished message of
    /// empty continuation frames (or its pings) kept a core busy until the
    /// handshake deadline, and 64 of them from one address 1.7 cores. So a
    /// stranger's bytes are counted here, below every layer.
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        std::task::ready!(Pin::new(&mut self.stream).poll_read(cx, buf))?;
        self.received += (buf.filled().len() - before) as u64;
        if self.received > self.stranger_bytes && !self.authenticated.load(Ordering::Relaxed) {
            return Poll::Ready(Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "more bytes than a stranger may send before authenticating",
            )));
        }
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for Counted {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let written = Pin::new(&mut self.stream).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = written {
            self.sent.fetch_add(n as u64, Ordering::Relaxed);
        }
        written
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let written = Pin::new(&mut self.stream).poll_write_vectored(cx, bufs);
        if let Poll::Ready(Ok(n)) = written {
            self.sent.fetch_add(n as u64, Ordering::Relaxed);
        }
        written
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

/// One HTTP connection's slot and admission, taken over by a WebSocket.
#[derive(Clone)]
struct Handoff(Arc<Mutex<Option<(Admission, OwnedSemaphorePermit)>>>);

impl Handoff {
    fn take(&self) -> Option<(Admission, OwnedSemaphorePermit)> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).take()
    }

    /// The connection no longer counts against the caps on strangers.
    fn stop_counting_as_stranger(&self) {
        if let Some((admission, _)) = self
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_mut()
        {
            admission.authenticated();
        }
    }
}

pub(super) fn router<B: Backend>(shared: Arc<Shared<B>>, options: &ServerOptions) -> Router {
    let mut app = Router::new().route("/tidings", get(upgrade::<B>));
    if let Some(pkg) = &options.pkg_root {
        app = app.nest_service("/pkg", ServeDir::new(pkg));
    }
    if let Some(web) = &options.web_root {
        app = app.fallback_service(ServeDir::new(web));
    }
    app.with_state(shared)
}

/// Accepts HTTP connections until shutdown.
pub(super) async fn accept<B: Backend>(shared: Arc<Shared<B>>, listener: TcpListener, app: Router) {
    let mut shutdown = std::pin::pin!(shared.shutdown.ordered());
    loop {
        let Some(permit) = super::slot(&shared).await else {
            return;
        };
        let accepted = tokio::select! {
            () = &mut shutdown => return,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, peer)) => {
                let mut admission = match shared
                    .gate
                    .admit(peer.ip(), socket2::SockRef::from(&stream))
                {
                    Ok(admission) => admission,
                    Err(why) => {
                        tracing::debug!(%peer, ?why, "HTTP connection refused");
                        continue;
                    }
                };
                let authenticated = admission.authentication();
                let handoff = Handoff(Arc::new(Mutex::new(Some((admission, permit)))));
                let watched = (handoff, authenticated);
                tokio::spawn(serve(shared.clone(), stream, peer, app.clone(), watched));
            }
            Err(e) => {
                tracing::warn!(error = %e, "HTTP accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

/// What a stranger may send on an HTTP connection before it authenticates:
/// its request head, and an enrollment's two handshake frames (a reconnect
/// sends one) four times over, for the WebSocket framing.
fn stranger_bytes(limits: &super::Limits) -> u64 {
    let frames = 8 * limits
        .max_handshake_bytes
        .saturating_add(HANDSHAKE_FRAME_HEADER);
    u64::try_from(MAX_HTTP_HEAD.saturating_add(frames)).unwrap_or(u64::MAX)
}

/// A handshake frame's length header.
const HANDSHAKE_FRAME_HEADER: usize = 2;

async fn serve<B: Backend>(
    shared: Arc<Shared<B>>,
    stream: TcpStream,
    peer: SocketAddr,
    app: Router,
    (handoff, authenticated): (Handoff, Arc<AtomicBool>),
) {
    if !super::tune_socket(&stream, &shared.config.timers) {
        return;
    }
    let ours = handoff.clone();
    let sent = Arc::new(AtomicU64::new(0));
    let stream = Counted {
        stream,
        sent: sent.clone(),
        received: 0,
        stranger_bytes: stranger_bytes(&shared.limits),
        authenticated,
    };
    let service = hyper::service::service_fn(move |mut request| {
        request.extensions_mut().insert(ConnectInfo(peer));
        request.extensions_mut().insert(handoff.clone());
        app.clone().oneshot(request)
    });
    let connection = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(shared.limits.http_header_timeout())
        .max_buf_size(MAX_HTTP_HEAD)
        .serve_connection(TokioIo::new(stream), service)
        .with_upgrades();
    tokio::pin!(connection);
    // A stranger's time is bounded as on TCP: a connection not upgraded to
    // a WebSocket by the handshake deadline takes no more requests (a
    // keep-alive client would otherwise hold its unauthenticated slot for
    // ever, one request at a time), and the one in flight gets as long
    // again to be answered, and longer while it is read at a useful rate.
    let patience = shared.limits.handshake_timeout();
    let served = tokio::select! {
        served = connection.as_mut() => served,
        () = tokio::time::sleep(patience) => {
            connection.as_mut().graceful_shutdown();
            // It can no longer become a session: it leaves the strangers'
            // count, so downloads cannot keep handshakes out, and keeps
            // its connection slot (bounded per source) while it moves.
            ours.stop_counting_as_stranger();
            let mut periods = 1;
            loop {
                let waited = tokio::select! {
                    waited = tokio::time::timeout(patience, connection.as_mut()) => waited,
                    () = shared.shutdown.ordered() => break Ok(()),
                };
                periods += 1;
                match waited {
                    Ok(served) => break served,
                    // On average since it connected, not per period: the
                    // kernel's buffers (megabytes) take a response in bursts,
                    // so a steady slow reader can let a whole period pass
                    // with nothing written.
                    Err(_) if periods < MAX_DOWNLOAD_PERIODS
                        && sent.load(Ordering::Relaxed)
                            >= MIN_DOWNLOAD_PER_PERIOD * u64::from(periods) => {}
                    Err(_) => {
                        tracing::debug!(%peer, "HTTP connection outlived the handshake deadline");
                        break Ok(());
                    }
                }
            }
        }
        () = shared.shutdown.ordered() => {
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(e) = served {
        tracing::debug!(%peer, error = %e, "HTTP connection ended");
    }
    // Not upgraded: the slot is given back here.
    drop(ours.take());
}

async fn upgrade<B: Backend>(
    State(shared): State<Arc<Shared<B>>>,
    Extension(handoff): Extension<Handoff>,
    ws: WebSocketUpgrade,
) -> Response {
    let Some((admission, permit)) = handoff.take() else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "one WebSocket per connection",
        )
            .into_response();
    };
    ws.max_message_size(MAX_WS_MESSAGE)
        .max_frame_size(MAX_WS_MESSAGE)
        .read_buffer_size(WS_READ_BUFFER)
        .write_buffer_size(0)
        // A peer that pings without reading would queue a pong per ping
        // without bound (gigabytes in seconds); past this the pong waits
        // (tungstenite keeps one, a later ping's replacing it) and the
        // buffer stops growing. The server's own messages wait for the
        // socket first, so they never fill it.
        .max_write_buffer_size(MAX_WS_WRITE_BUFFER)
        .on_upgrade(move |socket| {
            connection::serve(shared, Wire::Ws(Box::new(socket)), admission, permit)
        })
}
