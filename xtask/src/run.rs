//! Running commands from the workspace root, echoing them first.

use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

/// The workspace root (the parent of `xtask/`).
pub(crate) fn root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map(PathBuf::from).unwrap_or(manifest)
}

/// Runs `program args` in `dir` with extra environment, failing on a non-zero exit.
///
/// Its output is passed through as it comes; on failure, the lines that say
/// why (see [`telling`]) are repeated in the error, so that the summary at
/// the end of a long log still shows the cause.
pub(crate) fn command_in(
    dir: &std::path::Path,
    program: &str,
    args: &[&str],
    env: &[(&str, &str)],
) -> Result<(), String> {
    let shown: Vec<String> = env.iter().map(|(k, v)| format!("{k}={v}")).collect();
    println!("$ {} {program} {}", shown.join(" "), args.join(" "));
    let mut child = Command::new(program)
        .args(args)
        .envs(env.iter().copied())
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("could not start {program}: {e}"))?;
    let kept = Arc::new(Mutex::new(Vec::new()));
    let (done, copied) = mpsc::channel();
    let copiers = [
        child
            .stdout
            .take()
            .map(|o| pass_through(o, false, &kept, &done)),
        child
            .stderr
            .take()
            .map(|e| pass_through(e, true, &kept, &done)),
    ]
    .into_iter()
    .flatten()
    .count();
    let status = child
        .wait()
        .map_err(|e| format!("waiting for {program}: {e}"))?;
    // A process it left running may hold the pipes open: wait for the rest
    // of the output a little, not for that process.
    let deadline = Instant::now() + Duration::from_secs(5);
    for _ in 0..copiers {
        let left = deadline.saturating_duration_since(Instant::now());
        if copied.recv_timeout(left).is_err() {
            break;
        }
    }
    if status.success() {
        return Ok(());
    }
    let mut message = format!("{program} {} failed ({status})", args.join(" "));
    for line in kept.lock().map(|k| k.clone()).unwrap_or_default() {
        message.push_str("\n      ");
        message.push_str(&line);
    }
    Err(message)
}

/// At most this many telling lines are kept from one command.
const KEPT_LINES: usize = 16;

/// Copies a child's stream to ours line by line, keeping the telling ones.
fn pass_through(
    stream: impl Read + Send + 'static,
    to_stderr: bool,
    kept: &Arc<Mutex<Vec<String>>>,
    done: &mpsc::Sender<()>,
) {
    let (kept, done) = (Arc::clone(kept), done.clone());
    std::thread::spawn(move || {
        for line in BufReader::new(stream).split(b'\n').map_while(Result::ok) {
            let line = String::from_utf8_lossy(&line).into_owned();
            if to_stderr {
                eprintln!("{line}");
            } else {
                println!("{line}");
            }
            if telling(&line)
                && let Ok(mut kept) = kept.lock()
                && kept.len() < KEPT_LINES
            {
                kept.push(line.trim_end().to_string());
            }
        }
        let _ = done.send(());
    });
}

/// Whether a line of output says why a command failed: compiler and cargo
/// errors, panics, failed tests, and the system running out of something.
fn telling(line: &str) -> bool {
    let line = line.trim_start();
    line.starts_with("error")
        || line.contains("panicked at")
        || line.starts_with("test ") && line.ends_with("FAILED")
        || line.contains("No space left")
        || line.contains("Cannot allocate memory")
        || line.contains("SIGKILL")
        || line.starts_with("==") && line.contains("ERROR")
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

/// A binary or example of the workspace as `cargo test --workspace
/// --all-features` builds it (its bins for the integration tests, its
/// examples to check they compile), so that `cargo xtask test` reuses that
/// build. Asking `cargo test --no-run` for it, not `cargo build`, keeps the
/// very same units: `cargo build --bins --examples` chose other profiles for
/// the proc-macro crates, and every crate using a derive was compiled again
/// (five minutes of each CI run). `name` is relative to `target/debug/`,
/// e.g. `examples/load`.
pub(crate) fn test_build_binary(name: &str) -> Result<PathBuf, String> {
    cargo(
        &[
            "test",
            "--quiet",
            "--workspace",
            "--all-features",
            "--no-run",
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_command_repeats_why_it_failed() {
        let script = "echo compiling; echo 'error: linking failed' >&2; \
                      echo \"thread 'main' panicked at src/x.rs:1:1\"; exit 3";
        let why = command_in(&root(), "sh", &["-c", script], &[]).unwrap_err();
        assert!(why.contains("exit status: 3"), "{why}");
        assert!(why.contains("error: linking failed"), "{why}");
        assert!(why.contains("panicked at src/x.rs"), "{why}");
        assert!(
            why.lines().skip(1).all(|l| l.trim() != "compiling"),
            "{why}"
        );
    }

    #[test]
    fn a_process_left_running_does_not_hold_the_command() {
        let started = Instant::now();
        command_in(&root(), "sh", &["-c", "sleep 30 & exit 0"], &[]).unwrap();
        assert!(started.elapsed() < Duration::from_secs(20));
    }
}
