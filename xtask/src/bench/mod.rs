//! `cargo xtask bench`: every benchmark, then `docs/performance.md` and
//! `docs/performance-day.svg` from what this run measured.
//!
//! Steps: build the benches; run the criterion benches with short warm-up
//! and measurement times (each benchmark's median lands in criterion's
//! `estimates.json`); run the interleaved A/B ratios and the wire report
//! (JSON on stdout); run the reference server's load test when the server
//! has one; read the WASM package's size when it is built; render.
//! A step that fails is reported in the document as failed, and makes the
//! command fail at the end, after the document is written.

mod measure;
mod plot;
mod report;

use crate::{install, run};
use measure::{LoadRun, LoadRuns, Measured, Results, Step};
use std::time::Instant;

/// Criterion's timing flags: short, so the whole run stays within 20
/// minutes on 2 cores; ratios come from the same run either way.
const CRITERION_ARGS: [&str; 5] = ["--warm-up-time", "1", "--measurement-time", "3", "--noplot"];

/// The criterion benches, in the order they run.
const CRITERION_BENCHES: [&str; 4] = ["compress", "crypto", "sync", "session"];

/// Devices the reference server's load test connects.
const DEFAULT_DEVICES: u32 = 10_000;

pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let usage = || "usage: cargo xtask bench [--load] [--devices N]".to_string();
    let (mut devices, mut load_only) = (DEFAULT_DEVICES, false);
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--load" => load_only = true,
            "--devices" => {
                let n = it.next().ok_or_else(usage)?;
                devices = n.parse().map_err(|_| "--devices takes a number")?;
            }
            _ => return Err(usage()),
        }
    }
    if load_only {
        return load_section_only(devices);
    }
    let started = Instant::now();
    let root = run::root();
    let criterion_home = measure::target_dir(&root)
        .join("tidings-bench")
        .join("criterion");
    // Only this run's results may reach the report.
    let _ = std::fs::remove_dir_all(&criterion_home);
    std::fs::create_dir_all(&criterion_home)
        .map_err(|e| format!("creating {}: {e}", criterion_home.display()))?;
    let home = criterion_home.display().to_string();
    // The sync bench leaves its 1,000-mail page here for the WASM apply.
    let page_file = criterion_home.with_file_name("page-1000-mails.bin");
    let page = page_file.display().to_string();
    let corpus = crate::mail_corpus::dir().display().to_string();
    let env = [
        ("CRITERION_HOME", home.as_str()),
        ("TIDINGS_BENCH_PAGE_OUT", page.as_str()),
        ("TIDINGS_MAIL_CORPUS", corpus.as_str()),
    ];

    let mut results = Results {
        machine: measure::machine(&root),
        ..Results::default()
    };
    let mut step = |name: &str, f: &mut dyn FnMut() -> Result<String, String>| {
        println!("\n=== bench: {name}");
        let t = Instant::now();
        let outcome = f();
        if let Err(e) = &outcome {
            println!("--- {name} FAILED: {e}");
        }
        let seconds = t.elapsed().as_secs_f64();
        results.steps.push(Step {
            name: name.to_string(),
            seconds,
            error: outcome.as_ref().err().cloned(),
        });
        outcome.ok()
    };

    step("install test data", &mut || {
        install::python_icalendar()?;
        crate::mail_corpus::install().map(|()| String::new())
    });
    step("build the benches", &mut || {
        measure::cargo_capture(&["bench", "-p", "tidings-benches", "--no-run"], &env)
    });
    let mut outputs = Vec::new();
    for bench in CRITERION_BENCHES {
        let mut args = vec!["bench", "-p", "tidings-benches", "--bench", bench, "--"];
        args.extend(CRITERION_ARGS);
        if let Some(out) = step(bench, &mut || measure::cargo_capture(&args, &env)) {
            outputs.push((bench, out));
        }
    }
    let ab = step("ab_ratio (interleaved)", &mut || {
        measure::cargo_capture(
            &["bench", "-p", "tidings-benches", "--bench", "ab_ratio"],
            &env,
        )
    });
    let wire = step("wire_report", &mut || {
        measure::cargo_capture(
            &["bench", "-p", "tidings-benches", "--bench", "wire_report"],
            &env,
        )
    });
    let wasm_apply = step("WASM apply (bench package, Node)", &mut || {
        let pkg = crate::wasm::build_bench_package()?;
        let script = root.join("bindings/wasm/bench/apply.mjs");
        measure::capture(
            "node",
            &[
                &script.display().to_string(),
                &pkg.display().to_string(),
                &page,
            ],
        )
    });
    // The push-at-scale runs; the first (SQLite) is also the reference
    // server's load test of earlier issues.
    let t = Instant::now();
    let load = load_runs(devices);
    let server = load
        .runs
        .first()
        .map_or_else(Measured::default, |run| run.result.clone());
    results.steps.push(Step {
        name: "push at scale (load example on both stores)".into(),
        seconds: t.elapsed().as_secs_f64(),
        error: load
            .runs
            .iter()
            .any(|r| matches!(r.result, Measured::Failed(_)))
            .then(|| "a load run failed; see its output".to_string()),
    });
    results.load = load;

    results.outputs = outputs
        .into_iter()
        .map(|(b, o)| (b.to_string(), o))
        .collect();
    results.ab_ratio = ab.map(|o| measure::ab_ratios(&o)).unwrap_or_default();
    results.wire = match wire.map(|o| measure::last_json(&o)) {
        Some(Ok(value)) => Measured::Yes(value),
        Some(Err(e)) => Measured::Failed(e),
        None => Measured::Failed("the wire report failed; see its output".into()),
    };
    results.server = server;
    results.wasm = measure::wasm_size(&root);
    results.wasm_apply = match wasm_apply.map(|o| measure::last_json(&o)) {
        Some(Ok(value)) => Measured::Yes(value),
        Some(Err(e)) => Measured::Failed(e),
        None => Measured::Failed("the WASM apply step failed; see its output".into()),
    };
    results.criterion = measure::criterion_medians(&criterion_home);
    results.machine.load_end = measure::load_average();
    results.seconds = started.elapsed().as_secs_f64();

    let docs = root.join("docs");
    let mut markdown = report::render(&results);
    // Figures measured by hand (the IMAP gateway's need a Dovecot) live in a
    // file of their own and are carried into the report unchanged.
    if let Ok(kept) = std::fs::read_to_string(docs.join("performance-gateway.md")) {
        markdown.push('\n');
        markdown.push_str(&kept);
    }
    let svg = match &results.wire {
        Measured::Yes(wire) => plot::day(&wire["day"]),
        _ => None,
    };
    std::fs::write(docs.join("performance.md"), markdown)
        .map_err(|e| format!("writing docs/performance.md: {e}"))?;
    if let Some(svg) = svg {
        std::fs::write(docs.join("performance-day.svg"), svg)
            .map_err(|e| format!("writing docs/performance-day.svg: {e}"))?;
    }
    println!(
        "\nxtask bench: wrote docs/performance.md and docs/performance-day.svg in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    let failed: Vec<&str> = results
        .steps
        .iter()
        .filter(|s| s.error.is_some())
        .map(|s| s.name.as_str())
        .collect();
    if failed.is_empty() {
        Ok(())
    } else {
        Err(format!("these steps failed: {}", failed.join(", ")))
    }
}

/// The load example's arguments for each run of the push-at-scale section.
const LOAD_RUNS: [(&str, &[&str]); 3] = [
    ("SQLite", &[]),
    ("PostgreSQL", &["--postgres"]),
    (
        "PostgreSQL, two processes",
        &["--postgres", "--processes", "2"],
    ),
];

/// One new mail, then a burst, to `devices` devices: on SQLite, and on
/// PostgreSQL with one and two server processes.
fn load_runs(devices: u32) -> LoadRuns {
    let devices = devices.to_string();
    let load_start = measure::load_average();
    let mut runs = Vec::new();
    for (label, extra) in LOAD_RUNS {
        let mut args = vec![
            "run",
            "--release",
            "-p",
            "tidings-server",
            "--example",
            "load",
            "--",
            "--devices",
            &devices,
        ];
        args.extend(extra);
        args.push("--json");
        println!("\n=== bench: push at scale, {label}");
        let result = match measure::cargo_capture(&args, &[]).map(|o| measure::last_json(&o)) {
            Ok(Ok(value)) => Measured::Yes(value),
            Ok(Err(e)) | Err(e) => Measured::Failed(e),
        };
        runs.push(LoadRun {
            label,
            command: format!("load --devices {devices} {}", extra.join(" "))
                .trim_end()
                .to_string(),
            result,
        });
    }
    LoadRuns {
        runs,
        load_start,
        load_end: measure::load_average(),
    }
}

/// `cargo xtask bench --load`: the push-at-scale runs only, rewriting their
/// section of `docs/performance.md`.
fn load_section_only(devices: u32) -> Result<(), String> {
    let load = load_runs(devices);
    let section = report::load::section(&load.runs, &load.load_start, &load.load_end);
    let path = run::root().join("docs/performance.md");
    let document = std::fs::read_to_string(&path).unwrap_or_default();
    std::fs::write(&path, report::load::splice(&document, &section))
        .map_err(|e| format!("writing docs/performance.md: {e}"))?;
    println!("\nxtask bench --load: rewrote the push-at-scale section of docs/performance.md");
    let failed: Vec<&str> = load
        .runs
        .iter()
        .filter(|r| matches!(r.result, Measured::Failed(_)))
        .map(|r| r.label)
        .collect();
    if failed.is_empty() {
        Ok(())
    } else {
        Err(format!("these load runs failed: {}", failed.join(", ")))
    }
}
