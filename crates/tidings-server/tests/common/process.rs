//! `tidings-server` run as a process of its own, as operators run it.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use tidings_server::activation::Activation;

/// A server process, killed and reaped when dropped (a failing test must
/// not leave one behind).
pub struct Running {
    pub child: Child,
    pub ready: serde_json::Value,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `tidings-server --db DB COMMAND` on loopback ports of its own
/// (`serve` or `demo`), and waits (bounded) for its ready file, written in
/// `dir` under `name`.
pub fn start(db: &str, dir: &Path, command: &str, name: &str) -> Running {
    start_with(db, dir, command, name, &[])
}

/// [`start`] with more arguments for COMMAND (`--upstream CONFIG`).
pub fn start_with(
    db: &str,
    dir: &Path,
    command: &str,
    name: &str,
    more: &[&std::ffi::OsStr],
) -> Running {
    start_with_env(db, dir, command, name, more, &[])
}

/// [`start_with`] and environment variables (`TIDINGS_TEST_CRASH`).
pub fn start_with_env(
    db: &str,
    dir: &Path,
    command: &str,
    name: &str,
    more: &[&std::ffi::OsStr],
    env: &[(&str, &str)],
) -> Running {
    let ready_file = dir.join(format!("{name}-ready.json"));
    let _ = std::fs::remove_file(&ready_file);
    let child = Command::new(env!("CARGO_BIN_EXE_tidings-server"))
        .args(["--db", db, command])
        .args(["--tcp", "127.0.0.1:0", "--http", "127.0.0.1:0"])
        .args(more)
        .arg("--ready-file")
        .arg(&ready_file)
        .env(
            "RUST_LOG",
            std::env::var("RUST_LOG").unwrap_or("warn".into()),
        )
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .spawn()
        .expect("server starts");
    // Owned at once: dropping it (on a panic too) kills and reaps the server.
    let mut running = Running {
        child,
        ready: serde_json::Value::Null,
    };
    for _ in 0..300 {
        if let Ok(text) = std::fs::read_to_string(&ready_file) {
            running.ready = serde_json::from_str(&text).expect("ready file is JSON");
            return running;
        }
        if let Ok(Some(status)) = running.child.try_wait() {
            panic!("the server exited: {status}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("server not ready in 30 s");
}

impl Running {
    /// Its TCP address.
    pub fn tcp(&self) -> String {
        self.ready["tcp"].as_str().expect("tcp").to_string()
    }

    /// The activation the demo made for `email`.
    pub fn activation(&self, email: &str) -> Activation {
        Activation::parse(self.ready["activations"][email].as_str().expect("payload"))
            .expect("payload parses")
    }

    /// Stops it with SIGTERM and waits (bounded); true if it exited 0.
    pub async fn terminate(&mut self) -> bool {
        let pid = self.child.id().to_string();
        let status = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill");
        assert!(status.success());
        for _ in 0..300 {
            if let Some(exit) = self.child.try_wait().expect("wait") {
                return exit.success();
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("did not stop within 30 s");
    }
}

/// Runs an admin command of `tidings-server` on `db`; its standard output.
pub fn admin_command(db: &str, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_tidings-server"))
        .args(["--db", db])
        .args(args)
        .output()
        .expect("admin command runs");
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
