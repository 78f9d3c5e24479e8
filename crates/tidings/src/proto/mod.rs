//! The protobuf schema, generated from `proto/tidings/v1/*.proto` by prost.
//!
//! The `.proto` files are the source of truth for every language; their
//! comments are the documentation of these types. Rules for evolving them are
//! in `docs/spec/wire-format.md` (never reuse a field number, never change a
//! field's type, add fields rather than change meanings).

#[allow(missing_docs, clippy::all, clippy::pedantic, unreachable_pub)]
mod generated {
    include!(concat!(env!("OUT_DIR"), "/tidings.v1.rs"));
}

pub use generated::*;

use crate::error::{Error, ErrorKind, Result};
use prost::Message;

/// Decodes one message of type `M`, mapping failure to [`ErrorKind::ProtoDecode`].
///
/// Decoding is bounded by the input: prost allocates at most in proportion to
/// the bytes given, and nests at most 100 messages deep.
pub fn decode<M: Message + Default>(bytes: &[u8]) -> Result<M> {
    M::decode(bytes).map_err(|_| Error::new(ErrorKind::ProtoDecode, "invalid protobuf"))
}

/// Encodes `message` into a new buffer of exactly its size.
pub fn encode<M: Message>(message: &M) -> Vec<u8> {
    message.encode_to_vec()
}
