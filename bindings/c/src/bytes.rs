//! Owned byte outputs: one struct, one free function.

use crate::panic::guard_value;
use zeroize::Zeroize;

/// Bytes the library allocated and the caller owns: release them with
/// `tidings_bytes_free`. Empty output is `{NULL, 0}`.
#[repr(C)]
#[derive(Debug)]
pub struct tidings_bytes {
    /// The bytes (NULL when `len` is 0).
    pub data: *mut u8,
    /// How many.
    pub len: usize,
}

impl tidings_bytes {
    /// Hands `bytes` to C.
    pub(crate) fn from_vec(bytes: Vec<u8>) -> Self {
        if bytes.is_empty() {
            return tidings_bytes {
                data: core::ptr::null_mut(),
                len: 0,
            };
        }
        let boxed = bytes.into_boxed_slice();
        let len = boxed.len();
        tidings_bytes {
            data: Box::into_raw(boxed).cast(),
            len,
        }
    }
}

/// Zeroes and frees bytes the library returned, then sets `*bytes` to
/// `{NULL, 0}`, so freeing the same struct twice is harmless. NULL, and a
/// struct holding `{NULL, 0}`, are no-ops. (Zeroing matters: saved state
/// holds the device's private key.)
#[unsafe(no_mangle)]
pub extern "C" fn tidings_bytes_free(bytes: *mut tidings_bytes) {
    guard_value((), || release(bytes))
}

fn release(bytes: *mut tidings_bytes) {
    // SAFETY: NULL is a no-op; otherwise the struct is the caller's.
    let Some(bytes) = (unsafe { bytes.as_mut() }) else {
        return;
    };
    if !bytes.data.is_null() {
        let slice = core::ptr::slice_from_raw_parts_mut(bytes.data, bytes.len);
        // SAFETY: `data`/`len` came from `from_vec` (documented contract).
        let mut owned = unsafe { Box::from_raw(slice) };
        owned.zeroize();
    }
    bytes.data = core::ptr::null_mut();
    bytes.len = 0;
}
