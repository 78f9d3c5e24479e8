//! Tidings in front of a mail server an organization already runs: each
//! principal's IMAP account is mirrored into the Tidings store, and every
//! device operation is written back upstream first.
//!
//! - [`config`]: the TOML configuration and its 0600 secrets file.
//! - [`connect`]: TCP, TLS or STARTTLS (certificates verified), LOGIN
//!   (per-account password or a master user).
//! - [`mirror`] and [`folders`]: CONDSTORE/QRESYNC sync (RFC 7162) of each
//!   folder from its saved UIDVALIDITY and HIGHESTMODSEQ, the folder list
//!   (creations, renames, deletions), UIDVALIDITY changes as the spec's
//!   resync (a new epoch). [`fetch`]: new messages, in runs bounded by
//!   bytes; one too large to mirror becomes a stub.
//! - [`state`]: the uid ↔ item map and per-folder state, in the store's
//!   database, committed with the change they describe.
//! - [`writeback`]: flags, move and delete, upstream first, on the mirror's
//!   own connection (the library API, [`Handle`]).
//! - [`device_writes`] and [`writer`]: the same for a server's devices,
//!   inside the device's store transaction, on a connection of its own.
//! - `imap_ops`: the IMAP commands both are made of.
//! - [`push`]: IDLE (RFC 2177) with NOTIFY (RFC 5465) on a second connection.
//! - [`gateway`]: one task per account tying these together, and the
//!   [`Handle`] the server calls for write-backs.
//! - [`outbox`], [`sender`] and [`smtp`]: a mirrored principal's mail,
//!   queued with the device's operation, submitted over SMTP exactly once
//!   and filed in the upstream's Sent folder.
//! - [`caldav`]: calendars from a CalDAV server, mirrored by
//!   `sync-collection` and written back with `If-Match`.
//!
//! The store is the reference server's [`SqliteStore`]; the core's rules
//! (item packing, deltas) apply unchanged, because mirrored mail enters
//! through the same raw-message path as delivered mail.
//!
//! [`SqliteStore`]: tidings_store_sqlite::SqliteStore

#![forbid(unsafe_code)]

pub mod account;
pub mod caldav;
pub mod config;
pub mod connect;
pub mod cool_down;
pub mod device_writes;
pub mod dovecot_push;
pub mod fetch;
pub mod flags;
pub mod folder_names;
pub mod folders;
pub mod gateway;
pub(crate) mod imap_ops;
pub mod mirror;
pub mod notice;
pub mod outbox;
pub mod push;
pub mod sender;
pub mod sent_copy;
pub mod session;
pub mod sizes;
pub mod smtp;
pub mod state;
pub mod writeback;
pub mod writer;

pub use account::{Account, Fetched, SharedStore};

/// With the `test-hooks` feature, `TIDINGS_TEST_CRASH=<point>` has the
/// process SIGKILL itself (`kill -9`: no cleanup, nothing more written)
/// when it reaches `point`: how the tests stop the sender between
/// submission and APPEND (`after-submit`), or a device's calendar write
/// between the upstream's acceptance and the store's commit
/// (`after-caldav-put`). Without the feature it does nothing.
pub(crate) fn crash_point(point: &str) {
    #[cfg(feature = "test-hooks")]
    if std::env::var("TIDINGS_TEST_CRASH").is_ok_and(|p| p == point) {
        let pid = std::process::id().to_string();
        let _ = std::process::Command::new("kill")
            .args(["-KILL", &pid])
            .status();
        std::process::abort();
    }
    let _ = point;
}
pub use config::Config;
pub use gateway::{AccountOptions, Handle};
