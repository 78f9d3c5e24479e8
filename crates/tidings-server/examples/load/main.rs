//! A bounded load test: N devices (default 10,000) connected at once over
//! loopback, then a burst of new mail to a folder all of them follow (the
//! "mail to all staff" case); every device must converge. Reports pushes per
//! second, push latency, and the server's memory per device. Stops by
//! itself: a hard limit ends it with an error.
//!
//! ```text
//! cargo run --release -p tidings-server --example load -- --devices 10000 --mails 20 [--json]
//!     [--postgres [--processes N]]
//! ```
//!
//! The server runs in a child process (this program, re-executed with
//! `--serve`), so its memory is measured alone and each side has its own
//! file descriptors. With `--postgres` the store is a throwaway PostgreSQL
//! cluster (Debian's binaries, as the tests start it, `fsync` off) and
//! `--processes N` servers share it, device `n` connecting to server
//! `n mod N`; the burst is written by this process, so every server hears
//! of it by `NOTIFY`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tidings::proto::CollectionKind;
use tidings::sync::Rights;
use tidings_server::activation::Activation;
use tidings_server::admin;
use tidings_server::client::Connection;
use tidings_server::server::{Limits, Server, ServerOptions, stats};
use tidings_server::store::{Durability, SqliteStore};
use tidings_server::stores::{PostgresStore, ServerStore, is_postgres};
use tidings_store_postgres::PostgresPool;
use tidings_store_postgres::testing::TestDatabase;

mod storm;

/// Devices per principal: a principal with a phone, a tablet, a laptop...
const DEVICES_PER_PRINCIPAL: usize = 10;
/// Mail in the shared folder before devices connect.
const INITIAL_MAIL: usize = 5;
/// Handshakes in flight at once from this client.
const CONCURRENT_ENROLLMENTS: usize = 256;
/// The whole run must end within this.
const HARD_LIMIT: Duration = Duration::from_secs(900);

struct Args {
    devices: usize,
    mails: usize,
    json: bool,
    postgres: bool,
    processes: usize,
    serve: Option<(String, PathBuf)>,
}

fn args() -> Args {
    let mut args = Args {
        devices: 10_000,
        mails: 20,
        json: false,
        postgres: false,
        processes: 1,
        serve: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut number = || it.next().and_then(|n| n.parse().ok()).unwrap_or(0);
        match arg.as_str() {
            "--devices" => args.devices = number().max(1),
            "--mails" => args.mails = number().max(1),
            "--json" => args.json = true,
            "--postgres" => args.postgres = true,
            "--processes" => args.processes = number().max(1),
            "--serve" => {
                let db = it.next().unwrap_or_default();
                let ready = it.next().map(PathBuf::from).unwrap_or_default();
                args.serve = Some((db, ready));
            }
            other => {
                eprintln!("load: unknown argument {other}");
                std::process::exit(2);
            }
        }
    }
    args
}

fn main() {
    let args = args();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    if let Some((db, ready)) = args.serve {
        runtime.block_on(serve(&db, &ready));
        return;
    }
    // The measuring runs on the runtime's threads, not on this one: a
    // result from each of thousands of devices would otherwise wake this
    // thread once each, a cost of the harness taken from the cores the
    // server and the devices share.
    let args: &'static Args = Box::leak(Box::new(args));
    let measured =
        runtime.block_on(async { tokio::spawn(tokio::time::timeout(HARD_LIMIT, run(args))).await });
    match measured.unwrap_or_else(|e| Ok(Err(format!("the run panicked: {e}")))) {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            eprintln!("load: {e}");
            std::process::exit(1);
        }
        Err(_) => {
            eprintln!("load: did not finish within {HARD_LIMIT:?}");
            std::process::exit(1);
        }
    }
}

/// The server side, in the child process.
async fn serve(db: &str, ready: &Path) {
    let options = ServerOptions {
        tcp: Some(([127, 0, 0, 1], 0).into()),
        http: None,
        max_connections: 30_000,
        // Every device connects and enrolls from 127.0.0.1 at once: the
        // per-source and enrollment limits are for strangers, not for a
        // load test's one client machine.
        limits: Limits {
            max_unauthenticated: 30_000,
            max_connections_per_source: 30_000,
            max_unauthenticated_per_source: 30_000,
            enroll_per_second: 1_000_000,
            enroll_per_minute_per_source: 60_000_000,
            hellos_per_second_per_source: 1_000_000,
            ..Limits::DEFAULT
        },
        ..ServerOptions::default()
    };
    if is_postgres(db) {
        // The synchronous client may not block an async thread.
        let connect = || PostgresPool::connect(db, 9, Duration::from_secs(30));
        let pool = tokio::task::block_in_place(connect).expect("connect");
        let server = Server::start_postgres(pool, options).await.expect("start");
        serve_until_stdin_closes(server, ready).await;
    } else {
        let store = SqliteStore::open(db.as_ref(), Durability::Process).expect("open");
        let server = Server::start(store, options).await.expect("start");
        serve_until_stdin_closes(server, ready).await;
    }
}

async fn serve_until_stdin_closes<B: tidings_server::server::access::Backend>(
    server: Server<B>,
    ready: &Path,
) {
    let tcp = server.tcp_addr().expect("tcp").to_string();
    std::fs::write(ready, &tcp).expect("ready file");
    // Each line from the parent asks for the counters; its closing our
    // stdin stops the server.
    let stats = stats_file(ready);
    let _ = tokio::task::spawn_blocking(move || {
        for line in std::io::stdin().lines() {
            if line.is_err() {
                break;
            }
            let counters = format!(
                "{} {}",
                stats::frames_sent(),
                stats::last_write_unix_micros()
            );
            let fresh = stats.with_extension("new");
            let _ = std::fs::write(&fresh, counters).and_then(|()| std::fs::rename(&fresh, &stats));
        }
    })
    .await;
    server.shutdown().await;
}

/// Runs `f` on a store of `db` (a path or a PostgreSQL URL).
fn with_store<T>(
    db: &str,
    f: impl FnOnce(&mut dyn Seeding) -> tidings::Result<T>,
) -> Result<T, String> {
    // The synchronous PostgreSQL client may not block an async thread.
    tokio::task::block_in_place(|| {
        let result = match is_postgres(db) {
            true => f(&mut PostgresStore::connect(db).map_err(|e| e.to_string())?),
            false => f(&mut SqliteStore::open(db.as_ref(), Durability::Process)
                .map_err(|e| e.to_string())?),
        };
        result.map_err(|e| e.to_string())
    })
}

/// What the load test writes, on either store.
trait Seeding {
    fn seed(
        &mut self,
        principals: usize,
        devices: usize,
    ) -> tidings::Result<(u64, Vec<Activation>)>;
    fn deliver(&mut self, collection: u64, raw: &[u8]) -> tidings::Result<u64>;
}

impl<S: ServerStore> Seeding for S {
    fn seed(
        &mut self,
        principals: usize,
        devices: usize,
    ) -> tidings::Result<(u64, Vec<Activation>)> {
        seed(self, principals, devices)
    }
    fn deliver(&mut self, collection: u64, raw: &[u8]) -> tidings::Result<u64> {
        self.transaction(|s| s.add_message(collection, raw, 2048))
    }
}

/// Kilobytes → bytes of a line of /proc/PID/status.
fn status_bytes(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// CPU time process `pid` has used, in milliseconds (clock ticks of
/// 10 ms): user + system, and system alone.
fn cpu_ms(pid: u32) -> Cpu {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The fields after the command name, which is in parentheses.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or(Vec::new(), |(_, rest)| rest.split_whitespace().collect());
    let ticks = |n: usize| {
        fields
            .get(n)
            .and_then(|t| t.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // utime and stime are fields 14 and 15 of the line, 12 and 13 here.
    Cpu {
        total: (ticks(11) + ticks(12)) * 10,
        kernel: ticks(12) * 10,
    }
}

/// CPU time in milliseconds, and how much of it the kernel spent for the
/// process (system calls: TCP on loopback delivers to the peer's socket
/// inside the sender's call).
#[derive(Clone, Copy, Default)]
struct Cpu {
    total: u64,
    kernel: u64,
}

impl std::ops::Add for Cpu {
    type Output = Cpu;
    fn add(self, other: Cpu) -> Cpu {
        Cpu {
            total: self.total + other.total,
            kernel: self.kernel + other.kernel,
        }
    }
}

impl std::ops::Sub for Cpu {
    type Output = Cpu;
    fn sub(self, earlier: Cpu) -> Cpu {
        Cpu {
            total: self.total.saturating_sub(earlier.total),
            kernel: self.kernel.saturating_sub(earlier.kernel),
        }
    }
}

/// What the scheduler counted for the threads of process `pid` together, in
/// µs: time on a CPU, and time runnable but waiting for one
/// (`/proc/PID/task/*/schedstat`). The second says whether a process that
/// was slow lacked work or a core.
fn scheduled_us(pid: u32) -> (u64, u64) {
    let Ok(threads) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return (0, 0);
    };
    threads.flatten().fold((0, 0), |(on, waiting), thread| {
        let stat = std::fs::read_to_string(thread.path().join("schedstat")).unwrap_or_default();
        let mut ns = stat
            .split_whitespace()
            .map(|n| n.parse::<u64>().unwrap_or(0));
        let (run, wait) = (ns.next().unwrap_or(0), ns.next().unwrap_or(0));
        (on + run / 1000, waiting + wait / 1000)
    })
}

/// Where a server child writes its counters when asked.
fn stats_file(ready: &Path) -> PathBuf {
    ready.with_extension("stats")
}

/// A server child's counters: frames sent, and when the last was (µs since
/// the Unix epoch).
async fn server_stats(server: &mut ServerProcess, ready: &Path) -> Result<(u64, u64), String> {
    use std::io::Write;
    let file = stats_file(ready);
    let _ = std::fs::remove_file(&file);
    let stdin = server.0.stdin.as_mut().ok_or("no stdin")?;
    stdin
        .write_all(b"stats\n")
        .and_then(|()| stdin.flush())
        .map_err(|e| e.to_string())?;
    for _ in 0..300 {
        if let Ok(text) = std::fs::read_to_string(&file) {
            let mut numbers = text.split(' ').map(|n| n.trim().parse::<u64>());
            if let (Some(Ok(frames)), Some(Ok(last))) = (numbers.next(), numbers.next()) {
                return Ok((frames, last));
            }
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    Err("the server did not report its counters".into())
}

/// Counters summed over every server child; the latest write of any.
async fn all_stats(servers: &mut [ServerProcess], dir: &Path) -> Result<(u64, u64), String> {
    let (mut frames, mut last) = (0, 0);
    for (n, server) in servers.iter_mut().enumerate() {
        let (f, l) = server_stats(server, &dir.join(format!("ready-{n}"))).await?;
        frames += f;
        last = last.max(l);
    }
    Ok((frames, last))
}

/// Percentiles of `latencies` (sorted here), in milliseconds: p50, p99, max.
fn percentiles(latencies: &mut [Duration]) -> (f64, f64, f64) {
    latencies.sort();
    let pct = |p: usize| latencies[(latencies.len() - 1) * p / 100].as_secs_f64() * 1e3;
    (pct(50), pct(99), pct(100))
}

struct ServerProcess(Child);

/// Starts a server child on `db`; its process and TCP address.
async fn spawn_server(db: &str, ready: &Path) -> Result<(ServerProcess, String), String> {
    let child = Command::new(std::env::current_exe().map_err(|e| e.to_string())?)
        .arg("--serve")
        .arg(db)
        .arg(ready)
        .stdin(Stdio::piped())
        .env("RUST_LOG", "warn")
        .spawn()
        .map_err(|e| e.to_string())?;
    let server = ServerProcess(child);
    for _ in 0..300 {
        if let Ok(addr) = std::fs::read_to_string(ready) {
            return Ok((server, addr));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err("server did not start".into())
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        drop(self.0.stdin.take()); // graceful stop
        for _ in 0..100 {
            if matches!(self.0.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn say(json: bool, line: impl AsRef<str>) {
    if !json {
        println!("{}", line.as_ref());
    }
}

async fn run(args: &Args) -> Result<(), String> {
    let dir = std::env::temp_dir().join(format!("tidings-load-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    // Kept until the end: dropping it stops the cluster.
    let cluster = match args.postgres {
        true => Some(
            tokio::task::block_in_place(TestDatabase::create)
                .map_err(|e| format!("PostgreSQL: {e}"))?,
        ),
        false => None,
    };
    let db = match &cluster {
        Some(cluster) => cluster.url(),
        None => dir.join("load.db").display().to_string(),
    };
    let principals = args.devices.div_ceil(DEVICES_PER_PRINCIPAL);
    say(
        args.json,
        format!("seeding {principals} principals, {} devices", args.devices),
    );
    let (shared, activations) = with_store(&db, |s| s.seed(principals, args.devices))?;

    let processes = if args.postgres { args.processes } else { 1 };
    let mut servers = Vec::new();
    let mut addresses = Vec::new();
    for n in 0..processes {
        let (server, tcp) = spawn_server(&db, &dir.join(format!("ready-{n}"))).await?;
        servers.push(server);
        addresses.push(tcp);
    }
    let pids: Vec<u32> = servers.iter().map(|s| s.0.id()).collect();
    let rss = |field: &str| {
        pids.iter()
            .map(|&pid| status_bytes(pid, field))
            .sum::<u64>()
    };
    let baseline = rss("VmRSS:");

    // Every device enrolls and syncs; then waits for the burst.
    let started = Instant::now();
    let permits = Arc::new(tokio::sync::Semaphore::new(CONCURRENT_ENROLLMENTS));
    let (synced, mut ready) = tokio::sync::mpsc::channel::<Result<(), String>>(64);
    let (single_tx, mut single_rx) = tokio::sync::mpsc::channel::<Result<Instant, String>>(1024);
    let burst_at = Arc::new(tokio::sync::OnceCell::<Instant>::new());
    let mut tasks = tokio::task::JoinSet::new();
    for (n, mut activation) in activations.into_iter().enumerate() {
        activation.tcp = Some(addresses[n % addresses.len()].clone());
        let (permits, synced, burst_at) = (permits.clone(), synced.clone(), burst_at.clone());
        let single_tx = single_tx.clone();
        let target = INITIAL_MAIL + 1 + args.mails;
        tasks.spawn(async move {
            let device = async {
                let permit = permits.acquire_owned().await.map_err(|e| e.to_string())?;
                let mut device = Connection::enroll(&activation, &format!("device {n}"))
                    .await
                    .map_err(|e| format!("enroll: {e}"))?;
                while count(&device, shared) < INITIAL_MAIL {
                    device.next_event().await.map_err(|e| e.to_string())?;
                }
                drop(permit);
                Ok::<_, String>(device)
            };
            let mut device = match device.await {
                Ok(device) => device,
                Err(e) => {
                    let _ = synced.send(Err(e.clone())).await;
                    return Err(e);
                }
            };
            let _ = synced.send(Ok(())).await;
            // The one new mail first, alone.
            let single = async {
                while count(&device, shared) < INITIAL_MAIL + 1 {
                    device.next_event().await.map_err(|e| e.to_string())?;
                }
                Ok::<_, String>(Instant::now())
            };
            let arrived = single.await;
            let failed = arrived.is_err();
            let _ = single_tx.send(arrived).await;
            if failed {
                return Err("the single mail did not arrive".to_string());
            }
            while count(&device, shared) < target {
                device.next_event().await.map_err(|e| e.to_string())?;
            }
            let at = *burst_at.get().ok_or("burst not started")?;
            Ok::<_, String>((at.elapsed(), device))
        });
    }
    drop(synced);
    drop(single_tx);
    // All devices synced, or the first failure ends the run.
    for _ in 0..args.devices {
        ready.recv().await.ok_or("devices ended before syncing")??;
    }
    let connect_seconds = started.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let idle = rss("VmRSS:");
    say(
        args.json,
        format!(
            "{} devices enrolled and synced in {connect_seconds:.1} s; server RSS {} MiB idle ({} B per device)",
            args.devices,
            idle >> 20,
            idle.saturating_sub(baseline) / args.devices as u64
        ),
    );

    // One new mail to the folder everyone follows, alone, written by this
    // process (as an admin command or a delivery agent would): from its
    // commit to the last frame the servers hand to the kernel, and to the
    // event on each device.
    let (frames_before, _) = all_stats(&mut servers, &dir).await?;
    let server_cpu = || {
        pids.iter()
            .map(|&pid| cpu_ms(pid))
            .fold(Cpu::default(), |a, b| a + b)
    };
    let client_cpu = || cpu_ms(std::process::id());
    let (server_cpu_before, client_cpu_before) = (server_cpu(), client_cpu());
    let server_scheduled = || {
        pids.iter()
            .map(|&pid| scheduled_us(pid))
            .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1))
    };
    let scheduled_before = server_scheduled();
    let committed_unix = with_store(&db, |store| {
        let raw = "From: Communications <comms@load.example>\r\nTo: All staff <all@load.example>\r\nSubject: Gritting tonight\r\nMessage-ID: <single@load.example>\r\n\r\nThe roads will be gritted from 8 pm.\r\n";
        store.deliver(shared, raw.as_bytes())?;
        Ok(stats::unix_micros())
    })?;
    let committed = Instant::now();
    let mut single = Vec::with_capacity(args.devices);
    for _ in 0..args.devices {
        let arrived = single_rx
            .recv()
            .await
            .ok_or("devices ended before the mail")??;
        single.push(arrived.saturating_duration_since(committed));
    }
    // While the push ran: the server's threads on a CPU, and runnable but
    // waiting for one (the clients share the cores).
    let window_ms = committed.elapsed().as_secs_f64() * 1e3;
    let scheduled_after = server_scheduled();
    let server_on_cpu_ms = scheduled_after.0.saturating_sub(scheduled_before.0) as f64 / 1e3;
    let server_waiting_ms = scheduled_after.1.saturating_sub(scheduled_before.1) as f64 / 1e3;
    // Acknowledgements are answered with nothing: the last frame is the push.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (frames_after, last_write) = all_stats(&mut servers, &dir).await?;
    // Per device, in µs: the push, its acknowledgement, and the 200 ms wait.
    let per_device_us = |ms: u64| ms as f64 * 1e3 / args.devices as f64;
    let single_server_cpu = server_cpu() - server_cpu_before;
    let single_client_cpu = client_cpu() - client_cpu_before;
    let single_server_cpu_us = per_device_us(single_server_cpu.total);
    let single_client_cpu_us = per_device_us(single_client_cpu.total);
    let single_server_ms = last_write.saturating_sub(committed_unix) as f64 / 1e3;
    let single_frames = frames_after.saturating_sub(frames_before);
    let (s50, s99, smax) = percentiles(&mut single);
    say(
        args.json,
        format!(
            "one new mail to {} devices: server side (commit to last frame) {single_server_ms:.1} ms, {single_frames} frames; end to end p50 {s50:.1} ms, p99 {s99:.1} ms, max {smax:.1} ms; CPU per device: server {single_server_cpu_us:.1} µs ({:.1} in the kernel), clients {single_client_cpu_us:.1} µs ({:.1}); in the {window_ms:.0} ms until the last device had it, the server's threads were on a CPU {server_on_cpu_ms:.0} ms and waited for one {server_waiting_ms:.0} ms",
            args.devices,
            per_device_us(single_server_cpu.kernel),
            per_device_us(single_client_cpu.kernel),
        ),
    );

    // The burst: new mail to the folder everyone follows, written by this
    // process (as an admin command or a delivery agent would).
    with_store(&db, |store| {
        let _ = burst_at.set(Instant::now());
        for n in 0..args.mails {
            let raw = format!(
                "From: Communications <comms@load.example>\r\nTo: All staff <all@load.example>\r\nSubject: Bulletin {n}\r\nMessage-ID: <bulletin-{n}@load.example>\r\n\r\n{}\r\n",
                "The winter gritting rota is attached. ".repeat(20)
            );
            store.deliver(shared, raw.as_bytes())?;
        }
        Ok(())
    })?;
    let mut latencies = Vec::with_capacity(args.devices);
    let mut devices = Vec::with_capacity(args.devices);
    while let Some(done) = tasks.join_next().await {
        let (latency, device) = done.map_err(|e| e.to_string())??;
        latencies.push(latency);
        devices.push(device);
    }
    let burst_seconds = latencies
        .iter()
        .max()
        .copied()
        .unwrap_or_default()
        .as_secs_f64();
    let (burst_p50, burst_p99, burst_max) = percentiles(&mut latencies);
    let pct = |p: usize| match p {
        50 => burst_p50,
        99 => burst_p99,
        _ => burst_max,
    };
    let pushes = (args.devices * args.mails) as f64;
    let peak = rss("VmHWM:");

    // The reconnect storm: every device drops its connection at once and
    // comes back by IK.
    let states: Vec<_> = devices
        .iter()
        .map(|d| d.session().state().clone())
        .collect();
    drop(devices);
    tokio::time::sleep(Duration::from_secs(1)).await; // every close is seen
    let in_core = tokio::task::block_in_place(storm::in_core_reconnects_per_second)?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
    let (server_cpu_before, client_cpu_before) = (server_cpu(), client_cpu());
    let storm_seconds = storm::storm(states, &addresses, CONCURRENT_ENROLLMENTS).await?;
    // What one reconnect cost each side, against the in-core reconnect's
    // whole cost (both ends): what the storm spends beyond the handshake.
    let storm_server_cpu = server_cpu() - server_cpu_before;
    let storm_client_cpu = client_cpu() - client_cpu_before;
    let storm_server_cpu_us = per_device_us(storm_server_cpu.total);
    let storm_client_cpu_us = per_device_us(storm_client_cpu.total);
    let storm_kernel_us = per_device_us(storm_server_cpu.kernel + storm_client_cpu.kernel);
    let storm_rate = args.devices as f64 / storm_seconds;
    // The in-core loop runs both ends on one core; the storm has them all.
    let storm_ratio = storm_rate / (in_core * cores);
    let report = serde_json::json!({
        "devices": args.devices,
        "mails": args.mails,
        "store": if args.postgres { "postgres" } else { "sqlite" },
        "processes": processes,
        "connect_seconds": connect_seconds,
        "burst_seconds": burst_seconds,
        "pushes_per_second": pushes / burst_seconds,
        "p50_push_latency_ms": pct(50),
        "p99_push_latency_ms": pct(99),
        "max_push_latency_ms": pct(100),
        "single_server_ms": single_server_ms,
        "single_frames": single_frames,
        "single_p50_ms": s50,
        "single_p99_ms": s99,
        "single_max_ms": smax,
        "single_server_cpu_us_per_device": single_server_cpu_us,
        "single_client_cpu_us_per_device": single_client_cpu_us,
        "single_server_kernel_us_per_device": per_device_us(single_server_cpu.kernel),
        "single_client_kernel_us_per_device": per_device_us(single_client_cpu.kernel),
        "single_window_ms": window_ms,
        "single_server_on_cpu_ms": server_on_cpu_ms,
        "single_server_waiting_for_cpu_ms": server_waiting_ms,
        "load_average": std::fs::read_to_string("/proc/loadavg").unwrap_or_default().trim(),
        "baseline_rss_bytes": baseline,
        "idle_rss_bytes": idle,
        "peak_rss_bytes": peak,
        "idle_rss_per_device_bytes": idle.saturating_sub(baseline) as f64 / args.devices as f64,
        "rss_per_device_bytes": peak.saturating_sub(baseline) as f64 / args.devices as f64,
        "storm_seconds": storm_seconds,
        "storm_reconnects_per_second": storm_rate,
        "in_core_reconnects_per_second_per_core": in_core,
        "cores": cores,
        "storm_vs_in_core": storm_ratio,
        "storm_server_cpu_us_per_reconnect": storm_server_cpu_us,
        "storm_client_cpu_us_per_reconnect": storm_client_cpu_us,
        "storm_server_kernel_us_per_reconnect": per_device_us(storm_server_cpu.kernel),
        "storm_client_kernel_us_per_reconnect": per_device_us(storm_client_cpu.kernel),
    });
    if args.json {
        println!("{report}");
    } else {
        say(
            false,
            format!(
                "burst of {} mails to {} devices: every device converged in {burst_seconds:.2} s; {:.0} pushes/s; latency p50 {:.0} ms, p99 {:.0} ms; server peak RSS {} MiB ({:.0} B per device)",
                args.mails,
                args.devices,
                pushes / burst_seconds,
                pct(50),
                pct(99),
                peak >> 20,
                report["rss_per_device_bytes"].as_f64().unwrap_or(0.0),
            ),
        );
    }
    say(
        args.json,
        format!(
            "reconnect storm: {} devices back by IK and caught up in {storm_seconds:.2} s ({storm_rate:.0}/s); in-core {in_core:.0}/s on one core, so {storm_ratio:.2}x of {cores} cores' worth; CPU per reconnect: server {storm_server_cpu_us:.0} µs, clients {storm_client_cpu_us:.0} µs ({storm_kernel_us:.0} µs of both in the kernel), in-core both ends {:.0} µs",
            args.devices,
            1e6 / in_core
        ),
    );
    drop(servers);
    tokio::task::block_in_place(|| drop(cluster));
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// Items the device holds in `collection`.
fn count(device: &Connection, collection: u64) -> usize {
    device
        .session()
        .state()
        .replica()
        .collection(collection)
        .map_or(0, |r| r.items().len())
}

/// Principals with their devices' activations, and the folder all follow.
fn seed(
    store: &mut impl ServerStore,
    principals: usize,
    devices: usize,
) -> tidings::Result<(u64, Vec<Activation>)> {
    store.transaction(|s| {
        let comms = s.add_principal("Communications", "comms@load.example")?;
        let shared = s.add_collection(comms, CollectionKind::Mail, "All staff")?;
        for n in 0..INITIAL_MAIL {
            let raw = format!(
                "From: comms@load.example\r\nSubject: Earlier bulletin {n}\r\n\r\nHello.\r\n"
            );
            s.add_message(shared, raw.as_bytes(), 2048)?;
        }
        let mut activations = Vec::with_capacity(devices);
        for p in 0..principals {
            let email = format!("staff{p}@load.example");
            let id = admin::add_principal(s, &format!("Staff {p}"), &email)?;
            s.grant(shared, id, Rights::READ)?;
            for _ in 0..DEVICES_PER_PRINCIPAL.min(devices - activations.len()) {
                activations.push(admin::enroll(s, &email, 3_600_000)?);
            }
        }
        Ok((shared, activations))
    })
}
