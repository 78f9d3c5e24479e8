//! A throwaway PostgreSQL for tests: Debian's binaries, a cluster in a
//! temporary directory listening on 127.0.0.1 only, stopped and removed when
//! the last user drops it (a panicking test included).
//!
//! PostgreSQL refuses to run as root; tests in CI do. As root, the cluster is
//! created and run as the unprivileged `postgres` user (its directory handed
//! to that user). `fsync` is off: the data is thrown away anyway.
//!
//! One cluster serves every test of a test binary that runs at the same
//! time ([`TestCluster::shared`]); each test gets a database of its own
//! ([`TestDatabase`]), copied from a template migrated once.
//!
//! ```no_run
//! use tidings_store_postgres::testing::TestDatabase;
//! let db = TestDatabase::create()?;
//! let store = db.store()?;
//! # Ok::<(), std::io::Error>(())
//! ```

use crate::PostgresStore;
use std::fs::File;
use std::io::{Error, Result};
use std::net::TcpListener;
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::{Duration, Instant};

/// The superuser the cluster is created with (trusted on loopback).
const USER: &str = "tidings";
/// How long the server may take to accept connections.
const START_TIMEOUT: Duration = Duration::from_secs(60);

fn error(message: String) -> Error {
    Error::other(message)
}

/// The directory of PostgreSQL's server binaries: `TIDINGS_PG_BIN`, or the
/// newest `/usr/lib/postgresql/<version>/bin` that has `initdb`.
pub fn binaries() -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os("TIDINGS_PG_BIN") {
        return Ok(dir.into());
    }
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .map_err(|e| error(format!("PostgreSQL is not installed (/usr/lib/postgresql: {e}); `cargo xtask test` installs it")))?
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let version = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, bin)| bin).ok_or_else(|| {
        error("no /usr/lib/postgresql/*/bin/initdb; `cargo xtask test` installs PostgreSQL".into())
    })
}

/// The uid and gid of `postgres` in /etc/passwd.
fn postgres_user() -> Result<(u32, u32)> {
    let passwd = std::fs::read_to_string("/etc/passwd")?;
    passwd
        .lines()
        .find_map(|line| {
            let fields: Vec<&str> = line.split(':').collect();
            match fields.as_slice() {
                ["postgres", _, uid, gid, ..] => Some((uid.parse().ok()?, gid.parse().ok()?)),
                _ => None,
            }
        })
        .ok_or_else(|| {
            error("running as root, and there is no `postgres` user to run PostgreSQL as".into())
        })
}

/// A running PostgreSQL cluster of its own.
#[derive(Debug)]
pub struct TestCluster {
    dir: tempfile::TempDir,
    bin: PathBuf,
    /// The user to run PostgreSQL's programs as, when we are root.
    run_as: Option<(u32, u32)>,
    port: u16,
    server: Mutex<Child>,
    databases: AtomicU64,
    /// Whether the migrated template database exists yet.
    template: Mutex<bool>,
}

/// A database migrated once, that test databases are copied from.
const TEMPLATE: &str = "tidings_template";

static SHARED: Mutex<Weak<TestCluster>> = Mutex::new(Weak::new());

impl TestCluster {
    /// The cluster the running tests share, started if none is running.
    pub fn shared() -> Result<Arc<Self>> {
        let mut shared = SHARED.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(cluster) = shared.upgrade() {
            return Ok(cluster);
        }
        let cluster = Arc::new(Self::start()?);
        *shared = Arc::downgrade(&cluster);
        Ok(cluster)
    }

    /// A new cluster: `initdb` into a temporary directory, then the server,
    /// waiting (bounded) until it accepts connections.
    pub fn start() -> Result<Self> {
        let bin = binaries()?;
        let dir = tempfile::Builder::new().prefix("tidings-pg").tempdir()?;
        let run_as = if std::fs::metadata(dir.path())?.uid() == 0 {
            let (uid, gid) = postgres_user()?;
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid))?;
            Some((uid, gid))
        } else {
            None
        };
        let data = dir.path().join("data");
        let log = dir.path().join("initdb.log");
        let output = File::create(&log)?;
        let status = Self::command(&bin, "initdb", run_as, dir.path())
            .args([
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
                "--no-instructions",
            ])
            .args(["-U", USER, "-D"])
            .arg(&data)
            .stdout(Stdio::from(output.try_clone()?))
            .stderr(Stdio::from(output))
            .status()?;
        if !status.success() {
            return Err(error(format!("initdb failed: {}", tail(&log))));
        }
        // A free port can be taken between our probe and the server's bind:
        // try a few.
        let mut last = None;
        for _ in 0..3 {
            match Self::run(&bin, run_as, dir.path(), &data) {
                Ok((port, server)) => {
                    return Ok(Self {
                        dir,
                        bin,
                        run_as,
                        port,
                        server: Mutex::new(server),
                        databases: AtomicU64::new(0),
                        template: Mutex::new(false),
                    });
                }
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| error("PostgreSQL did not start".into())))
    }

    fn command(bin: &Path, program: &str, run_as: Option<(u32, u32)>, cwd: &Path) -> Command {
        let mut command = Command::new(bin.join(program));
        command
            .current_dir(cwd)
            .env("LC_ALL", "C")
            .stdin(Stdio::null());
        if let Some((uid, gid)) = run_as {
            command.uid(uid).gid(gid);
        }
        command
    }

    fn run(
        bin: &Path,
        run_as: Option<(u32, u32)>,
        dir: &Path,
        data: &Path,
    ) -> Result<(u16, Child)> {
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let log = dir.join("postgres.log");
        let output = File::create(&log)?;
        let mut server = Self::command(bin, "postgres", run_as, dir)
            .arg("-D")
            .arg(data)
            .args(["-c", "listen_addresses=127.0.0.1", "-p", &port.to_string()])
            .arg("-c")
            .arg(format!("unix_socket_directories={}", dir.display()))
            .args(["-c", "fsync=off", "-c", "synchronous_commit=off"])
            .args(["-c", "full_page_writes=off", "-c", "max_connections=200"])
            .stdout(Stdio::from(output.try_clone()?))
            .stderr(Stdio::from(output))
            .spawn()?;
        let started = Instant::now();
        let url = url(port, "postgres");
        loop {
            if let Some(status) = server.try_wait()? {
                return Err(error(format!(
                    "PostgreSQL exited ({status}): {}",
                    tail(&log)
                )));
            }
            if postgres::Client::connect(&url, postgres::NoTls).is_ok() {
                return Ok((port, server));
            }
            if started.elapsed() > START_TIMEOUT {
                let _ = server.kill();
                let _ = server.wait();
                return Err(error(format!(
                    "PostgreSQL did not accept connections within {START_TIMEOUT:?}: {}",
                    tail(&log)
                )));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The port it listens on (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A connection string for database `name`.
    pub fn url(&self, name: &str) -> String {
        url(self.port, name)
    }

    /// Creates database `name`: a copy of the migrated template when
    /// `migrated`, else empty.
    fn create_database(&self, name: &str, migrated: bool) -> Result<()> {
        let template = if migrated {
            let mut made = self.template.lock().unwrap_or_else(PoisonError::into_inner);
            if !*made {
                self.admin()?
                    .batch_execute(&format!("CREATE DATABASE {TEMPLATE}"))
                    .map_err(|e| error(e.to_string()))?;
                // Migrated, and disconnected again: a template in use
                // cannot be copied.
                PostgresStore::connect(&self.url(TEMPLATE)).map_err(|e| error(e.to_string()))?;
                *made = true;
            }
            TEMPLATE
        } else {
            "template0"
        };
        // FILE_COPY: with fsync off, copying the files is several times
        // faster than logging every block (the property test: 29 s against
        // 85 s for 64 databases).
        self.admin()?
            .batch_execute(&format!(
                "CREATE DATABASE {name} TEMPLATE {template} STRATEGY FILE_COPY"
            ))
            .map_err(|e| error(e.to_string()))
    }

    /// A superuser connection to the maintenance database.
    pub fn admin(&self) -> Result<postgres::Client> {
        postgres::Client::connect(&self.url("postgres"), postgres::NoTls)
            .map_err(|e| error(e.to_string()))
    }
}

fn url(port: u16, database: &str) -> String {
    format!("host=127.0.0.1 port={port} user={USER} dbname={database} connect_timeout=10")
}

/// The last lines of a log, for an error message.
fn tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(8)..].join(" | ")
}

impl Drop for TestCluster {
    fn drop(&mut self) {
        let data = self.dir.path().join("data");
        let stopped = Self::command(&self.bin, "pg_ctl", self.run_as, self.dir.path())
            .args(["stop", "-m", "fast", "-w", "-t", "20", "-D"])
            .arg(&data)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        let server = self
            .server
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner);
        if !stopped {
            let _ = server.kill();
        }
        let _ = server.wait();
        // The TempDir removes the directory after this.
    }
}

/// A fresh, empty database in the shared cluster, dropped with it.
#[derive(Debug)]
pub struct TestDatabase {
    cluster: Arc<TestCluster>,
    name: String,
}

impl TestDatabase {
    /// A new database in the [shared](TestCluster::shared) cluster.
    pub fn create() -> Result<Self> {
        Self::create_in(TestCluster::shared()?)
    }

    /// A new database in `cluster`, with the schema already migrated.
    pub fn create_in(cluster: Arc<TestCluster>) -> Result<Self> {
        Self::new_in(cluster, true)
    }

    /// A new database in the shared cluster without any schema, for tests
    /// of the migrations themselves.
    pub fn create_empty() -> Result<Self> {
        Self::new_in(TestCluster::shared()?, false)
    }

    fn new_in(cluster: Arc<TestCluster>, migrated: bool) -> Result<Self> {
        let n = cluster.databases.fetch_add(1, Ordering::Relaxed);
        let name = format!("test_{}_{n}", std::process::id());
        cluster.create_database(&name, migrated)?;
        Ok(Self { cluster, name })
    }

    /// Its connection string.
    pub fn url(&self) -> String {
        self.cluster.url(&self.name)
    }

    /// The cluster it lives in.
    pub fn cluster(&self) -> &Arc<TestCluster> {
        &self.cluster
    }

    /// A new store connected to it (the schema is migrated on first use).
    pub fn store(&self) -> Result<PostgresStore> {
        PostgresStore::connect(&self.url()).map_err(|e| error(e.to_string()))
    }

    /// A raw connection, for tests that look under the store.
    pub fn client(&self) -> Result<postgres::Client> {
        postgres::Client::connect(&self.url(), postgres::NoTls).map_err(|e| error(e.to_string()))
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Ok(mut admin) = self.cluster.admin() {
            let _ = admin.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ));
        }
    }
}
