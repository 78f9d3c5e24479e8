//! Helpers shared by the integration tests.

#![allow(dead_code, unreachable_pub)]

pub mod cal;
pub mod calendar_strategy;
pub mod ics;

use std::path::PathBuf;
use std::process::Command;

/// A directory that a Python expression prints, found at run time so the
/// tests read data that is installed, not copied into this repository.
///
/// Panics with `hint` when python3 or the package is missing: the test
/// cannot prove anything without its data.
pub fn python_dir(expression: &str, hint: &str) -> PathBuf {
    let output = Command::new("python3")
        .args(["-c", &format!("print({expression})")])
        .output();
    let dir = match output {
        Ok(out) if out.status.success() => String::from_utf8_lossy(&out.stdout).trim().to_owned(),
        Ok(out) => panic!(
            "{hint}\npython3 failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ),
        Err(e) => panic!("{hint}\npython3 could not be run: {e}"),
    };
    let dir = PathBuf::from(dir);
    assert!(dir.is_dir(), "{hint}\nnot a directory: {}", dir.display());
    dir
}

/// Files under `dir` (recursively) whose name ends in `suffix`, sorted.
pub fn files_with_suffix(dir: &std::path::Path, suffix: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).expect("readable directory") {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                pending.push(path);
            } else if path.to_string_lossy().ends_with(suffix) {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}
