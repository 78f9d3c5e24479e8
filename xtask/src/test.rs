//! `cargo xtask test`: every check the project has, then one summary line.

use crate::{c_install, fuzz, install, run, wasm};
use std::time::Instant;

/// Devices connected at once in the server load test (issue 6 asks 10,000).
const LOAD_DEVICES: u32 = 10_000;

/// Seconds each fuzz target runs inside the test command (CI budget).
const DEFAULT_FUZZ_SECONDS: u64 = 10;

struct Step {
    name: String,
    result: Result<(), String>,
    seconds: f64,
}

pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let fuzz_seconds = match args {
        [] => DEFAULT_FUZZ_SECONDS,
        [flag, n] if flag == "--fuzz-seconds" => n
            .parse()
            .map_err(|_| "--fuzz-seconds takes a whole number")?,
        _ => return Err("usage: cargo xtask test [--fuzz-seconds N]".to_string()),
    };
    let started = Instant::now();
    let mut steps = Vec::new();
    // Runs one step and records it; answers whether it passed.
    let mut step = |name: &str, f: &dyn Fn() -> Result<(), String>| -> bool {
        println!("\n=== {name}");
        let t = Instant::now();
        let result = f();
        if let Err(e) = &result {
            println!("--- {name} FAILED: {e}");
        }
        let passed = result.is_ok();
        steps.push(Step {
            name: name.to_string(),
            result,
            seconds: t.elapsed().as_secs_f64(),
        });
        passed
    };

    // Packages and test data download while the first builds compute; the
    // step that needs them waits for them.
    let downloads = std::thread::spawn(install::downloads);
    step("install cargo tools (cargo-fuzz, wasm-bindgen)", &|| {
        install::cargo_fuzz()?;
        install::wasm_compilers()
    });
    step("format", &|| {
        run::cargo(&["fmt", "--all", "--", "--check"], &[])
    });
    step("clippy", &|| {
        run::cargo(
            &[
                "clippy",
                "--workspace",
                "--all-targets",
                "--all-features",
                "--",
                "-D",
                "warnings",
            ],
            &[],
        )
    });
    step("docs", &|| {
        run::cargo(
            &["doc", "--workspace", "--no-deps", "--all-features"],
            &[("RUSTDOCFLAGS", "-Dwarnings")],
        )
    });
    let downloaded = downloads
        .join()
        .unwrap_or_else(|_| Err("the download thread panicked".to_string()));
    step("install test packages and data (apt, npm, pip)", &|| {
        downloaded.clone()
    });
    step("rust tests", &|| {
        run::cargo(&["test", "--workspace", "--all-features"], &[])
    });
    // The steps below run what `rust tests` built (its feature set), so
    // they compile nothing new.
    step("the demo runs to its end", &|| {
        let demo = run::test_build_binary("demo")?;
        run::command_in(&run::root(), &path(&demo)?, &[], &[])
    });
    step(
        &format!("server load test ({LOAD_DEVICES} devices)"),
        &|| {
            let load = run::test_build_binary("examples/load")?;
            let devices = LOAD_DEVICES.to_string();
            run::command_in(
                &run::root(),
                &path(&load)?,
                &["--devices", &devices, "--mails", "20"],
                &[],
            )
        },
    );
    // The C programs of bindings/c, checked for memory errors and leaks.
    for check in ["valgrind", "asan"] {
        step(&format!("C tests under {check}"), &|| {
            run::cargo(
                &[
                    "test",
                    "--workspace",
                    "--all-features",
                    "--test",
                    "c_programs",
                    "--test",
                    "handset_example",
                ],
                &[("TIDINGS_C_CHECK", check)],
            )
        });
    }
    step(
        "C library installed, used through pkg-config",
        &c_install::check_installed,
    );
    // The npm package: built, then tested in Node (and in Chromium against
    // the reference server).
    step("wasm: build the npm package and the test package", &|| {
        wasm::build(true)
    });
    step("wasm: JS tests in Node", &wasm::node_tests);
    step("wasm: TypeScript types", &wasm::type_check);
    step(
        "wasm: reference server over WebSocket and in Chromium",
        &wasm::server_tests,
    );
    step(
        "npm package as its users get it: ws, tsc, esbuild, Vite",
        &wasm::consumer_tests,
    );
    // Without this build each run would only build again and fail again.
    let fuzz_built = step("fuzz: build every target", &fuzz::build_all);
    for target in fuzz::targets()? {
        step(&format!("fuzz {target} ({fuzz_seconds}s)"), &|| {
            if !fuzz_built {
                return Err("not run: the fuzz build failed".to_string());
            }
            fuzz::run_target(&target, fuzz_seconds)
        });
    }

    println!("\n=== summary");
    for s in &steps {
        let mark = if s.result.is_ok() { "ok    " } else { "FAILED" };
        println!("{mark} {:<40} {:>7.1}s", s.name, s.seconds);
    }
    // Why each step failed, again, where the end of a long log shows it.
    for s in &steps {
        if let Err(why) = &s.result {
            println!("\n--- {}: {why}", s.name);
        }
    }
    let failed = steps.iter().filter(|s| s.result.is_err()).count();
    let total = started.elapsed().as_secs_f64();
    if failed == 0 {
        println!(
            "xtask test: all {} steps passed in {total:.0}s",
            steps.len()
        );
        Ok(())
    } else {
        Err(format!(
            "xtask test: {failed} of {} steps FAILED in {total:.0}s",
            steps.len()
        ))
    }
}

fn path(p: &std::path::Path) -> Result<String, String> {
    p.to_str()
        .map(str::to_string)
        .ok_or_else(|| format!("{} is not UTF-8", p.display()))
}
