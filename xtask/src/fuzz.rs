//! Running the cargo-fuzz targets on stable.

use crate::{install, run};

/// Every fuzz target, as named in `fuzz/Cargo.toml`.
pub(crate) fn targets() -> Result<Vec<String>, String> {
    let manifest = std::fs::read_to_string(run::root().join("fuzz/Cargo.toml"))
        .map_err(|e| format!("reading fuzz/Cargo.toml: {e}"))?;
    let mut names = Vec::new();
    let mut in_bin = false;
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_bin = line == "[[bin]]";
        } else if let (true, Some(value)) = (in_bin, line.strip_prefix("name = ")) {
            names.push(value.trim_matches('"').to_string());
        }
    }
    Ok(names)
}

/// `cargo fuzz` arguments shared by building and running, so that both use
/// one build. `-O` leaves debug assertions to `fuzz/Cargo.toml`'s release
/// profile, which turns them on for everything but mail-parser (whose
/// `debug_assert!(false)` on malformed MIME nesting guards a case it
/// recovers from in the release builds we ship). cargo-fuzz's own
/// `--debug-assertions` would set them for every crate through RUSTFLAGS.
const BUILD_FLAGS: &[&str] = &["-O"];

/// Builds every target at once (they share one dependency build).
pub(crate) fn build_all() -> Result<(), String> {
    install::cargo_fuzz()?;
    let mut args = vec!["fuzz", "build"];
    args.extend(BUILD_FLAGS);
    fuzz_command(&args)
}

fn fuzz_command(args: &[&str]) -> Result<(), String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let fuzz_dir = run::root().join("fuzz");
    run::command_in(&fuzz_dir, &cargo, args, &[("RUSTC_BOOTSTRAP", "1")])
}

/// Runs one target for `seconds`, failing on any crash.
pub(crate) fn run_target(target: &str, seconds: u64) -> Result<(), String> {
    install::cargo_fuzz()?;
    // libFuzzer resolves corpus paths from its own working directory: pass
    // absolute ones. New inputs go to corpus/ (ignored); seeds/ is committed.
    let fuzz_dir = run::root().join("fuzz");
    let corpus = fuzz_dir.join("corpus").join(target);
    let seeds = fuzz_dir.join("seeds").join(target);
    for dir in [&corpus, &seeds] {
        std::fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    }
    let (corpus, seeds) = (corpus.display().to_string(), seeds.display().to_string());
    let time = format!("-max_total_time={seconds}");
    let mut args = vec!["fuzz", "run"];
    args.extend(BUILD_FLAGS);
    args.extend([target, &corpus, &seeds, "--", &time, "-timeout=10"]);
    fuzz_command(&args)
}

/// `cargo xtask fuzz [TARGET] [--seconds N]`: one target, or all in turn.
pub(crate) fn run_cli(args: &[String]) -> Result<(), String> {
    let mut seconds = 60;
    let mut chosen = None;
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        match arg.as_str() {
            "--seconds" => {
                seconds = rest
                    .next()
                    .and_then(|s| s.parse().ok())
                    .ok_or("--seconds takes a whole number")?;
            }
            name => chosen = Some(name.to_string()),
        }
    }
    let all = targets()?;
    let selected: Vec<String> = match chosen {
        Some(name) if all.contains(&name) => vec![name],
        Some(name) => {
            return Err(format!(
                "no fuzz target {name}; targets: {}",
                all.join(", ")
            ));
        }
        None => all,
    };
    selected.iter().try_for_each(|t| run_target(t, seconds))
}
