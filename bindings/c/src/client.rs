//! The client session: enrollment, reconnect, and the sans-IO loop.
//!
//! Calling order (as in the core): create with `tidings_client_enroll` or
//! `tidings_client_resume`; send everything `tidings_client_poll_transmit`
//! gives; feed received bytes to `tidings_client_handle_bytes`; drain
//! `tidings_client_poll_event`; call `tidings_client_handle_timeout` once the
//! time from `tidings_client_poll_timeout` has passed.

use crate::bytes::tidings_bytes;
use crate::handle::{
    Castable, Out, borrow, borrow_mut, free, input, input_array, input_str, into_ptr,
};
use crate::panic::{guard, guard_value};
use crate::result::tidings_result;
use crate::state::tidings_client_state;
use tidings::session::{ClientConfig, ClientSession};

/// One connection of a device to its server. Not thread-safe: one thread at
/// a time (it may move between threads).
pub struct tidings_client {
    _private: [u8; 0],
}

impl Castable for tidings_client {
    type Rust = ClientSession;
}

/// Starts enrollment (Noise XK) with a fresh `state` (copied, not consumed),
/// the activation code as the user typed it (UTF-8), a device name (UTF-8),
/// 32 random bytes for the ephemeral key, and the time in milliseconds.
/// A wrong code is refused by the server: a `TIDINGS_EVENT_CLOSED` event
/// follows. Free with `tidings_client_free`.
#[unsafe(no_mangle)]
pub extern "C" fn tidings_client_enroll(
    state: *const tidings_client_state,
    code: *const u8,
    code_len: usize,
    device_name: *const u8,
    device_name_len: usize,
    ephemeral: *const u8,
    ephemeral_len: usize,
    now_ms: u64,
    out: *mut *mut tidings_client,
) -> tidings_result {
    guard(|| {
        let out = Out::new(out)?;
        let state = borrow(state)?.clone();
        let code = input_str(code, code_len)?;
        let name = input_str(device_name, device_name_len)?;
        let ephemeral = input_array::<32>(ephemeral, ephemeral_len)?;
        let session = ClientSession::enroll(
            ClientConfig::default(),
            state,
            code,
            name,
            ephemeral,
            now_ms,
        )?;
        out.set(into_ptr(session));
        Ok(())
    })
}

/// Reconnects (Noise IK, one round trip) with an enrolled `state` (copied,
/// not consumed) and 32 random bytes for the ephemeral key. The client's
/// hello counter has already advanced: store `tidings_client_save`, then
/// call `tidings_client_confirm_state_saved`; until then
/// `tidings_client_poll_transmit` gives nothing, so a crash or a lost answer
/// never repeats a hello timestamp.
#[unsafe(no_mangle)]
pub extern "C" fn tidings_client_resume(
    state: *const tidings_client_state,
    ephemeral: *const u8,
    ephemeral_len: usize,
    now_ms: u64,
    out: *mut *mut tidings_client,
) -> tidings_result {
    guard(|| {
        let out = Out::new(out)?;
        let state = borrow(state)?.clone();
        let ephemeral = input_array::<32>(ephemeral, ephemeral_len)?;
        out.set(into_ptr(ClientSession::resume(
            ClientConfig::default(),
            state,
            ephemeral,
            now_ms,
        )?));
        Ok(())
    })
}

/// Releases the hello of `tidings_client_resume` once its state is stored.
#[unsafe(no_mangle)]
pub extern "C" fn tidings_client_confirm_state_saved(
    client: *mut tidings_client,
) -> tidings_result {
    guard(|| {
        borrow_mut(client)?.confirm_state_saved();
        Ok(())
    })
}

/// Feeds bytes received from the server, in order, in chunks of any size.
/// An error closes the session (a `TIDINGS_EVENT_CLOSED` event follows).
#[unsafe(no_mangle)]
pub extern "C" fn tidings_client_handle_bytes(
    client: *mut tidings_client,
    now_ms: u64,
    data: *const u8,
    len: usize,
) -> tidings_result {
    guard(|| {
        let mut client = borrow_mut(client)?;
        Ok(client.handle_bytes(now_ms, input(data, len)?)?)
    })
}

/// The next bytes to send to the server, or `{NULL, 0}` when there are none.
/// Free `out` with `tidings_bytes_free`.
#[unsafe(no_mangle)]
pub extern "C" fn tidings_client_poll_transmit(
    client: *mut tidings_client,
    out: *mut tidings_bytes,
) -> tidings_result {
    guard(|| {
        let out = Out::new(out)?;
        let next = borrow_mut(client)?.poll_transmit().unwrap_or_default();
        out.set(tidings_bytes::from_vec(next));
        Ok(())
    })
}

/// When (in ms) to call `tidings_client_handle_timeout`; `UINT64_MAX` when
/// nothing is scheduled.
#[unsafe(no_mangle)]
pub extern "C" fn tidings_client_poll_timeout(
    client: *const tidings_client,
    out: *mut u64,
) -> tidings_result {
    guard(|| {
        let out = Out::new(out)?;
        out.set(borrow(client)?.poll_timeout().unwrap_or(u64::MAX));
        Ok(())
    })
}

/// Tells the session the time has come (a keepalive when they go both ways,
/// the idle timeout).
#[unsafe(no_mangle)]
pub extern "C" fn tidings_client_handle_timeout(
    client: *mut tidings_client,
    now_ms: u64,
) -> tidings_result {
    guard(|| Ok(borrow_mut(client)?.handle_timeout(now_ms)?))
}

/// Closes the session cleanly (bytes to send follow).
#[unsafe(no_mangle)]
pub extern "C" fn tidings_client_close(client: *mut tidings_client, now_ms: u64) -> tidings_result {
    guard(|| Ok(borrow_mut(client)?.close(now_ms)?))
}

/// Acknowledges a wipe order after erasing the device's data.
#[unsafe(no_mangle)]
pub extern "C" fn tidings_client_acknowledge_wipe(
    client: *mut tidings_client,
    now_ms: u64,
    wipe_id: u64,
) -> tidings_result {
    guard(|| Ok(borrow_mut(client)?.acknowledge_wipe(now_ms, wipe_id)?))
}

/// Saves the session's state (keys, cursors, replica, outbox) to bytes for
/// `tidings_client_state_restore`. Free `out` with `tidings_bytes_free`.
#[unsafe(no_mangle)]
pub extern "C" fn tidings_client_save(
    client: *const tidings_client,
    out: *mut tidings_bytes,
) -> tidings_result {
    guard(|| {
        let out = Out::new(out)?;
        let saved = borrow(client)?.state().to_bytes().to_vec();
        out.set(tidings_bytes::from_vec(saved));
        Ok(())
    })
}

/// Whether the handshake has completed (false for NULL).
#[unsafe(no_mangle)]
pub extern "C" fn tidings_client_is_established(client: *const tidings_client) -> bool {
    guard_value(false, || borrow(client).is_ok_and(|c| c.is_established()))
}

/// Whether every visible collection is caught up in this session (a
/// `TIDINGS_EVENT_CAUGHT_UP` came for each): the initial sync is done and
/// what follows is live push (false before the welcome, or for NULL).
#[unsafe(no_mangle)]
pub extern "C" fn tidings_client_is_caught_up(client: *const tidings_client) -> bool {
    guard_value(false, || borrow(client).is_ok_and(|c| c.is_caught_up()))
}

/// Whether the session has ended (false for NULL).
#[unsafe(no_mangle)]
pub extern "C" fn tidings_client_is_closed(client: *const tidings_client) -> bool {
    guard_value(true, || borrow(client).is_ok_and(|c| c.is_closed()))
}

/// The device's id once enrolled (0 before, or for NULL).
#[unsafe(no_mangle)]
pub extern "C" fn tidings_client_device_id(client: *const tidings_client) -> u64 {
    guard_value(0, || borrow(client).map_or(0, |c| c.state().device_id()))
}

/// Frees a client; NULL is a no-op.
#[unsafe(no_mangle)]
pub extern "C" fn tidings_client_free(client: *mut tidings_client) {
    guard_value((), || free(client))
}
