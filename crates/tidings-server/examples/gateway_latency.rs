//! A bounded measurement of the IMAP gateway behind the server (issue 17):
//! N principals (default 50, the seed's council) mirrored from a real,
//! throwaway Dovecot, one device each, connected to the server as
//! `serve --upstream` runs it (in this process).
//!
//! ```text
//! cargo run --release -p tidings-server --example gateway_latency -- [--principals 50] [--rounds 4] [--dovecot-push]
//! ```
//!
//! Reports, met or not:
//! - upstream delivery (Dovecot's LDA has stored the mail) → the mail's
//!   event on its principal's device, p50 and p99;
//! - a device's flag change → the upstream has it: the operation's result
//!   is sent only after the upstream's answer, so submit → result bounds the
//!   desktop's visibility from above (checked with a second IMAP client);
//! - bytes fetched from the upstream when the mirrors start again on the
//!   same database, against the mailboxes' size.
//!
//! Needs Dovecot (`cargo xtask test` installs it). Stops by itself: every
//! wait is bounded, and a hard limit ends the run with an error.

#[path = "../../tidings-upstream/tests/support/dovecot.rs"]
#[allow(dead_code, unreachable_pub)]
mod dovecot;

use dovecot::{Dovecot, MASTER};
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tidings::proto::{Item, MailFlag, SetFlags, item, operation::Kind};
use tidings::session::{ClientEvent, ClientSession};
use tidings_server::admin;
use tidings_server::client::Connection;
use tidings_server::server::{Limits, Server, ServerOptions};
use tidings_server::store::{Durability, SqliteStore, WriteBack};
use tidings_server::upstream::Upstream;
use tidings_upstream::Account;

/// The whole run must end within this.
const HARD_LIMIT: Duration = Duration::from_secs(600);
/// One wait (a mail's arrival, an operation's result).
const WAIT: Duration = Duration::from_secs(30);

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn login(n: usize) -> String {
    format!("member{n:03}")
}

fn email(n: usize) -> String {
    format!("{}@council.example", login(n))
}

fn mail(n: usize, round: usize) -> Vec<u8> {
    let body = "The agenda for the next session is attached below.\r\n".repeat(40);
    format!(
        "From: Clerk <clerk@council.example>\r\nTo: <{}>\r\nSubject: m{n}-r{round}\r\n\
         Message-ID: <m{n}-r{round}@council.example>\r\nDate: Tue, 1 Dec 2026 09:00:00 +0000\r\n\r\n{body}",
        email(n)
    )
    .into_bytes()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let at = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[at.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

/// The gateway configuration: every principal through Dovecot's master user.
fn write_config(
    dir: &Path,
    dovecot: &Dovecot,
    principals: usize,
    push: Option<u16>,
) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let secrets = dir.join("secrets.toml");
    std::fs::write(&secrets, format!("master = \"{}\"\n", MASTER.1)).expect("secrets");
    std::fs::set_permissions(&secrets, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let push = push.map_or(String::new(), |port| {
        format!("dovecot_push = \"127.0.0.1:{port}\"\n")
    });
    let mut text = format!(
        "secrets = \"secrets.toml\"\n{push}\n[imap]\nhost = \"127.0.0.1\"\nport = {}\nsecurity = \"plain\"\n\n\
         [master]\nuser = \"{}\"\n",
        dovecot.addr().port(),
        MASTER.0
    );
    for n in 0..principals {
        text.push_str(&format!(
            "\n[[account]]\nprincipal = \"{}\"\nlogin = \"{}\"\n",
            email(n),
            login(n)
        ));
    }
    let config = dir.join("upstream.toml");
    std::fs::write(&config, text).expect("config");
    config
}

/// The subject of each mail event in `event`'s wake, from the replica.
fn subjects(session: &ClientSession) -> Vec<(String, u64, u64)> {
    let mut found = Vec::new();
    for (info, replica) in session.state().replica().collections() {
        for (id, held) in replica.items() {
            if let Item {
                kind: Some(item::Kind::Mail(m)),
            } = &held.item
                && let Some(h) = &m.headers
            {
                found.push((h.subject.clone(), info.id, *id));
            }
        }
    }
    found
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    // RUST_LOG=tidings_upstream=warn shows the gateway's own complaints.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .try_init();
    tokio::time::timeout(HARD_LIMIT, run())
        .await
        .expect("the measurement ran past its hard limit");
}

async fn run() {
    let principals = arg("--principals", 50);
    let rounds = arg("--rounds", 4);
    let users: Vec<(String, String)> = (0..principals)
        .map(|n| (login(n), format!("pw{n}")))
        .collect();
    // With --dovecot-push, Dovecot also reports each delivery over HTTP.
    let push = std::env::args().any(|a| a == "--dovecot-push").then(|| {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").expect("port");
        probe.local_addr().expect("addr").port()
    });
    let dovecot = Dovecot::start_configured(&users, None, push);
    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("gateway.db");
    let config = write_config(dir.path(), &dovecot, principals, push);

    let mut store = SqliteStore::open(&db, Durability::Process).expect("db");
    let upstream = Upstream::start(&config, &db, &mut store).expect("gateway");
    let write_back: Arc<dyn WriteBack> = upstream.device_writes.clone();
    let options = ServerOptions {
        tcp: Some(([127, 0, 0, 1], 0).into()),
        http: None,
        write_back: Some(write_back),
        // Every device enrolls from 127.0.0.1 at once: the enrollment
        // limits are for strangers, not for this one client machine.
        limits: Limits {
            enroll_per_second: 1_000_000,
            enroll_per_minute_per_source: 60_000_000,
            max_connections_per_source: 1 << 20,
            max_unauthenticated_per_source: 1 << 20,
            ..Limits::DEFAULT
        },
        ..ServerOptions::default()
    };
    let server = Server::start(store, options).await.expect("server");
    let tcp = server.tcp_addr().expect("tcp").to_string();
    server
        .with_store(|s| admin::record_addresses(s, &tcp, None))
        .expect("addresses");

    // Every INBOX mirrored before the devices connect (they see the folders
    // that exist at their Welcome).
    let started = Instant::now();
    let inboxes: Vec<u64> = loop {
        let found: Vec<Option<u64>> = (0..principals)
            .map(|n| {
                server
                    .with_store(|s| {
                        let p = admin::principal(s, &email(n))?;
                        Ok(s.owned_collections(p.id)?
                            .into_iter()
                            .find(|c| c.name == "INBOX")
                            .map(|c| c.id))
                    })
                    .ok()
                    .flatten()
            })
            .collect();
        if found.iter().all(Option::is_some) {
            break found.into_iter().flatten().collect();
        }
        assert!(started.elapsed() < WAIT * 4, "mirrors not ready");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    println!(
        "{principals} accounts mirrored in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    // One device per principal, each driven by its own task, which stamps
    // the moment each subject first appears.
    let arrivals: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let mut devices = Vec::new();
    for n in 0..principals {
        let activation = server
            .with_store(|s| admin::enroll(s, &email(n), 600_000))
            .expect("enroll");
        let device = Connection::enroll(&activation, "phone")
            .await
            .expect("device");
        devices.push(device);
    }
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut tasks = Vec::new();
    for mut device in devices {
        let arrivals = arrivals.clone();
        let mut stop = stop_rx.clone();
        tasks.push(tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = stop.changed() => return device,
                    event = device.next_event() => {
                        if !matches!(event, Ok(Some(_))) {
                            return device;
                        }
                        let now = Instant::now();
                        let mut seen = arrivals.lock().expect("arrivals");
                        for (subject, _, _) in subjects(device.session()) {
                            seen.entry(subject).or_insert(now);
                        }
                    }
                }
            }
        }));
    }

    // Deliveries, one at a time, round-robin over the principals.
    let mut delivered = Vec::new();
    let mut mailbox_bytes = 0u64;
    for round in 0..rounds {
        for n in 0..principals {
            let raw = mail(n, round);
            mailbox_bytes += raw.len() as u64;
            dovecot.deliver(&login(n), &raw);
            delivered.push((format!("m{n}-r{round}"), Instant::now()));
        }
    }
    let deadline = Instant::now() + WAIT;
    let mut latencies = Vec::new();
    for (subject, at) in &delivered {
        let arrived = loop {
            if let Some(t) = arrivals.lock().expect("arrivals").get(subject) {
                break *t;
            }
            if Instant::now() >= deadline {
                let seen = arrivals.lock().expect("arrivals");
                let missing: Vec<&String> = delivered
                    .iter()
                    .map(|(s, _)| s)
                    .filter(|s| !seen.contains_key(*s))
                    .collect();
                let log = dovecot.log();
                let problems: Vec<&str> = log
                    .lines()
                    .filter(|l| l.contains("rror") || l.contains("atal") || l.contains("arning"))
                    .take(20)
                    .collect();
                panic!("never reached their devices: {missing:?}; Dovecot: {problems:#?}");
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        };
        latencies.push(arrived.saturating_duration_since(*at));
    }
    latencies.sort();
    let (p50, p99) = (percentile(&latencies, 0.5), percentile(&latencies, 0.99));
    println!(
        "deliveries: {} ({principals} principals × {rounds})",
        latencies.len()
    );
    println!(
        "upstream delivery → device event: p50 {} (goal ≤ 200 ms: {}), p99 {} (goal ≤ 1 s: {}), max {}",
        ms(p50),
        met(p50 <= Duration::from_millis(200)),
        ms(p99),
        met(p99 <= Duration::from_secs(1)),
        ms(*latencies.last().unwrap_or(&Duration::ZERO))
    );
    let _ = stop_tx.send(true);
    let mut devices = Vec::new();
    for task in tasks {
        devices.push(task.await.expect("device task"));
    }

    // Flag round trips: submit → result, which is sent after the upstream's answer.
    let mut flag_times = Vec::new();
    for (n, device) in devices.iter_mut().enumerate() {
        let subject = format!("m{n}-r0");
        let Some((_, collection, id)) = subjects(device.session())
            .into_iter()
            .find(|(s, _, _)| *s == subject)
        else {
            panic!("{subject} not held");
        };
        assert_eq!(collection, inboxes[n]);
        let started = Instant::now();
        let op_id = device
            .submit(Kind::SetFlags(SetFlags {
                collection_id: collection,
                item_ids: vec![id],
                set: MailFlag::Flagged as u32,
                clear: 0,
            }))
            .await
            .expect("submit");
        device
            .wait_for(WAIT * 4, |e| match e {
                ClientEvent::OperationResult(r) if r.op_id == op_id => Some(()),
                _ => None,
            })
            .await
            .unwrap_or_else(|e| {
                let log = dovecot.log();
                let tail: Vec<&str> = log.lines().rev().take(10).collect();
                panic!("no result for device {n}'s flag: {e:?}; Dovecot: {tail:#?}")
            });
        flag_times.push(started.elapsed());
    }
    flag_times.sort();
    assert!(
        desktop_sees_flagged(&dovecot, &login(0), "m0-r0"),
        "the desktop does not see the device's flag"
    );

    server.shutdown().await;
    upstream.stop().await;

    // Restart: every account's mirror resumes from the saved state.
    let mirror = Arc::new(Mutex::new(
        SqliteStore::open(&db, Durability::Process).expect("db"),
    ));
    let mut fetched = 0u64;
    for n in 0..principals {
        let credentials = tidings_upstream::config::Credentials {
            username: format!("{}*{}", login(n), MASTER.0),
            password: tidings_upstream::config::Secret::new(MASTER.1),
        };
        let endpoint = tidings_upstream::config::Endpoint {
            host: "127.0.0.1".into(),
            port: dovecot.addr().port(),
            security: tidings_upstream::config::Security::Plain,
            ca_file: None,
        };
        let mut account = Account::open(&endpoint, &credentials, &email(n), mirror.clone(), 2048)
            .await
            .expect("account");
        account.sync_all().await.expect("resync");
        fetched += account.fetched().bytes;
        account.close().await;
    }

    let flag_p99 = percentile(&flag_times, 0.99);
    println!(
        "device flag → upstream has it (submit → result): p50 {}, p99 {} (goal ≤ 1 s: {})",
        ms(percentile(&flag_times, 0.5)),
        ms(flag_p99),
        met(flag_p99 <= Duration::from_secs(1))
    );
    let share = fetched as f64 / mailbox_bytes.max(1) as f64 * 100.0;
    println!(
        "restart: {fetched} message bytes fetched of {mailbox_bytes} in the mailboxes ({share:.2} %, goal ≤ 1 %: {})",
        met(share <= 1.0)
    );
}

fn met(ok: bool) -> &'static str {
    if ok { "met" } else { "NOT met" }
}

/// A second IMAP client (the user's desktop) sees `\Flagged` on the mail.
fn desktop_sees_flagged(dovecot: &Dovecot, login: &str, subject: &str) -> bool {
    let script = format!(
        "import imaplib\nm = imaplib.IMAP4('127.0.0.1', {port})\n\
         m.login('{login}*{master}', '{pw}')\nm.select('INBOX')\n\
         u = m.uid('SEARCH', 'SUBJECT', '\"{subject}\"')[1][0].split()\n\
         print(m.uid('FETCH', u[0], '(FLAGS)')[1][0].decode())\nm.logout()\n",
        port = dovecot.addr().port(),
        master = MASTER.0,
        pw = MASTER.1,
    );
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .output()
        .expect("python3");
    String::from_utf8_lossy(&out.stdout).contains("\\Flagged")
}
