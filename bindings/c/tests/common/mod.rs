//! Compiling and running C programs against libtidings, for the C tests.
#![allow(dead_code, unreachable_pub)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// The system libraries the static library needs (Rust's standard
/// library's), from the one list the installed .pc files are written with.
pub fn system_libs() -> Vec<String> {
    let list = std::fs::read_to_string(manifest().join("pkgconfig/native-static-libs"))
        .expect("bindings/c/pkgconfig/native-static-libs");
    list.split_whitespace().map(str::to_string).collect()
}

pub fn manifest() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// target/<profile>/deps: where cargo put this test build's libtidings.a
/// (only `cargo build` copies it up to target/<profile>).
pub fn deps_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary");
    exe.parent().expect("target/<profile>/deps").to_path_buf()
}

/// Compiles a C program against libtidings (with the sanitizers when
/// `TIDINGS_C_CHECK=asan`); returns the executable.
pub fn compile(name: &str, source: &Path) -> PathBuf {
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
    cc.arg(deps_dir().join("libtidings.a")).args(system_libs());
    let status = cc.status().expect("gcc runs");
    assert!(status.success(), "{name}: compiling failed");
    out
}

/// How to run a compiled program: under valgrind when
/// `TIDINGS_C_CHECK=valgrind` (0 errors, 0 leaks, or it fails).
pub fn runner(program: &Path) -> Command {
    if std::env::var("TIDINGS_C_CHECK").is_ok_and(|c| c == "valgrind") {
        let mut v = Command::new("valgrind");
        v.args([
            "--quiet",
            "--error-exitcode=1",
            "--leak-check=full",
            "--errors-for-leak-kinds=definite,indirect",
        ])
        .arg(program);
        v
    } else {
        Command::new(program)
    }
}
