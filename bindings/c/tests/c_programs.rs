//! The C tests: real C11 programs, compiled with gcc against `libtidings.a`
//! and `include/tidings.h`, then run. `TIDINGS_C_CHECK=valgrind` runs them
//! under valgrind (0 errors, 0 leaks), `TIDINGS_C_CHECK=asan` builds them with
//! `-fsanitize=address,undefined`; `cargo xtask test` runs both.

mod common;

use common::{compile, manifest, runner, system_libs};
use std::path::Path;

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
fn c_a_lost_answer_or_a_crash_never_locks_the_device_out() {
    build_and_run("lockout", &manifest().join("tests/c/lockout.c"), &[]);
}

#[test]
fn c_operations_invitations_and_conflicts() {
    build_and_run("ops", &manifest().join("tests/c/ops.c"), &[]);
}

#[test]
fn c_fields_a_handset_shows_and_mail_it_sends() {
    build_and_run("fields", &manifest().join("tests/c/fields.c"), &[]);
}

#[test]
fn the_pkg_config_templates_name_the_system_libraries() {
    for name in ["tidings.pc.in", "tidings-static.pc.in"] {
        let pc =
            std::fs::read_to_string(manifest().join("pkgconfig").join(name)).expect("template");
        assert!(
            pc.contains("Version: @VERSION@\n"),
            "{name}: the version is filled in"
        );
        assert!(
            pc.contains("@SYSTEM_LIBS@"),
            "{name}: the static link line is filled in"
        );
        assert!(
            pc.contains("prefix=@PREFIX@\n"),
            "{name}: no prefix is hard-coded"
        );
    }
    assert!(
        system_libs().iter().all(|l| l.starts_with("-l")),
        "-l flags only"
    );
}
