//! Tidings: end-to-end encrypted push sync of mail and calendars.
//!
//! This crate is the sans-IO core shared by the server, the C library and the
//! WASM package. It is deterministic: it owns no sockets, threads or clocks,
//! and draws no randomness; time and random bytes are inputs. Bytes go in,
//! events and bytes come out, so the same code runs in a tokio server, on a
//! handset's event loop and in a browser.
//!
//! The layers, bottom up (each uses only those below it):
//!
//! 1. [`frame`]: length-prefixed frames over any ordered byte stream.
//! 2. [`crypto`]: Noise IK and XK handshakes and the transport cipher.
//! 3. [`compress`]: per-item deflate, bounded inflate, Padmé padding.
//! 4. [`proto`]: the protobuf schema, the source of truth for other languages.
//! 5. [`sync`]: collections, rights, change logs, delta pages, replicas.
//! 6. [`store`]: the server's storage traits and an in-memory store.
//! 7. [`session`]: `ClientSession` and `ServerSession`, which tie them together.
//!
//! Errors of every layer are one [`Error`] with a stable numeric [`ErrorKind`].

#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

pub mod compress;
pub mod crypto;
pub mod error;
pub mod frame;
pub mod proto;
pub mod session;
pub mod store;
pub mod sync;

pub use error::{Error, ErrorKind, Result};
