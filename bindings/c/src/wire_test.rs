//! TEST SUPPORT ONLY (feature `loopback-server`): the core's wire layers,
//! exposed so the C tests can check `docs/test-vectors/` (padding, packed
//! items, envelopes of a real session) against the very library a handset
//! links. Never in a handset build.

use crate::bytes::tidings_bytes;
use crate::handle::{Out, input};
use crate::panic::guard;
use crate::result::tidings_result;
use tidings::compress::{InflateLimits, pad, unpack, unpad};
use tidings::proto::{self, Envelope};

/// TEST SUPPORT: `body` padded as it is before sealing. Free `out` with
/// `tidings_bytes_free`.
#[unsafe(no_mangle)]
pub extern "C" fn tidings_test_pad(
    body: *const u8,
    body_len: usize,
    out: *mut tidings_bytes,
) -> tidings_result {
    guard(|| {
        let out = Out::new(out)?;
        let mut padded = Vec::new();
        pad(input(body, body_len)?, &mut padded);
        out.set(tidings_bytes::from_vec(padded));
        Ok(())
    })
}

/// TEST SUPPORT: the body inside a padded payload.
#[unsafe(no_mangle)]
pub extern "C" fn tidings_test_unpad(
    padded: *const u8,
    padded_len: usize,
    out: *mut tidings_bytes,
) -> tidings_result {
    guard(|| {
        let out = Out::new(out)?;
        let body = unpad(input(padded, padded_len)?)?.to_vec();
        out.set(tidings_bytes::from_vec(body));
        Ok(())
    })
}

/// TEST SUPPORT: a packed item unpacked, within the default limits.
#[unsafe(no_mangle)]
pub extern "C" fn tidings_test_unpack(
    packed: *const u8,
    packed_len: usize,
    out: *mut tidings_bytes,
) -> tidings_result {
    guard(|| {
        let out = Out::new(out)?;
        let item = unpack(input(packed, packed_len)?, &InflateLimits::default())?;
        out.set(tidings_bytes::from_vec(item));
        Ok(())
    })
}

/// TEST SUPPORT: the name of the body an encoded `Envelope` carries
/// (`Hello`, `CaughtUp`, …; empty for a keepalive), as UTF-8 without a
/// terminating NUL.
#[unsafe(no_mangle)]
pub extern "C" fn tidings_test_envelope_body(
    envelope: *const u8,
    envelope_len: usize,
    out: *mut tidings_bytes,
) -> tidings_result {
    guard(|| {
        let out = Out::new(out)?;
        let envelope: Envelope = proto::decode(input(envelope, envelope_len)?)?;
        let name = envelope
            .body
            .map(|body| {
                let debug = format!("{body:?}");
                debug.split('(').next().unwrap_or_default().to_string()
            })
            .unwrap_or_default();
        out.set(tidings_bytes::from_vec(name.into_bytes()));
        Ok(())
    })
}
