//! What the upload attacks share: uploading a file in pipelined parts,
//! collecting many answers at once, a server process (debug or release)
//! whose memory can be read, and another device's latency while it works.

use crate::common::LIMIT;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tidings::proto::{
    Address, OutgoingAttachment, OutgoingMail, SendMail, SetFlags, UploadPart, operation::Kind,
    operation_result::Outcome,
};
use tidings::session::{ClientEvent, ClientState, MAX_UPLOAD_PART_BYTES};
use tidings_server::client::Connection;
use tidings_server::clock::random;

pub const MIB: usize = 1 << 20;
/// The spec's largest file: 25 MiB.
pub const FILE_25: usize = 25 << 20;

/// Bytes that do not repeat, so a misplaced or doubled part shows.
pub fn file(len: usize, seed: u32) -> Vec<u8> {
    let mut x = 0x2545_f491u32 ^ seed.wrapping_mul(0x9e37_79b9);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x >> 8) as u8
        })
        .collect()
}

pub fn part(id: &[u8], offset: usize, data: &[u8], total: usize) -> Kind {
    Kind::UploadPart(UploadPart {
        upload_id: id.to_vec(),
        offset: offset as u64,
        data: data.to_vec(),
        total_size: total as u64,
    })
}

/// Submits every op, then waits (bounded) for all their answers, in order.
pub async fn run_all(dev: &mut Connection, ops: Vec<Kind>, limit: Duration) -> Vec<Outcome> {
    let mut ids = Vec::with_capacity(ops.len());
    for op in ops {
        ids.push(dev.submit(op).await.expect("submit"));
    }
    let mut got: HashMap<[u8; 16], Outcome> = HashMap::new();
    let wanted: std::collections::HashSet<[u8; 16]> = ids.iter().copied().collect();
    let wait = async {
        while !wanted.iter().all(|id| got.contains_key(id)) {
            match dev.next_event().await {
                Ok(Some(ClientEvent::OperationResult(r))) => {
                    match (<[u8; 16]>::try_from(r.op_id.as_slice()), r.outcome) {
                        (Ok(id), Some(o)) if wanted.contains(&id) => {
                            got.insert(id, o);
                        }
                        (_, o) => println!("an answer to another operation: {o:?}"),
                    }
                }
                Ok(Some(ClientEvent::Closed { error })) => panic!("session closed: {error:?}"),
                Ok(Some(_)) => {}
                other => panic!("connection ended: {other:?}"),
            }
        }
    };
    tokio::time::timeout(limit, wait)
        .await
        .expect("answers in time");
    ids.iter()
        .map(|id| got.remove(id).expect("answer"))
        .collect()
}

/// Uploads `bytes` under `id` from offset 0, `window` parts in flight;
/// panics unless every part is `Done` at the right count.
pub async fn upload(dev: &mut Connection, id: &[u8], bytes: &[u8], window: usize) {
    let chunks: Vec<(usize, &[u8])> = bytes
        .chunks(MAX_UPLOAD_PART_BYTES)
        .enumerate()
        .map(|(n, c)| (n * MAX_UPLOAD_PART_BYTES, c))
        .collect();
    for group in chunks.chunks(window) {
        let ops = group
            .iter()
            .map(|(at, c)| part(id, *at, c, bytes.len()))
            .collect();
        let answers = run_all(dev, ops, LIMIT * 4).await;
        for ((at, c), answer) in group.iter().zip(answers) {
            match answer {
                Outcome::Done(d) if d.version == (at + c.len()) as u64 => {}
                other => panic!("part at {at}: {other:?}"),
            }
        }
    }
}

pub fn address(email: &str) -> Address {
    Address {
        name: String::new(),
        email: email.into(),
    }
}

/// A mail to `to` carrying upload `id` as `big.bin`.
pub fn send_upload(to: &[String], subject: &str, id: &[u8]) -> Kind {
    Kind::SendMail(SendMail {
        mail: Some(OutgoingMail {
            to: to.iter().map(|e| address(e)).collect(),
            subject: subject.into(),
            text: "attached".into(),
            attachments: vec![OutgoingAttachment {
                filename: "big.bin".into(),
                content_type: "application/octet-stream".into(),
                upload_id: id.to_vec(),
                ..Default::default()
            }],
            ..Default::default()
        }),
    })
}

pub fn error_code(outcome: &Outcome) -> Option<u32> {
    match outcome {
        Outcome::Error(e) => Some(e.code),
        _ => None,
    }
}

/// A fresh random upload id.
pub fn upload_id() -> Vec<u8> {
    random::<16>().to_vec()
}

/// When an observer's operation started, and how long its answer took.
pub type Sample = (Instant, Duration);

/// Another device repeating an operation (`make(round)`) while `stop` is
/// unset, 20 ms apart: each round trip is one sample.
pub fn observe(
    mut dev: Connection,
    make: impl Fn(u64) -> Kind + Send + 'static,
    stop: Arc<AtomicBool>,
) -> tokio::task::JoinHandle<(Connection, Vec<Sample>)> {
    tokio::spawn(async move {
        let mut samples = Vec::new();
        let mut round = 0;
        while !stop.load(Ordering::Relaxed) {
            round += 1;
            let started = Instant::now();
            let outcome = crate::common::operate_within(&mut dev, LIMIT * 10, make(round)).await;
            assert!(
                matches!(outcome, Outcome::Done(_) | Outcome::Search(_)),
                "{outcome:?}"
            );
            samples.push((started, started.elapsed()));
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        (dev, samples)
    })
}

/// A flag toggled on `item`: a write.
pub fn toggle(collection: u64, item: u64) -> impl Fn(u64) -> Kind + Send + 'static {
    move |round| {
        let on = round % 2 == 1;
        Kind::SetFlags(SetFlags {
            collection_id: collection,
            item_ids: vec![item],
            set: u32::from(on),
            clear: u32::from(!on),
        })
    }
}

/// Samples that overlap `[from, from + span]`, and those that ended before.
pub fn split(samples: &[Sample], from: Instant, span: Duration) -> (Vec<Duration>, Vec<Duration>) {
    let before = samples
        .iter()
        .filter(|(s, d)| *s + *d < from)
        .map(|(_, d)| *d)
        .collect();
    let during = samples
        .iter()
        .filter(|(s, d)| *s + *d >= from && *s <= from + span)
        .map(|(_, d)| *d)
        .collect();
    (before, during)
}

/// (median, max) of some samples.
pub fn spread(mut samples: Vec<Duration>) -> (Duration, Duration) {
    samples.sort();
    let median = samples.get(samples.len() / 2).copied().unwrap_or_default();
    (median, samples.last().copied().unwrap_or_default())
}

/// The server binary: `UPLOADATK_SERVER` (a release build, say), else the
/// debug one cargo built for these tests.
pub fn server_bin() -> PathBuf {
    std::env::var_os("UPLOADATK_SERVER").map_or_else(
        || env!("CARGO_BIN_EXE_tidings-server").into(),
        PathBuf::from,
    )
}

/// A server process, killed and reaped when dropped.
pub struct Proc {
    pub child: Child,
    pub tcp: String,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Proc {
    /// `tidings-server --db DB serve` on loopback with `more` arguments.
    pub fn serve(db: &str, dir: &Path, name: &str, more: &[&str]) -> Self {
        let ready = dir.join(format!("{name}-ready.json"));
        let child = Command::new(server_bin())
            .args([
                "--db",
                db,
                "serve",
                "--tcp",
                "127.0.0.1:0",
                "--http",
                "127.0.0.1:0",
            ])
            .args(more)
            .arg("--ready-file")
            .arg(&ready)
            .env(
                "RUST_LOG",
                std::env::var("RUST_LOG").unwrap_or("warn".into()),
            )
            .stdout(Stdio::null())
            .spawn()
            .expect("server starts");
        let mut proc = Self {
            child,
            tcp: String::new(),
        };
        for _ in 0..300 {
            if let Ok(text) = std::fs::read_to_string(&ready) {
                let v: serde_json::Value = serde_json::from_str(&text).expect("json");
                proc.tcp = v["tcp"].as_str().expect("tcp").to_string();
                return proc;
            }
            if let Ok(Some(status)) = proc.child.try_wait() {
                panic!("the server exited: {status}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("server not ready in 30 s");
    }

    fn status(&self, key: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map_or(0, |kb| kb * 1024)
    }

    /// Resident memory now.
    pub fn rss(&self) -> u64 {
        self.status("VmRSS:")
    }

    /// Peak resident memory since the last [`reset_peak`](Self::reset_peak).
    pub fn peak(&self) -> u64 {
        self.status("VmHWM:")
    }

    /// Starts a new peak (Linux: `5` to `clear_refs`).
    pub fn reset_peak(&self) {
        let _ = std::fs::write(format!("/proc/{}/clear_refs", self.child.id()), "5");
    }
}

pub fn mib(bytes: u64) -> f64 {
    bytes as f64 / MIB as f64
}

/// Resumes `state` and waits (bounded) until every op of its outbox is
/// answered; the answers by op id.
pub async fn drain_outbox(addr: String, state: ClientState) -> Vec<(Vec<u8>, Outcome)> {
    drain(resumed(&addr, state).await).await
}

/// A session resumed and connected, with what it has answered so far.
pub struct Resumed {
    dev: Connection,
    want: usize,
    got: Vec<(Vec<u8>, Outcome)>,
}

/// Resumes `state` and waits until the server has taken its hello, so a
/// session of the same device resumed after this returns (with a later
/// hello) is not refused as a replay (205), however the connections are
/// scheduled.
pub async fn resumed(addr: &str, state: ClientState) -> Resumed {
    let want = state.outbox().len();
    let mut dev = Connection::resume(addr, state).await.expect("resume");
    let mut got = Vec::new();
    let connected = async {
        loop {
            match dev.next_event().await {
                Ok(Some(ClientEvent::Connected { .. })) => break,
                Ok(Some(ClientEvent::OperationResult(r))) => {
                    got.push((r.op_id.clone(), r.outcome.expect("outcome")));
                }
                Ok(Some(_)) => {}
                other => panic!("ended: {other:?}"),
            }
        }
    };
    tokio::time::timeout(LIMIT, connected)
        .await
        .expect("connected");
    Resumed { dev, want, got }
}

/// Waits (bounded) until every operation of a resumed outbox is answered;
/// the answers by op id.
pub async fn drain(resumed: Resumed) -> Vec<(Vec<u8>, Outcome)> {
    let Resumed {
        mut dev,
        want,
        mut got,
    } = resumed;
    let wait = async {
        while got.len() < want {
            match dev.next_event().await {
                Ok(Some(ClientEvent::OperationResult(r))) => {
                    got.push((r.op_id.clone(), r.outcome.expect("outcome")));
                }
                Ok(Some(_)) => {}
                other => panic!("ended: {other:?}"),
            }
        }
    };
    tokio::time::timeout(LIMIT * 10, wait)
        .await
        .expect("answers");
    got
}
