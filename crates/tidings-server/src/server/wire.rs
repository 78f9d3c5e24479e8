//! The two ways bytes reach a session: a TCP stream, or WebSocket binary
//! messages carrying the same byte stream (one frame per message from the
//! server; any chunking from the device).

use axum::extract::ws::{Message, WebSocket};
use std::io;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long one write may wait for a slow peer before the connection is
/// dropped (the device resumes from its acknowledged cursors).
const WRITE_TIMEOUT: Duration = Duration::from_secs(30);

/// Bytes read from a TCP socket at once.
const READ_CHUNK: usize = 16 << 10;

/// A device's connection.
pub(super) enum Wire {
    /// A TCP stream.
    Tcp(TcpStream),
    /// A WebSocket (boxed: it is much larger than a TCP stream).
    Ws(Box<WebSocket>),
}

impl Wire {
    /// The next bytes from the device, appended to `buf` (cleared first);
    /// `false` when the device closed the connection. Cancel-safe.
    pub(super) async fn read(&mut self, buf: &mut Vec<u8>) -> io::Result<bool> {
        buf.clear();
        match self {
            Wire::Tcp(stream) => {
                buf.resize(READ_CHUNK, 0);
                let n = stream.read(buf).await?;
                buf.truncate(n);
                Ok(n > 0)
            }
            Wire::Ws(socket) => loop {
                match socket.recv().await {
                    None | Some(Ok(Message::Close(_))) => return Ok(false),
                    Some(Ok(Message::Binary(bytes))) => {
                        buf.extend_from_slice(&bytes);
                        return Ok(true);
                    }
                    Some(Ok(Message::Text(_))) => {
                        return Err(io::Error::new(
                            io::ErrorKind::InvalidData,
                            "text message on a Tidings WebSocket",
                        ));
                    }
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                    Some(Err(e)) => return Err(io::Error::other(e)),
                }
            },
        }
    }

    /// Sends `frames` (each a whole frame) within the write timeout.
    pub(super) async fn write(&mut self, frames: Vec<Vec<u8>>) -> io::Result<()> {
        if frames.is_empty() {
            return Ok(());
        }
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
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "peer too slow"))?
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
