//! The one panic boundary every export runs behind.
//!
//! A panic must never unwind into C. Each `extern "C"` body is a single call
//! to [`guard`] (fallible calls) or [`guard_value`] (accessors and frees);
//! a test below reads this crate's sources and fails if any export is not.
//! A handle borrowed while the panic happened stays marked poisoned (see
//! `handle.rs`), so every later call on it returns `TIDINGS_PANIC`.

use crate::result::{Fail, TIDINGS_OK, TIDINGS_PANIC, tidings_result};
use std::panic::{AssertUnwindSafe, catch_unwind};

/// Runs a fallible export body: `TIDINGS_OK`, its error code, or
/// `TIDINGS_PANIC` if it panicked.
pub(crate) fn guard(body: impl FnOnce() -> Result<(), Fail>) -> tidings_result {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => TIDINGS_OK,
        Ok(Err(Fail(code))) => code,
        Err(_) => TIDINGS_PANIC,
    }
}

/// Runs an infallible export body (an accessor or a free), giving `default`
/// if it panicked.
pub(crate) fn guard_value<T>(default: T, body: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or(default)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_a_code_and_errors_pass_through() {
        assert_eq!(guard(|| panic!("boom")), TIDINGS_PANIC);
        assert_eq!(guard(|| Err(Fail(801))), 801);
        assert_eq!(guard(|| Ok(())), TIDINGS_OK);
        assert_eq!(guard_value(7, || panic!("boom")), 7);
    }

    /// rustls-ffi #27 / #286: an export that skips the boundary lets a panic
    /// unwind into C. Every `extern "C" fn` body must start with a guard.
    #[test]
    fn every_export_starts_with_the_panic_boundary() {
        let mut dirs = vec![std::path::PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/src"
        ))];
        let mut files = Vec::new();
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(dir).expect("a source directory") {
                let path = entry.expect("entry").path();
                if path.is_dir() {
                    dirs.push(path);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    files.push(path);
                }
            }
        }
        let mut exports = 0;
        for path in files {
            let text = std::fs::read_to_string(&path).expect("source");
            for (at, _) in text.match_indices("extern \"C\" fn ") {
                exports += 1;
                let rest = text.get(at..).expect("in bounds");
                let body_start = rest.find('{').expect("a body");
                let body = rest.get(body_start + 1..).expect("in bounds").trim_start();
                let name = rest.get(14..rest.find('(').expect("args")).expect("name");
                assert!(
                    body.starts_with("guard(") || body.starts_with("guard_value("),
                    "{}: `{name}` does not start with the panic boundary",
                    path.display()
                );
            }
            assert!(
                !text.contains("extern \"C\" {") || path.ends_with("panic.rs"),
                "{}: imports no C functions",
                path.display()
            );
        }
        assert!(exports > 40, "found only {exports} exports");
    }
}
