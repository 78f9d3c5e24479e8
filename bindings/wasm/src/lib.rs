//! The Tidings client for web apps: a thin wasm-bindgen layer over the core.
//!
//! Only conversions live here. The JavaScript API arrives with the WASM
//! bindings issue; for now the crate exposes the error table as plain Rust so
//! the package layout builds.

use tidings::ErrorKind;

/// The stable code and description of every error, as the JS package will
/// publish them.
pub fn error_table() -> Vec<(u16, &'static str)> {
    ErrorKind::ALL
        .iter()
        .map(|k| (k.code(), k.description()))
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn table_matches_the_core() {
        let table = super::error_table();
        assert_eq!(table.len(), tidings::ErrorKind::ALL.len());
        assert!(table.iter().any(|(code, _)| *code == 102));
    }
}
