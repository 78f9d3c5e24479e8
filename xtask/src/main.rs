//! `cargo xtask`: the project's own automation.
//!
//! - `cargo xtask demo [--keep-running]`: the main job, a live demonstration
//!   against the reference server.
//! - `cargo xtask test`: every check, installing what it needs first.
//! - `cargo xtask install-c [--prefix DIR] …`: libtidings, its header and
//!   pkg-config files installed into a prefix.
//! - `cargo xtask wasm [--with-tests]`: the npm package `tidings`
//!   (bindings/wasm/pkg/), and with `--with-tests` the test-only package.
//! - `cargo xtask fuzz [TARGET] [--seconds N]`: run fuzz targets.
//! - `cargo xtask bench [--devices N]`: every benchmark, then
//!   `docs/performance.md` and `docs/performance-day.svg`; with `--load`,
//!   only the push-at-scale runs and their section of `docs/performance.md`.

mod bench;
mod c_install;
mod fuzz;
mod install;
mod mail_corpus;
mod run;
mod test;
mod wasm;

use std::process::ExitCode;

const USAGE: &str = "usage: cargo xtask <demo [--keep-running] | test [--fuzz-seconds N] | \
                     install-c [--prefix DIR] | wasm [--with-tests] | fuzz [TARGET] [--seconds N] | \
                     bench [--load] [--devices N]>";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("demo") => demo(&args[1..]),
        Some("test") => test::run(&args[1..]),
        Some("fuzz") => fuzz::run_cli(&args[1..]),
        Some("bench") => bench::run(&args[1..]),
        Some("install-c") => c_install::run_cli(&args[1..]),
        Some("wasm") => wasm::run_cli(&args[1..]),
        _ => Err(USAGE.to_string()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Builds the server and the demo, then runs the demo, which starts the
/// server as its own process (`--keep-running` leaves it up).
pub(crate) fn demo(args: &[String]) -> Result<(), String> {
    run::cargo(
        &[
            "build",
            "--quiet",
            "-p",
            "tidings-server",
            "-p",
            "tidings-examples",
        ],
        &[],
    )?;
    let mut demo = vec![
        "run",
        "--quiet",
        "-p",
        "tidings-examples",
        "--bin",
        "demo",
        "--",
    ];
    demo.extend(args.iter().map(String::as_str));
    run::cargo(&demo, &[])
}
