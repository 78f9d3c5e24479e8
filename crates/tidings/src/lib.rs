//! Tidings: end-to-end encrypted push sync of mail and calendars.
//!
//! This crate is the sans-IO core shared by the server, the C library and the
//! WASM package. It is deterministic: it owns no sockets, threads or clocks,
//! and draws no randomness; time and random bytes are inputs. Bytes go in,
//! events and bytes come out, so the same code runs in a tokio server, on a
//! handset's event loop and in a browser.
//!
//! # The protocol in one example
//!
//! A device enrolls once with a one-time activation code (Noise XK), then
//! reconnects with one round trip (Noise IK). The server follows every
//! collection the device may see from the device's cursor and pushes delta
//! pages; the device applies each page once and acknowledges it. Here both
//! peers run in one process, with [`session::pump`] standing in for the
//! network:
//!
//! ```
//! use std::sync::Arc;
//! use tidings::compress::{PackOptions, pack};
//! use tidings::crypto::StaticKeypair;
//! use tidings::proto::{self, CollectionKind, Item, MailHeaders, MailItem, item};
//! use tidings::session::{ClientConfig, ClientSession, ClientState, ServerConfig, ServerSession, pump};
//! use tidings::store::{ActivationCode, DeviceRegistry, ItemStore, MemoryStore};
//!
//! # fn main() -> tidings::Result<()> {
//! // Server side: a store with the mayor's inbox, the server's static key, and
//! // an activation code for the mayor's new phone (keys and codes come from
//! // your key store and RNG; fixed bytes keep the example short).
//! let mut store = MemoryStore::new();
//! let mayor = store.add_principal("Mayor", "mayor@town.example");
//! let inbox = store.add_collection(mayor, CollectionKind::Mail, "Inbox")?;
//! let server_keys = Arc::new(StaticKeypair::from_secret_bytes([1; 32]));
//! let code = ActivationCode::from_random([2; 10]);
//! store.create_activation(mayor, &code, u64::MAX, 5)?;
//!
//! // Device side: a fresh key, the pinned server key, the code as typed.
//! let state = ClientState::new([3; 32], server_keys.public_key());
//! let mut phone = ClientSession::enroll(ClientConfig::default(), state, &code.display(), "phone", [4; 32], 0)?;
//! let mut server = ServerSession::new(ServerConfig::default(), server_keys, [5; 32], 0);
//! pump(&mut phone, &mut server, &mut store, 0)?;
//! assert!(phone.state().is_enrolled());
//!
//! // New mail reaches the server and is pushed live to the phone.
//! let headers = MailHeaders { subject: "Council meets Thursday".into(), ..MailHeaders::default() };
//! let mail = Item { kind: Some(item::Kind::Mail(MailItem { headers: Some(headers), ..MailItem::default() })) };
//! store.upsert(inbox, None, pack(&proto::encode(&mail), &PackOptions::default()).into(), 0)?;
//! server.push_changes(1_000, &store)?;
//! pump(&mut phone, &mut server, &mut store, 1_000)?;
//!
//! let held = phone.state().replica().collection(inbox).map(|c| c.items().len());
//! assert_eq!(held, Some(1));
//! // Saved state survives a restart; ClientSession::resume picks up from it.
//! let saved = phone.state().to_bytes();
//! assert!(ClientState::from_bytes(&saved)?.is_enrolled());
//! # Ok(())
//! # }
//! ```
//!
//! # Layers
//!
//! Bottom up; each uses only those below it:
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
//! The byte-level specification is in `docs/spec/` of the repository.

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
