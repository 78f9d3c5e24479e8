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

/// The Python `icalendar` package, whose test calendars (real data we did not
/// write) the iCalendar round-trip test reads.
pub(crate) const ICALENDAR_VERSION: &str = "7.3.2";

/// Installs the pinned `icalendar` package for `python3` unless it is there.
pub(crate) fn python_icalendar() -> Result<(), String> {
    let probe = ["-c", "import icalendar; print(icalendar.__version__)"];
    if run::prints("python3", &probe, ICALENDAR_VERSION) {
        return Ok(());
    }
    println!("installing icalendar {ICALENDAR_VERSION} for python3 (once per machine)");
    let spec = format!("icalendar=={ICALENDAR_VERSION}");
    run::command_in(
        &run::root(),
        "python3",
        &["-m", "pip", "install", "--quiet", &spec],
        &[],
    )
}

/// valgrind, for the C tests; from the system's package manager when missing
/// (the distribution's version: it must match the system's libc).
pub(crate) fn valgrind() -> Result<(), String> {
    if run::prints("valgrind", &["--version"], "valgrind") {
        return Ok(());
    }
    println!("installing valgrind with apt-get (once per machine)");
    run::command_in(&run::root(), "apt-get", &["update", "-qq"], &[])?;
    run::command_in(
        &run::root(),
        "apt-get",
        &[
            "install",
            "-y",
            "-qq",
            "--no-install-recommends",
            "valgrind",
        ],
        &[("DEBIAN_FRONTEND", "noninteractive")],
    )
}
