//! `libtidings`: the Tidings client for C, through `tidings.h`.
//!
//! This layer only converts between C and the core; all logic is in the
//! `tidings` crate. The conventions (results, handles, out-parameters, bytes,
//! threads, panics) are in `docs/ffi.md`.

// Exporting C symbols (`no_mangle`) and reading C pointers is this crate's purpose.
#![allow(unsafe_code)]
// C type names (`tidings_client`) are the header's names.
#![allow(non_camel_case_types)]

pub mod bytes;
pub mod client;
pub mod event;
pub mod fields;
mod handle;
pub mod keys;
#[cfg(feature = "loopback-server")]
pub mod loopback;
#[cfg(feature = "loopback-server")]
pub mod loopback_io;
pub mod ops;
pub mod outgoing;
mod panic;
pub mod parts;
pub mod payload;
pub mod replica;
pub mod result;
pub mod state;
pub mod whole;
#[cfg(feature = "loopback-server")]
pub mod wire_test;
