//! Running the benches and collecting what they measured.

use serde_json::Value;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A figure that may not have been measured in this run, and why.
#[derive(Clone, Debug)]
pub(crate) enum Measured<T> {
    Yes(T),
    /// Not measurable yet (the reason).
    No(String),
    /// The measurement ran and failed (the error).
    Failed(String),
}

impl<T> Default for Measured<T> {
    fn default() -> Self {
        Measured::No("not run".into())
    }
}

/// One step of the run.
#[derive(Clone, Debug)]
pub(crate) struct Step {
    pub(crate) name: String,
    pub(crate) seconds: f64,
    pub(crate) error: Option<String>,
}

/// What the machine is, as the report states it.
#[derive(Clone, Debug, Default)]
pub(crate) struct Machine {
    pub(crate) cpu: String,
    pub(crate) cores: usize,
    pub(crate) os: String,
    pub(crate) rustc: String,
    pub(crate) date: String,
    pub(crate) commit: String,
    pub(crate) load_start: String,
    pub(crate) load_end: String,
}

/// One run of the reference server's load example.
#[derive(Debug)]
pub(crate) struct LoadRun {
    pub(crate) label: &'static str,
    /// The example's arguments, as the report shows them.
    pub(crate) command: String,
    pub(crate) result: Measured<Value>,
}

/// The load example's runs for the push-at-scale section, and the load
/// average around them.
#[derive(Debug, Default)]
pub(crate) struct LoadRuns {
    pub(crate) runs: Vec<LoadRun>,
    pub(crate) load_start: String,
    pub(crate) load_end: String,
}

/// Everything one run measured.
#[derive(Debug, Default)]
pub(crate) struct Results {
    pub(crate) machine: Machine,
    pub(crate) steps: Vec<Step>,
    /// Median time in nanoseconds, by criterion's full benchmark id.
    pub(crate) criterion: BTreeMap<String, f64>,
    /// Standard output of each criterion bench, for the lines they print.
    pub(crate) outputs: BTreeMap<String, String>,
    /// Interleaved medians of `ab_ratio`, by name.
    pub(crate) ab_ratio: BTreeMap<String, f64>,
    pub(crate) wire: Measured<Value>,
    pub(crate) server: Measured<Value>,
    /// Push at scale on both stores (issue 16).
    pub(crate) load: LoadRuns,
    /// The WASM module's file name, size, and gzipped size.
    pub(crate) wasm: Measured<(String, u64, u64)>,
    /// The client's apply of the native sync bench's 1,000-mail page in
    /// WASM under Node (`bindings/wasm/bench/apply.mjs`): its JSON line.
    pub(crate) wasm_apply: Measured<Value>,
    pub(crate) seconds: f64,
}

/// Cargo's target directory, as cargo itself resolves it from the
/// environment (a `CARGO_TARGET_DIR` relative path is relative to the root).
pub(crate) fn target_dir(root: &Path) -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => root.join(dir),
        None => root.join("target"),
    }
}

fn stdout_of(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program).args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// The one-minute load average, as /proc/loadavg gives it.
pub(crate) fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "unknown".into())
}

/// `YYYY-MM-DD HH:MM UTC` for now, from the system clock.
fn utc_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    // Howard Hinnant's civil_from_days.
    let z = secs.div_euclid(86_400) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    let s = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        s / 3600,
        s / 60 % 60
    )
}

/// The machine the run is on.
pub(crate) fn machine(root: &Path) -> Machine {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let commit = {
        let dir = root.display().to_string();
        let head = stdout_of("git", &["-C", &dir, "rev-parse", "--short", "HEAD"])
            .unwrap_or_else(|| "unknown".into());
        let dirty = stdout_of(
            "git",
            &["-C", &dir, "status", "--porcelain", "--", ".", ":!docs"],
        )
        .is_some_and(|s| !s.is_empty());
        if dirty {
            format!("{head} with uncommitted changes")
        } else {
            head
        }
    };
    Machine {
        cpu,
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        os: stdout_of("uname", &["-sr"]).unwrap_or_else(|| std::env::consts::OS.into()),
        rustc: stdout_of("rustc", &["-V"]).unwrap_or_else(|| "unknown rustc".into()),
        date: utc_now(),
        commit,
        load_start: load_average(),
        load_end: String::new(),
    }
}

/// Runs cargo from the workspace root, echoing its output as it comes and
/// returning its standard output.
/// Runs `program` from the repository root and returns its standard output
/// (echoed); its standard error passes through.
pub(crate) fn capture(program: &str, args: &[&str]) -> Result<String, String> {
    println!("$ {program} {}", args.join(" "));
    let out = Command::new(program)
        .args(args)
        .current_dir(crate::run::root())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("could not start {program}: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    print!("{text}");
    if out.status.success() {
        Ok(text)
    } else {
        Err(format!("{program} failed ({})", out.status))
    }
}

pub(crate) fn cargo_capture(args: &[&str], env: &[(&str, &str)]) -> Result<String, String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    println!("$ cargo {}", args.join(" "));
    let mut child = Command::new(&cargo)
        .args(args)
        .envs(env.iter().copied())
        .current_dir(crate::run::root())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("could not start cargo: {e}"))?;
    let mut captured = String::new();
    if let Some(stdout) = child.stdout.take() {
        for line in BufReader::new(stdout).lines() {
            let line = line.map_err(|e| format!("reading cargo's output: {e}"))?;
            // The wire report is one long JSON line: keep it, don't echo it.
            if !line.starts_with('{') {
                println!("{line}");
            }
            captured.push_str(&line);
            captured.push('\n');
        }
    }
    let status = child
        .wait()
        .map_err(|e| format!("waiting for cargo: {e}"))?;
    if status.success() {
        Ok(captured)
    } else {
        Err(format!("cargo {} failed ({status})", args.join(" ")))
    }
}

/// The last line of `output` that is a JSON object.
pub(crate) fn last_json(output: &str) -> Result<Value, String> {
    let line = output
        .lines()
        .rev()
        .find(|l| l.trim_start().starts_with('{'))
        .ok_or("no JSON object in the output")?;
    serde_json::from_str(line).map_err(|e| format!("malformed JSON: {e}"))
}

/// `name  median 0.958  (quartiles …)` lines of the ab_ratio bench.
pub(crate) fn ab_ratios(output: &str) -> BTreeMap<String, f64> {
    output
        .lines()
        .filter_map(|line| {
            let (name, rest) = line.split_once(" median ")?;
            let value = rest.split_whitespace().next()?.parse().ok()?;
            Some((name.trim().to_string(), value))
        })
        .collect()
}

fn walk(dir: &Path, out: &mut BTreeMap<String, f64>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.file_name().is_some_and(|n| n == "new") {
            let read = |name: &str| -> Option<Value> {
                serde_json::from_str(&std::fs::read_to_string(path.join(name)).ok()?).ok()
            };
            if let (Some(id), Some(estimates)) = (read("benchmark.json"), read("estimates.json")) {
                let median = estimates["median"]["point_estimate"].as_f64();
                if let (Some(id), Some(median)) = (id["full_id"].as_str(), median) {
                    out.insert(id.to_string(), median);
                }
            }
        } else if path.is_dir() {
            walk(&path, out);
        }
    }
}

/// Every benchmark's median (ns) under criterion's output directory.
pub(crate) fn criterion_medians(home: &Path) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    walk(home, &mut out);
    out
}

/// The WASM package's module, if it is built: its size and gzip -9 size.
pub(crate) fn wasm_size(root: &Path) -> Measured<(String, u64, u64)> {
    let pkg = root.join("bindings/wasm/pkg");
    let wasm = std::fs::read_dir(&pkg).ok().and_then(|entries| {
        let mut found: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "wasm"))
            .collect();
        found.sort();
        found.into_iter().next()
    });
    let Some(wasm) = wasm else {
        return Measured::No(
            "bindings/wasm/pkg holds no .wasm (build it with the WASM issue's command)".into(),
        );
    };
    let name = wasm
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into());
    let raw = std::fs::metadata(&wasm).map_or(0, |m| m.len());
    match Command::new("gzip").args(["-9", "-c"]).arg(&wasm).output() {
        Ok(out) if out.status.success() => Measured::Yes((name, raw, out.stdout.len() as u64)),
        Ok(out) => Measured::Failed(format!("gzip failed ({})", out.status)),
        Err(e) => Measured::Failed(format!("could not run gzip: {e}")),
    }
}

/// The first number on the line of `output` that starts with `prefix`,
/// after it.
pub(crate) fn number_after(output: &str, prefix: &str, nth: usize) -> Option<f64> {
    let line = output.lines().find(|l| l.starts_with(prefix))?;
    line[prefix.len()..]
        .split(|c: char| !(c.is_ascii_digit() || c == '.'))
        .filter(|s| !s.is_empty() && s.chars().any(|c| c.is_ascii_digit()))
        .nth(nth)?
        .trim_matches('.')
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_benches_lines() {
        let out = "ik_handshake: tidings / snow             median 0.958  (quartiles 0.950 .. 1.212)\n\
                   transport 1024 B: tidings / aes-gcm      median 1.016  (quartiles 0.998 .. 1.405)\n";
        let ratios = ab_ratios(out);
        assert_eq!(ratios["ik_handshake: tidings / snow"], 0.958);
        assert_eq!(ratios["transport 1024 B: tidings / aes-gcm"], 1.016);
        let line = "bytes per real mail item over 48 items: protobuf 178, packed 129 (no dictionary), packed 118 (dictionary v1): dictionary saves 8.5%";
        assert_eq!(
            number_after(line, "bytes per real mail item", 0),
            Some(48.0)
        );
        assert_eq!(
            number_after(line, "bytes per real mail item", 2),
            Some(129.0)
        );
        assert_eq!(
            number_after(line, "bytes per real mail item", 3),
            Some(118.0)
        );
        let line =
            "server memory per idle connected session: 824 bytes (sessions and store grew 1 bytes)";
        assert_eq!(
            number_after(line, "server memory per idle connected session:", 0),
            Some(824.0)
        );
    }

    #[test]
    fn finds_the_last_json_object() {
        let out = "Running...\n{\"a\":1}\nnoise\n{\"b\":2}\n";
        assert_eq!(last_json(out).unwrap()["b"], 2);
        assert!(last_json("nothing").is_err());
    }
}
