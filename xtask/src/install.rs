//! Installing the tools the tests need, idempotently and at pinned versions.

use crate::run;

/// cargo-fuzz, pinned; it runs on stable with `RUSTC_BOOTSTRAP=1`.
pub(crate) const CARGO_FUZZ_VERSION: &str = "0.13.2";

/// Installs a cargo subcommand at an exact version unless it is already there.
pub(crate) fn cargo_tool(krate: &str, binary: &str, version: &str) -> Result<(), String> {
    if run::prints(binary, &["--version"], version) {
        return Ok(());
    }
    println!("installing {krate} {version} (once per machine)");
    run::cargo(&["install", krate, "--version", version], &[])
}

/// cargo-fuzz, found as `cargo fuzz`.
pub(crate) fn cargo_fuzz() -> Result<(), String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    if run::prints(&cargo, &["fuzz", "--version"], CARGO_FUZZ_VERSION) {
        return Ok(());
    }
    cargo_tool("cargo-fuzz", "cargo-fuzz", CARGO_FUZZ_VERSION)
}
