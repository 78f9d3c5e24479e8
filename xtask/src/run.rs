//! Running commands from the workspace root, echoing them first.

use std::path::PathBuf;
use std::process::Command;

/// The workspace root (the parent of `xtask/`).
pub(crate) fn root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map(PathBuf::from).unwrap_or(manifest)
}

/// Runs `program args` in `dir` with extra environment, failing on a non-zero exit.
pub(crate) fn command_in(
    dir: &std::path::Path,
    program: &str,
    args: &[&str],
    env: &[(&str, &str)],
) -> Result<(), String> {
    let shown: Vec<String> = env.iter().map(|(k, v)| format!("{k}={v}")).collect();
    println!("$ {} {program} {}", shown.join(" "), args.join(" "));
    let status = Command::new(program)
        .args(args)
        .envs(env.iter().copied())
        .current_dir(dir)
        .status()
        .map_err(|e| format!("could not start {program}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{program} {} failed ({status})", args.join(" ")))
    }
}

/// Runs cargo from the workspace root.
pub(crate) fn cargo(args: &[&str], env: &[(&str, &str)]) -> Result<(), String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    command_in(&root(), &cargo, args, env)
}

/// The target directory cargo builds into (`CARGO_TARGET_DIR` or `target/`).
pub(crate) fn cargo_target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => root().join(dir),
        None => root().join("target"),
    }
}

/// A binary or example of the workspace built with the feature set of
/// `cargo test --workspace --all-features`, so that `cargo xtask test` reuses
/// that build instead of compiling the crates again for another feature set.
/// `name` is relative to `target/debug/`, e.g. `examples/load`.
pub(crate) fn test_build_binary(name: &str) -> Result<PathBuf, String> {
    cargo(
        &[
            "build",
            "--quiet",
            "--workspace",
            "--all-features",
            "--bins",
            "--examples",
        ],
        &[],
    )?;
    Ok(cargo_target_dir().join("debug").join(name))
}

/// Whether `program args` runs and prints `expected` somewhere in its stdout.
pub(crate) fn prints(program: &str, args: &[&str], expected: &str) -> bool {
    Command::new(program)
        .args(args)
        .output()
        .map(|out| out.status.success() && String::from_utf8_lossy(&out.stdout).contains(expected))
        .unwrap_or(false)
}
