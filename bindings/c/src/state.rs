//! Client state: made for enrollment, saved to bytes, restored from them.

use crate::bytes::tidings_bytes;
use crate::handle::{Castable, Out, borrow, free, input, input_array, into_ptr};
use crate::keys::tidings_keypair;
use crate::panic::{guard, guard_value};
use crate::result::tidings_result;
use tidings::session::ClientState;

/// Everything a device keeps between runs: keys, cursors, the replica, the
/// outbox. Not thread-safe: one thread at a time.
pub struct tidings_client_state {
    _private: [u8; 0],
}

impl Castable for tidings_client_state {
    type Rust = ClientState;
}

/// A fresh state for enrollment: the device's key pair and the server's
/// pinned 32-byte public key. Free with `tidings_client_state_free`.
#[unsafe(no_mangle)]
pub extern "C" fn tidings_client_state_new(
    keypair: *const tidings_keypair,
    server_public: *const u8,
    server_public_len: usize,
    out: *mut *mut tidings_client_state,
) -> tidings_result {
    guard(|| {
        let out = Out::new(out)?;
        let keypair = borrow(keypair)?;
        let server = input_array::<32>(server_public, server_public_len)?;
        out.set(into_ptr(ClientState::new(*keypair.secret, server)));
        Ok(())
    })
}

/// Restores a state saved with `tidings_client_state_save` or
/// `tidings_client_save`. Bad bytes give their error code and no state.
#[unsafe(no_mangle)]
pub extern "C" fn tidings_client_state_restore(
    saved: *const u8,
    saved_len: usize,
    out: *mut *mut tidings_client_state,
) -> tidings_result {
    guard(|| {
        let out = Out::new(out)?;
        let state = ClientState::from_bytes(input(saved, saved_len)?)?;
        out.set(into_ptr(state));
        Ok(())
    })
}

/// Saves a state to bytes (they hold the private key: keep them where the
/// platform keeps secrets). Free `out` with `tidings_bytes_free`.
#[unsafe(no_mangle)]
pub extern "C" fn tidings_client_state_save(
    state: *const tidings_client_state,
    out: *mut tidings_bytes,
) -> tidings_result {
    guard(|| {
        let out = Out::new(out)?;
        let state = borrow(state)?;
        out.set(tidings_bytes::from_vec(state.to_bytes().to_vec()));
        Ok(())
    })
}

/// Whether the state has completed enrollment (false for NULL).
#[unsafe(no_mangle)]
pub extern "C" fn tidings_client_state_is_enrolled(state: *const tidings_client_state) -> bool {
    guard_value(false, || borrow(state).is_ok_and(|s| s.is_enrolled()))
}

/// Frees a state; NULL is a no-op.
#[unsafe(no_mangle)]
pub extern "C" fn tidings_client_state_free(state: *mut tidings_client_state) {
    guard_value((), || free(state))
}
