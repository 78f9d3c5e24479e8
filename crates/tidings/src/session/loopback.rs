//! Running a client and a server session against each other in memory: for
//! examples, tests, benchmarks, and trying Tidings without a network.

use super::{ClientSession, ServerSession};
use crate::error::{Error, ErrorKind, Result};
use crate::store::Store;

/// Moves bytes both ways between `client` and `server` until neither has
/// anything left to send, returning how many bytes crossed in each direction
/// (client to server, server to client). Events stay queued for the caller.
///
/// Fails with [`ErrorKind::InvalidState`] if the two never go quiet (which
/// would be a bug: every exchange in the protocol ends).
pub fn pump<S: Store>(
    client: &mut ClientSession,
    server: &mut ServerSession,
    store: &mut S,
    now_ms: u64,
) -> Result<(usize, usize)> {
    let (mut up, mut down) = (0, 0);
    for _ in 0..100_000 {
        let mut moved = false;
        while let Some(bytes) = client.poll_transmit() {
            moved = true;
            up += bytes.len();
            if !server.is_closed() {
                // A failure closes the server session; its events say why.
                let _ = server.handle_bytes(now_ms, &bytes, store);
            }
        }
        while let Some(bytes) = server.poll_transmit() {
            moved = true;
            down += bytes.len();
            if !client.is_closed() {
                let _ = client.handle_bytes(now_ms, &bytes);
            }
        }
        if !moved {
            return Ok((up, down));
        }
    }
    Err(Error::new(
        ErrorKind::InvalidState,
        "sessions never went quiet",
    ))
}
