//! The two ways bytes reach a session: a TCP stream, or WebSocket binary
//! messages carrying the same byte stream (one frame per message from the
//! server; any chunking from the device).

use axum::extract::ws::{CloseFrame, Message, WebSocket, close_code};
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

/// How long one write may wait for a slow peer before the connection is
/// dropped (the device resumes from its acknowledged cursors).
const WRITE_TIMEOUT: Duration = Duration::from_secs(30);

/// Bytes read from a TCP socket at once: most frames from a device fit.
/// Larger reads cost memory: freed read buffers leave holes between the
/// sessions' long-lived allocations (16 KiB cost ~5 KiB of RSS per device).
const READ_CHUNK: usize = 4 << 10;

/// A device's connection.
pub(super) enum Wire {
    /// A TCP stream.
    Tcp(TcpStream),
    /// A WebSocket (boxed: it is much larger than a TCP stream).
    Ws(Box<WebSocket>),
}

impl Wire {
    /// The next bytes from the device, in `buf` (cleared first); `false`
    /// when the device closed the connection. Cancel-safe. Take the bytes
    /// out of `buf` once handled, so an idle connection holds no buffer.
    pub(super) fn read<'a>(&'a mut self, buf: &'a mut Vec<u8>) -> Read<'a> {
        buf.clear();
        match self {
            Wire::Tcp(stream) => Read::Tcp(stream, buf),
            // Boxed: inline, the WebSocket's wait would make the read future
            // that every idle connection holds (TCP ones too) several times
            // as large.
            Wire::Ws(socket) => Read::Ws(Box::pin(read_ws(socket, buf))),
        }
    }

    /// Sends `frames` (each a whole frame) within the write timeout.
    pub(super) async fn write(&mut self, frames: Vec<Vec<u8>>) -> io::Result<()> {
        if frames.is_empty() {
            return Ok(());
        }
        let count = frames.len();
        let send = async {
            match self {
                Wire::Tcp(stream) => {
                    for frame in &frames {
                        stream.write_all(frame).await?;
                    }
                    stream.flush().await
                }
                Wire::Ws(socket) => {
                    for frame in frames {
                        socket
                            .send(Message::Binary(frame.into()))
                            .await
                            .map_err(io::Error::other)?;
                    }
                    Ok(())
                }
            }
        };
        tokio::time::timeout(WRITE_TIMEOUT, send)
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "peer too slow"))??;
        super::stats::wrote(count);
        Ok(())
    }

    /// Closes the connection after the last write.
    pub(super) async fn shutdown(&mut self) {
        let _ = match self {
            Wire::Tcp(stream) => stream.shutdown().await,
            Wire::Ws(socket) => socket
                .send(Message::Close(None))
                .await
                .map_err(io::Error::other),
        };
    }
}

/// [`Wire::read`]'s future: two references while a TCP connection waits.
pub(super) enum Read<'a> {
    Tcp(&'a mut TcpStream, &'a mut Vec<u8>),
    Ws(Pin<Box<dyn Future<Output = io::Result<bool>> + Send + 'a>>),
}

impl Future for Read<'_> {
    type Output = io::Result<bool>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<bool>> {
        match &mut *self {
            Read::Tcp(stream, buf) => poll_read_tcp(stream, buf, cx),
            Read::Ws(read) => read.as_mut().poll(cx),
        }
    }
}

/// [`Wire::read`] on a TCP stream.
fn poll_read_tcp(
    stream: &mut TcpStream,
    buf: &mut Vec<u8>,
    cx: &mut Context<'_>,
) -> Poll<io::Result<bool>> {
    loop {
        // Wait without a buffer: an idle connection holds none (it would
        // cost more than the whole session). `poll_read_ready` keeps its
        // waker in the socket's registration, where `readable()` is a
        // 152-byte future held by every idle task.
        if let Err(e) = std::task::ready!(stream.poll_read_ready(cx)) {
            return Poll::Ready(Err(e));
        }
        buf.reserve_exact(READ_CHUNK);
        match stream.try_read_buf(buf) {
            Ok(n) => return Poll::Ready(Ok(n > 0)),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                // Readiness was stale (`try_read_buf` has cleared it): wait
                // again without the buffer.
                *buf = Vec::new();
            }
            Err(e) => return Poll::Ready(Err(e)),
        }
    }
}

/// [`Wire::read`] on a WebSocket.
async fn read_ws(socket: &mut WebSocket, buf: &mut Vec<u8>) -> io::Result<bool> {
    loop {
        match socket.recv().await {
            None | Some(Ok(Message::Close(_))) => return Ok(false),
            Some(Ok(Message::Binary(bytes))) => {
                buf.extend_from_slice(&bytes);
                return Ok(true);
            }
            Some(Ok(Message::Text(_))) => {
                // A clean close that says why (RFC 6455 §7.4.1:
                // 1003, data of a type the endpoint cannot accept).
                let close = CloseFrame {
                    code: close_code::UNSUPPORTED,
                    reason: "Tidings frames travel in binary messages".into(),
                };
                let send = socket.send(Message::Close(Some(close)));
                let _ = tokio::time::timeout(WRITE_TIMEOUT, send).await;
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "text message on a Tidings WebSocket",
                ));
            }
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            Some(Err(e)) => return Err(io::Error::other(e)),
        }
    }
}
