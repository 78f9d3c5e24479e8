//! The C tests: real C11 programs, compiled with gcc against `libtidings.a`
//! and `include/tidings.h`, then run. `TIDINGS_C_CHECK=valgrind` runs them
//! under valgrind (0 errors, 0 leaks), `TIDINGS_C_CHECK=asan` builds them with
//! `-fsanitize=address,undefined`; `cargo xtask test` runs both.

mod common;

use common::{SYSTEM_LIBS, compile, manifest, runner};
use std::path::Path;
use std::process::Command;

fn build_and_run(name: &str, source: &Path, args: &[&str]) {
    let program = compile(name, source);
    let output = runner(&program)
        .args(args)
        .output()
        .expect("the C program runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{}{stderr}", String::from_utf8_lossy(&output.stdout));
    assert!(output.status.success(), "{name}: failed: {stderr}");
}

#[test]
fn c_errors_nulls_vectors_and_bad_input() {
    let vectors = manifest().join("../../docs/test-vectors/errors.json");
    build_and_run(
        "errors",
        &manifest().join("tests/c/errors.c"),
        &[vectors.to_str().expect("utf-8 path")],
    );
}

#[test]
fn c_enrollment_sync_push_save_and_restore() {
    build_and_run("sync", &manifest().join("tests/c/sync.c"), &[]);
}

#[test]
fn c_operations_invitations_and_conflicts() {
    build_and_run("ops", &manifest().join("tests/c/ops.c"), &[]);
}

#[test]
fn the_pkg_config_file_is_valid_and_current() {
    let pc = std::fs::read_to_string(manifest().join("tidings.pc")).expect("tidings.pc");
    let version = format!("Version: {}\n", env!("CARGO_PKG_VERSION"));
    assert!(pc.contains(&version), "tidings.pc must say {version}");
    let libs = format!("Libs.private: {}\n", SYSTEM_LIBS.join(" "));
    assert!(pc.contains(&libs), "tidings.pc must list {libs}");
    if let Ok(out) = Command::new("pkg-config")
        .args(["--validate", "tidings"])
        .env("PKG_CONFIG_PATH", manifest())
        .output()
    {
        assert!(out.status.success(), "pkg-config --validate: {out:?}");
    }
}
