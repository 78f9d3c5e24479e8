//! The activation payload a user scans or pastes to enroll
//! (`tidings:enroll?tcp=…&key=…&code=…`, see wire-format.md §7), parsed by
//! the core.

use crate::bytes::tidings_bytes;
use crate::handle::{Castable, Out, borrow, free, input_str, into_ptr};
use crate::panic::{guard, guard_value};
use crate::result::tidings_result;
use tidings::ErrorKind;
use tidings::session::ActivationPayload;

/// A parsed activation payload. Immutable: may be read from several threads.
pub struct tidings_activation {
    _private: [u8; 0],
}

impl Castable for tidings_activation {
    type Rust = ActivationPayload;
}

/// Parses a payload (UTF-8, as scanned or pasted). Refused with
/// error 601 (activation rejected) when it is not a payload, lacks the server
/// key, the code or an endpoint, or has a malformed value. Free with `tidings_activation_free`.
#[unsafe(no_mangle)]
pub extern "C" fn tidings_activation_parse(
    uri: *const u8,
    uri_len: usize,
    out: *mut *mut tidings_activation,
) -> tidings_result {
    guard(|| {
        let out = Out::new(out)?;
        let payload = ActivationPayload::parse(input_str(uri, uri_len)?)?;
        out.set(into_ptr(payload));
        Ok(())
    })
}

/// The server's TCP address, `host:port` (free with `tidings_bytes_free`);
/// error 502 (not found) when the payload names only a WebSocket endpoint.
#[unsafe(no_mangle)]
pub extern "C" fn tidings_activation_tcp(
    activation: *const tidings_activation,
    out: *mut tidings_bytes,
) -> tidings_result {
    guard(|| {
        let out = Out::new(out)?;
        let payload = borrow(activation)?;
        let tcp = payload.tcp.clone().ok_or(ErrorKind::NotFound)?;
        out.set(tidings_bytes::from_vec(tcp.into_bytes()));
        Ok(())
    })
}

/// The one-time activation code, to pass to `tidings_client_enroll` (free
/// with `tidings_bytes_free`).
#[unsafe(no_mangle)]
pub extern "C" fn tidings_activation_code(
    activation: *const tidings_activation,
    out: *mut tidings_bytes,
) -> tidings_result {
    guard(|| {
        let out = Out::new(out)?;
        let payload = borrow(activation)?;
        out.set(tidings_bytes::from_vec(payload.code.display().into_bytes()));
        Ok(())
    })
}

/// Writes the server's 32-byte public key, which the device pins, to `out`
/// (`out_len` must be 32): pass it to `tidings_client_state_new`.
#[unsafe(no_mangle)]
pub extern "C" fn tidings_activation_server_key(
    activation: *const tidings_activation,
    out: *mut u8,
    out_len: usize,
) -> tidings_result {
    guard(|| {
        let out = Out::new(out.cast::<[u8; 32]>())?;
        let payload = borrow(activation)?;
        if out_len != 32 {
            return Err(ErrorKind::InvalidArgument.into());
        }
        out.set(payload.server_key);
        Ok(())
    })
}

/// Frees a parsed payload; NULL is a no-op.
#[unsafe(no_mangle)]
pub extern "C" fn tidings_activation_free(activation: *mut tidings_activation) {
    guard_value((), || free(activation))
}
