//! `cargo xtask`: the project's own automation.
//!
//! - `cargo xtask demo`: the main job, a live demonstration.
//! - `cargo xtask test`: every check, installing what it needs first.
//! - `cargo xtask wasm`: the npm package `tidings` (bindings/wasm/pkg/).
//! - `cargo xtask fuzz [TARGET] [--seconds N]`: run fuzz targets.

mod fuzz;
mod install;
mod run;
mod test;
mod wasm;

use std::process::ExitCode;

const USAGE: &str =
    "usage: cargo xtask <demo | test [--fuzz-seconds N] | wasm | fuzz [TARGET] [--seconds N]>";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("demo") => demo(),
        Some("test") => test::run(&args[1..]),
        Some("fuzz") => fuzz::run_cli(&args[1..]),
        Some("wasm") => wasm::build(),
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

fn demo() -> Result<(), String> {
    run::cargo(
        &["run", "--quiet", "-p", "tidings-examples", "--bin", "demo"],
        &[],
    )
}
