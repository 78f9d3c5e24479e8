//! Tools for attacking a server in tests: a device that sends whatever it
//! likes and never reads, the process's memory, and a legitimate device's
//! reconnect-and-sync time.
#![allow(dead_code, unreachable_pub)]

use super::{LIMIT, Town, holds, try_until};
use std::time::{Duration, Instant};
use tidings::proto::{self, Envelope, operation};
use tidings::session::{ClientConfig, ClientSession, ClientState};
use tidings_server::client::Connection;
use tidings_server::clock::{now_ms, random};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::task::JoinHandle;

/// Resident memory of this process (server and attackers), in bytes.
pub fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

pub const MIB: u64 = 1 << 20;

/// An enrolled device that sends and never looks at what comes back.
pub struct Raw {
    write: OwnedWriteHalf,
    session: ClientSession,
    drain: JoinHandle<()>,
    received: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl Raw {
    /// Reconnects `state` (IK) and completes the handshake.
    pub async fn resume(addr: &str, state: ClientState) -> Self {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        let mut session = ClientSession::resume(ClientConfig::default(), state, random(), now_ms())
            .expect("resume");
        // Attack states live in memory only: nothing to save first.
        session.confirm_state_saved();
        let mut buf = vec![0; 64 << 10];
        let handshake = async {
            while let Some(bytes) = session.poll_transmit() {
                stream.write_all(&bytes).await.expect("send hello");
            }
            while !session.is_established() {
                let n = stream.read(&mut buf).await.expect("read");
                assert!(n > 0, "server closed during the handshake");
                session
                    .handle_bytes(now_ms(), &buf[..n])
                    .expect("handshake");
            }
        };
        tokio::time::timeout(LIMIT, handshake)
            .await
            .expect("handshake in time");
        let (mut read, write) = stream.into_split();
        let received = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let counter = received.clone();
        let drain = tokio::spawn(async move {
            let mut buf = vec![0; 64 << 10];
            while let Ok(n @ 1..) = read.read(&mut buf).await {
                counter.fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
            }
        });
        Self {
            write,
            session,
            drain,
            received,
        }
    }

    async fn flush(&mut self) -> std::io::Result<()> {
        while let Some(bytes) = self.session.poll_transmit() {
            self.write.write_all(&bytes).await?;
        }
        Ok(())
    }

    /// Submits an operation.
    pub async fn submit(&mut self, kind: operation::Kind) -> std::io::Result<()> {
        self.session
            .submit(now_ms(), random(), kind)
            .map_err(std::io::Error::other)?;
        self.flush().await
    }

    /// Sends any envelope, even one a well-behaved client never would.
    pub async fn envelope(&mut self, envelope: &Envelope) -> std::io::Result<()> {
        let mut padded = Vec::new();
        tidings::compress::pad(&proto::encode(envelope), &mut padded);
        self.session
            .send_plaintext_for_testing_only(now_ms(), &padded)
            .map_err(std::io::Error::other)?;
        self.flush().await
    }

    /// Encrypts `n` operations made by `make` in advance and returns the
    /// bytes, so that sending them costs this process (which also runs the
    /// server) no CPU: a real attacker's CPU is its own.
    pub fn prepare_ops(&mut self, n: usize, mut make: impl FnMut() -> operation::Kind) -> Vec<u8> {
        let mut bytes = Vec::new();
        for _ in 0..n {
            self.session
                .submit(now_ms(), random(), make())
                .expect("queue an operation");
            while let Some(b) = self.session.poll_transmit() {
                bytes.extend_from_slice(&b);
            }
        }
        bytes
    }

    /// [`prepare_ops`](Self::prepare_ops) for envelopes.
    pub fn prepare_envelopes(&mut self, n: usize, envelope: &Envelope) -> Vec<u8> {
        let mut padded = Vec::new();
        tidings::compress::pad(&proto::encode(envelope), &mut padded);
        let mut bytes = Vec::new();
        for _ in 0..n {
            self.session
                .send_plaintext_for_testing_only(now_ms(), &padded)
                .expect("queue an envelope");
            while let Some(b) = self.session.poll_transmit() {
                bytes.extend_from_slice(&b);
            }
        }
        bytes
    }

    /// Sends prepared bytes (waiting while the server does not read).
    pub async fn send(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.write.write_all(bytes).await
    }

    /// A counter of the bytes the server sent back (answers to the attack).
    pub fn received(&self) -> std::sync::Arc<std::sync::atomic::AtomicU64> {
        self.received.clone()
    }

    /// Whether the server closed the connection.
    pub fn closed(&self) -> bool {
        self.drain.is_finished()
    }
}

impl Drop for Raw {
    fn drop(&mut self) {
        self.drain.abort();
    }
}

/// The median of some durations.
pub fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples.get(samples.len() / 2).copied().unwrap_or_default()
}

/// A legitimate device's saved state, and how it measures itself.
pub struct Legit {
    pub email: &'static str,
    pub state: Option<ClientState>,
    pub addr: String,
}

impl Legit {
    /// Enrolls a device of `email`, syncs it and disconnects.
    pub async fn new(town: &Town, email: &'static str) -> Self {
        let device = town.device(email, "legit").await;
        let state = device.close().await.expect("close");
        Self {
            email,
            state: Some(state),
            addr: town.server.tcp_addr().expect("tcp").to_string(),
        }
    }

    /// One reconnect-and-sync: new mail is delivered while the device is
    /// away; the time runs from connecting until it holds everything.
    pub async fn reconnect_and_sync(&mut self, town: &Town, round: usize) -> Duration {
        let mut admin = town.admin();
        let raw = super::mail(self.email, &format!("legit round {round}"));
        tidings_server::admin::deliver_mail(&mut admin, self.email, &raw).expect("deliver");
        let expected = town.visible_items(self.email);
        let started = Instant::now();
        let state = self.state.take().expect("state");
        let mut device = Connection::resume(&self.addr, state).await.expect("resume");
        assert!(
            try_until(&mut device, |s| holds(s) == expected).await,
            "legit device did not sync within {LIMIT:?}"
        );
        let took = started.elapsed();
        self.state = Some(device.close().await.expect("close"));
        took
    }

    /// The median of `n` reconnect-and-syncs.
    pub async fn measure(&mut self, town: &Town, n: usize, first_round: usize) -> Duration {
        let mut samples = Vec::new();
        for round in first_round..first_round + n {
            samples.push(self.reconnect_and_sync(town, round).await);
        }
        median(samples)
    }
}

/// A reconnect-and-sync takes 3–10 ms on loopback; on a shared two-core
/// machine, scheduling alone moves single samples by tens of milliseconds.
/// Ratios are taken against a baseline of at least this much, so that they
/// measure the attack (the were seconds: 10 s handshake timeouts,
/// 2.65 s Welcome delays), not the neighbours.
pub const NOISE_FLOOR: Duration = Duration::from_millis(20);

/// `attack / baseline`, the baseline taken as at least [`NOISE_FLOOR`].
pub fn ratio(attack: Duration, baseline: Duration) -> f64 {
    attack.as_secs_f64() / baseline.max(NOISE_FLOOR).as_secs_f64()
}
