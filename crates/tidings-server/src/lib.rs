//! The Tidings reference server: the core's sans-IO sessions on real
//! sockets, over an embedded SQLite store.
//!
//! - [`store`]: [`SqliteStore`](store::SqliteStore), the core's store traits in
//!   one SQLite file (WAL mode).
//! - [`stores`]: [`ServerStore`](stores::ServerStore), what the server needs
//!   of a store, for SQLite and for PostgreSQL
//!   ([`PostgresStore`](stores::PostgresStore), selected by `--db postgres://…`).
//! - [`server`]: the tokio server, TCP and WebSocket, one
//!   [`ServerSession`](tidings::session::ServerSession) per connection, live
//!   push to every device that may see a change, graceful shutdown.
//! - [`admin`]: what the command line does: principals, delegations,
//!   enrollment, revocation, wipe, import, delivery.
//! - [`client`]: the reference async driver of a
//!   [`ClientSession`](tidings::session::ClientSession) over TCP, used by the
//!   examples, the demo and the tests.
//! - [`activation`]: the enrollment payload a user scans or pastes.
//! - [`upstream`]: `serve --upstream`, the IMAP gateway beside the server.
//!
//! See `docs/server.md` for operators.

#![forbid(unsafe_code)]

/// The core this server runs, for users of this crate that name it under
/// another name (the C library's tests, whose own library is `tidings`).
pub use tidings;

pub mod activation;
pub mod admin;
pub mod client;
pub mod clock;
pub mod compose;
pub mod dbfile;
pub mod import;
pub mod operator;
pub mod seed;
pub mod server;
pub mod upstream;
/// The SQLite store, its own crate so the IMAP gateway can use it without
/// the server; every `tidings_server::store::…` path keeps working.
pub use tidings_store_sqlite as store;
pub mod stores;
