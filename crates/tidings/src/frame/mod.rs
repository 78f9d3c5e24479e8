//! Length-prefixed frames over any ordered byte stream.
//!
//! A frame is a 16-bit big-endian body length followed by that many body bytes,
//! so a body holds at most 65,535 bytes: the Noise message limit. The first frame
//! in each direction begins with a one-byte protocol version; version `0` is
//! reserved for a plaintext refusal that names the version the sender speaks.
//! See `docs/spec/wire-format.md`.

mod decoder;
mod encoder;

pub use decoder::FrameDecoder;
pub use encoder::{FrameEncoder, encode_refusal};

/// The protocol version this build speaks, carried in the first frame.
pub const PROTOCOL_VERSION: u8 = 1;

/// The version byte of a refusal frame: "I do not speak your version".
pub const REFUSAL_VERSION: u8 = 0;

/// Bytes of the length header in front of every frame body.
pub const HEADER_LEN: usize = 2;

/// The largest body a frame can carry: the Noise message limit.
pub const MAX_BODY_LEN: usize = u16::MAX as usize;
