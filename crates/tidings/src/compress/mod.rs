//! Compression and padding of payloads: compress, then pad, then encrypt.
//!
//! Each item is deflated in a fresh context ([`pack`]), so that mail an attacker
//! controls cannot act as a compression oracle against other mail in the same
//! stream (CRIME/BREACH). An item's packed bytes depend only on the item, so a
//! server packs each item version once and reuses the bytes for every device.
//! Inflating ([`unpack`]) is bounded on its output, whatever the input claims.
//! [`pad`] hides exact lengths by rounding to Padmé buckets.
//! See `docs/spec/wire-format.md` for the byte layout.

mod dictionary;
mod inflate;
mod pack;
mod padding;

pub use dictionary::Dictionary;
pub use inflate::{InflateLimits, inflate};
pub use pack::{PackOptions, pack, refused_by_limits, unpack};
pub use padding::{pad, padded_len, unpad};
