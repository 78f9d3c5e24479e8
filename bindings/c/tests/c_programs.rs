//! The C tests: real C11 programs, compiled with gcc against `libtidings.a`
//! and `include/tidings.h`, then run. `TIDINGS_C_CHECK=valgrind` runs them
//! under valgrind (0 errors, 0 leaks), `TIDINGS_C_CHECK=asan` builds them with
//! `-fsanitize=address,undefined`; `cargo xtask test` runs both.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The link line of the static library, as docs/ffi.md gives it.
const SYSTEM_LIBS: &[&str] = &[
    "-lgcc_s",
    "-lutil",
    "-lrt",
    "-lpthread",
    "-lm",
    "-ldl",
    "-lc",
];

fn manifest() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// target/<profile>/deps: where cargo put this test build's libtidings.a
/// (only `cargo build` copies it up to target/<profile>).
fn deps_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary");
    exe.parent().expect("target/<profile>/deps").to_path_buf()
}

fn build_and_run(name: &str, source: &Path, args: &[&str]) {
    let check = std::env::var("TIDINGS_C_CHECK").unwrap_or_default();
    let out = deps_dir().join(format!(
        "c-{name}-{}",
        if check.is_empty() { "plain" } else { &check }
    ));
    let mut cc = Command::new(std::env::var("CC").unwrap_or_else(|_| "gcc".into()));
    cc.args([
        "-std=c11",
        "-Wall",
        "-Wextra",
        "-Werror",
        "-pedantic",
        "-g",
        "-DTIDINGS_LOOPBACK_SERVER",
    ])
    .arg("-I")
    .arg(manifest().join("include"))
    .arg(source)
    .arg("-o")
    .arg(&out);
    if check == "asan" {
        cc.args([
            "-fsanitize=address,undefined",
            "-fno-sanitize-recover=all",
            "-fno-omit-frame-pointer",
        ]);
    }
    cc.arg(deps_dir().join("libtidings.a")).args(SYSTEM_LIBS);
    let status = cc.status().expect("gcc runs");
    assert!(status.success(), "{name}: compiling failed");

    let mut run = if check == "valgrind" {
        let mut v = Command::new("valgrind");
        v.args([
            "--quiet",
            "--error-exitcode=1",
            "--leak-check=full",
            "--errors-for-leak-kinds=definite,indirect",
        ])
        .arg(&out);
        v
    } else {
        Command::new(&out)
    };
    let output = run.args(args).output().expect("the C program runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{}{stderr}", String::from_utf8_lossy(&output.stdout));
    assert!(
        output.status.success(),
        "{name} ({check}): failed: {stderr}"
    );
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
fn the_handset_example_runs() {
    build_and_run("handset", &manifest().join("examples/handset.c"), &[]);
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
