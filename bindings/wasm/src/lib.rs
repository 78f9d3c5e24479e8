//! The Tidings client for web apps: the wasm-bindgen layer behind the npm
//! package `tidings`.
//!
//! This crate only converts between JavaScript and the core; all logic is in
//! the `tidings` crate. JavaScript gets camelCase names, `Uint8Array` for
//! bytes, plain objects for events and items, `bigint` for 64-bit ids and
//! versions, and `TidingsError`s carrying the core's stable `.code`. The
//! conventions are in `docs/wasm.md`; the TypeScript types in `types.rs`.
//!
//! Randomness (device keys, ephemeral keys, op ids) comes from the platform's
//! CSPRNG, `crypto.getRandomValues`, through getrandom's `wasm_js` backend;
//! time is an input, as in the core (`nowMs`, any monotonic clock).

mod activation;
#[cfg(feature = "loopback-server")]
mod bench;
mod client;
pub mod enums;
mod error;
mod events;
#[cfg(feature = "loopback-server")]
mod fidelity;
mod items;
mod js;
mod keys;
#[cfg(feature = "loopback-server")]
mod loopback;
mod ops;
mod random;
mod replica;
mod state;
pub mod types;
#[cfg(feature = "loopback-server")]
mod wire;

pub use activation::parse_activation;
#[cfg(feature = "loopback-server")]
pub use bench::BenchPage;
pub use client::Client;
pub use enums::{
    AbridgedReason, AttendeeRole, CollectionKind, MailFlag, ParticipationStatus, Right,
    Transparency,
};
pub use error::{Thrown, error_description, error_table};
#[cfg(feature = "loopback-server")]
pub use fidelity::{test_full_items, test_item_from_js, test_item_to_js};
pub use keys::Keypair;
#[cfg(feature = "loopback-server")]
pub use loopback::{PolicyInput, TestServer, TestTown};
pub use state::ClientState;
#[cfg(feature = "loopback-server")]
pub use wire::{
    test_decode_frames, test_encode_frames, test_envelope_body, test_pack, test_pad, test_unpack,
    test_unpad,
};

use wasm_bindgen::prelude::wasm_bindgen;

/// The package's version, e.g. "0.1.0".
#[wasm_bindgen]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}
