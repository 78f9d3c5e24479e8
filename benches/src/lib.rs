//! Shared helpers of the benchmarks: real input that the project did not write.

use std::path::PathBuf;
use std::process::Command;

/// The directory of CPython's email test messages (`test/test_email/data`),
/// found through the machine's `python3`.
pub fn cpython_email_dir() -> Option<PathBuf> {
    let out = Command::new("python3")
        .args([
            "-c",
            "import os, test.test_email as t; print(os.path.join(os.path.dirname(t.__file__), 'data'))",
        ])
        .output()
        .ok()?;
    let dir = PathBuf::from(String::from_utf8(out.stdout).ok()?.trim());
    dir.is_dir().then_some(dir)
}

/// Every `msg_*.txt` message in CPython's email test data, sorted by name.
pub fn cpython_messages() -> Vec<(String, Vec<u8>)> {
    let Some(dir) = cpython_email_dir() else {
        return Vec::new();
    };
    let mut messages: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().into_string().ok()?;
            (name.starts_with("msg_") && name.ends_with(".txt"))
                .then(|| Some((name, std::fs::read(entry.path()).ok()?)))?
        })
        .collect();
    messages.sort();
    messages
}
