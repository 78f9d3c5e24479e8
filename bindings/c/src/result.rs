//! `tidings_result`: 0 for success, else a stable code of the core's table.

use crate::panic::guard_value;
use tidings::ErrorKind;

/// The result of every fallible call: `TIDINGS_OK` (0) or a code of the
/// core's stable table (`docs/spec/errors.md`).
pub type tidings_result = u16;

/// Success.
pub const TIDINGS_OK: tidings_result = 0;
/// A required pointer argument was NULL.
pub const TIDINGS_NULL_ARGUMENT: tidings_result = 800;
/// An argument was invalid for the call.
pub const TIDINGS_INVALID_ARGUMENT: tidings_result = 801;
/// A panic was caught; the handle involved is unusable and must be freed.
pub const TIDINGS_PANIC: tidings_result = 802;

/// Why a call failed, as it crosses back to C.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Fail(pub(crate) tidings_result);

impl From<ErrorKind> for Fail {
    fn from(kind: ErrorKind) -> Self {
        Fail(kind.code())
    }
}

impl From<tidings::Error> for Fail {
    fn from(error: tidings::Error) -> Self {
        Fail(error.code())
    }
}

/// A short, static, content-free description of a `tidings_result` code, or
/// NULL when the code is not assigned (0 included). The string must not be
/// freed. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn tidings_result_description(code: tidings_result) -> *const core::ffi::c_char {
    guard_value(core::ptr::null(), || match ErrorKind::from_code(code) {
        Some(kind) => describe(kind).as_ptr(),
        None => core::ptr::null(),
    })
}

/// The library's version, e.g. "0.1.0": static, must not be freed.
#[unsafe(no_mangle)]
pub extern "C" fn tidings_version() -> *const core::ffi::c_char {
    guard_value(core::ptr::null(), || VERSION.as_ptr())
}

const VERSION: &core::ffi::CStr =
    match core::ffi::CStr::from_bytes_with_nul(concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes())
    {
        Ok(v) => v,
        Err(_) => c"unknown",
    };

/// NUL-terminated descriptions, built once from the core's table.
fn describe(kind: ErrorKind) -> &'static core::ffi::CStr {
    static TABLE: std::sync::OnceLock<Vec<(ErrorKind, std::ffi::CString)>> =
        std::sync::OnceLock::new();
    let table = TABLE.get_or_init(|| {
        ErrorKind::ALL
            .iter()
            .filter_map(|k| Some((*k, std::ffi::CString::new(k.description()).ok()?)))
            .collect()
    });
    table
        .iter()
        .find(|(k, _)| *k == kind)
        .map_or(c"unknown", |(_, text)| text.as_c_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_a_description_and_unknown_is_null() {
        for kind in ErrorKind::ALL {
            let ptr = tidings_result_description(kind.code());
            assert!(!ptr.is_null());
        }
        assert!(tidings_result_description(0).is_null());
    }

    #[test]
    fn the_named_constants_match_the_core() {
        assert_eq!(TIDINGS_NULL_ARGUMENT, ErrorKind::NullArgument.code());
        assert_eq!(TIDINGS_INVALID_ARGUMENT, ErrorKind::InvalidArgument.code());
        assert_eq!(TIDINGS_PANIC, ErrorKind::Panic.code());
    }
}
