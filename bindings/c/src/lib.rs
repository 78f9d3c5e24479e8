//! `libtidings`: the Tidings client for C, through `tidings.h`.
//!
//! This layer only converts between C and the core; all logic is in the
//! `tidings` crate. The full client API arrives with the C-bindings issue; for
//! now the library exports the error table so C code can name every code.

// Exporting C symbols (`no_mangle`) is this crate's purpose.
#![allow(unsafe_code)]

use tidings::ErrorKind;

/// A short, static, content-free description of a `tidings_result` code, or
/// NULL when the code is not assigned. The string must not be freed.
#[unsafe(no_mangle)]
pub extern "C" fn tidings_result_description(code: u16) -> *const core::ffi::c_char {
    match ErrorKind::from_code(code) {
        Some(kind) => describe(kind).as_ptr(),
        None => core::ptr::null(),
    }
}

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
}
