//! Hostile devices, strangers and admin jobs against the real server over
//! loopback (issue 13). Each test runs one attack and asserts, against
//! figures measured in the same run, that a legitimate device's
//! reconnect-and-sync time stays within twice its time without the attack,
//! that memory growth stays within a stated bound, and that an
//! administrator's revocation gets through.
//!
//! The tests run one at a time (they measure the process's memory and
//! time); every attack is bounded in count and time.

mod common;

use common::hostile::{Legit, MIB, Raw, ratio, rss_bytes};
use common::{LIMIT, Town, collection, try_until};
use std::time::{Duration, Instant};
use tidings::proto::{
    Address, Envelope, Hello, OutgoingMail, Refetch, Search, SendMail, envelope::Body,
    operation::Kind,
};
use tidings::store::{Directory, ItemStore};
use tidings_server::admin;
use tidings_server::server::{Limits, ServerOptions};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// One test at a time: they measure this process's memory and latency.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const MAYOR: &str = "mayor@town.example";
const CHIEF: &str = "chief@town.example";
const LEGIT: &str = "cllr.hughes@town.example";

/// Reconnect-and-syncs per median.
const SAMPLES: usize = 7;

/// Most a legitimate device may slow down under attack.
const MAX_RATIO: f64 = 2.0;

/// An enrolled attacker of `email`, connected and synced, as a raw sender.
async fn attacker(town: &Town, email: &str) -> (Raw, u64) {
    let device = town.device(email, "attacker").await;
    let state = device.close().await.expect("close");
    let device_id = state.device_id();
    let raw = Raw::resume(&town.server.tcp_addr().expect("tcp").to_string(), state).await;
    (raw, device_id)
}

fn report(attack: &str, baseline: Duration, during: Duration, rss_growth: u64) {
    println!(
        "{attack}: legit reconnect-and-sync {:.1} ms without, {:.1} ms during (ratio {:.2}); RSS growth {:.1} MiB",
        baseline.as_secs_f64() * 1e3,
        during.as_secs_f64() * 1e3,
        ratio(during, baseline),
        rss_growth as f64 / MIB as f64,
    );
}

/// Runs `attack` (a task that loops until aborted) and measures the legit
/// device during it; returns (baseline, during, RSS growth).
async fn under_attack(
    town: &Town,
    legit: &mut Legit,
    attack: impl std::future::Future<Output = ()> + Send + 'static,
) -> (Duration, Duration, u64) {
    let baseline = legit.measure(town, SAMPLES, 0).await;
    let rss_before = rss_bytes();
    let task = tokio::spawn(attack);
    // Let the attack get going.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let during = legit.measure(town, SAMPLES, 100).await;
    let rss_growth = rss_bytes().saturating_sub(rss_before);
    task.abort();
    (baseline, during, rss_growth)
}

// ---- attacks 1 and 2: a device floods the store with reads ----

/// Operations or messages one flooding attacker sends (bounded).
const FLOOD: usize = 2000;

/// A search naming `inbox` 500 times.
fn search(inbox: u64) -> Kind {
    Kind::Search(Search {
        query: "gritting".into(),
        collection_ids: vec![inbox; 500],
        limit: 200,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_search_flood_slows_only_the_attacker_and_cannot_block_its_revocation() {
    let _serial = SERIAL.lock().await;
    let town = Town::new().await;
    let mut legit = Legit::new(&town, LEGIT).await;
    let (mut raw, _) = attacker(&town, CHIEF).await;
    let inbox = collection(&town, CHIEF, "Inbox");
    // Each search names the attacker's own Inbox many times over; they are
    // sent without waiting for answers.
    let flood = raw.prepare_ops(FLOOD, || search(inbox));
    let answers = raw.received();
    let (baseline, during, growth) = under_attack(&town, &mut legit, async move {
        let _ = raw.send(&flood).await;
        std::future::pending::<()>().await;
    })
    .await;
    report("search flood", baseline, during, growth);
    let answered = answers.load(std::sync::atomic::Ordering::Relaxed);
    println!("the attacker got {answered} bytes of answers meanwhile");
    assert!(answered > 0, "the attack never reached the store");
    assert!(
        ratio(during, baseline) <= MAX_RATIO,
        "legit device slowed {:.2}x",
        ratio(during, baseline)
    );

    // Revocation, from another process's connection, while it attacks.
    let (mut raw, attacker_id) = attacker(&town, CHIEF).await;
    let bytes = raw.prepare_ops(FLOOD, || search(inbox));
    let flood = tokio::spawn(async move {
        let _ = raw.send(&bytes).await;
        // Cut off: the server closes the connection.
        let started = Instant::now();
        while started.elapsed() < LIMIT {
            if raw.closed() {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        false
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let db = town.db.clone();
    let started = Instant::now();
    tokio::task::spawn_blocking(move || {
        let mut admin = tidings_server::store::SqliteStore::open(
            &db,
            tidings_server::store::Durability::Process,
        )
        .expect("open");
        admin::revoke(&mut admin, attacker_id).expect("revoke gets through");
    })
    .await
    .expect("revoke job");
    let revoke_took = started.elapsed();
    let cut_off = tokio::time::timeout(LIMIT, flood).await;
    println!("revoke during the flood took {revoke_took:?}");
    assert!(
        revoke_took < Duration::from_secs(2),
        "revoke waited {revoke_took:?}"
    );
    assert!(
        matches!(cut_off, Ok(Ok(true))),
        "the revoked attacker was not cut off"
    );
}

// ---- attack 3: one Refetch repeating a large item ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_refetches_do_not_slow_other_devices() {
    let _serial = SERIAL.lock().await;
    let town = Town::new().await;
    let mut legit = Legit::new(&town, LEGIT).await;
    let inbox = collection(&town, CHIEF, "Inbox");
    let item = town.admin().items(inbox).expect("items")[0].0;
    let (mut raw, _) = attacker(&town, CHIEF).await;
    let refetch = Envelope {
        body: Some(Body::Refetch(Refetch {
            collection_id: inbox,
            item_ids: vec![item; 4000],
        })),
    };
    let flood = raw.prepare_envelopes(FLOOD / 10, &refetch);
    let (baseline, during, growth) = under_attack(&town, &mut legit, async move {
        let _ = raw.send(&flood).await;
        // Keep the connection (and its answers) until aborted.
        std::future::pending::<()>().await;
    })
    .await;
    report("refetch repeats", baseline, during, growth);
    assert!(ratio(during, baseline) <= MAX_RATIO);
}

// ---- attack 4: Hello after Hello ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_hellos_do_not_slow_other_devices() {
    let _serial = SERIAL.lock().await;
    let town = Town::new().await;
    let mut legit = Legit::new(&town, LEGIT).await;
    let (mut raw, _) = attacker(&town, CHIEF).await;
    let hello = Envelope {
        body: Some(Body::Hello(Hello::default())),
    };
    let flood = raw.prepare_envelopes(FLOOD, &hello);
    let (baseline, during, growth) = under_attack(&town, &mut legit, async move {
        let _ = raw.send(&flood).await;
        // Keep the connection (and its answers) until aborted.
        std::future::pending::<()>().await;
    })
    .await;
    report("hello repeats", baseline, during, growth);
    assert!(ratio(during, baseline) <= MAX_RATIO);
}

// ---- attack 5: one SendMail naming a recipient a thousand times ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_recipients_do_not_slow_other_devices() {
    let _serial = SERIAL.lock().await;
    let town = Town::new().await;
    let mut legit = Legit::new(&town, LEGIT).await;
    let (mut raw, _) = attacker(&town, CHIEF).await;
    let flood = raw.prepare_ops(FLOOD / 20, || {
        let to = Address {
            name: "Mayor".into(),
            email: MAYOR.into(),
        };
        Kind::SendMail(SendMail {
            mail: Some(OutgoingMail {
                to: vec![to; 1000],
                subject: "again".into(),
                text: "and again".into(),
                ..OutgoingMail::default()
            }),
        })
    });
    let (baseline, during, growth) = under_attack(&town, &mut legit, async move {
        let _ = raw.send(&flood).await;
        // Keep the connection (and its answers) until aborted.
        std::future::pending::<()>().await;
    })
    .await;
    report("recipient repeats", baseline, during, growth);
    assert!(ratio(during, baseline) <= MAX_RATIO);
}

// ---- attack 6: strangers that never finish a handshake ----

/// Opens `n` TCP connections that each send a frame header claiming
/// `claim` bytes, then a few of them, and stall.
async fn stalled_strangers(addr: &str, n: usize, claim: u16) -> Vec<TcpStream> {
    let mut held = Vec::with_capacity(n);
    for _ in 0..n {
        let Ok(mut stream) = TcpStream::connect(addr).await else {
            continue;
        };
        let mut start = claim.to_be_bytes().to_vec();
        start.extend_from_slice(&[1, 1, 0, 0, 0, 0]);
        if stream.write_all(&start).await.is_ok() {
            held.push(stream);
        }
    }
    held
}

/// How many of `streams` the server has closed (within `wait`).
async fn closed_by_server(streams: &mut [TcpStream], wait: Duration) -> usize {
    let mut closed = 0;
    let deadline = tokio::time::Instant::now() + wait;
    for stream in streams {
        let mut byte = [0u8; 1];
        let read = tokio::time::timeout_at(deadline, stream.read(&mut byte)).await;
        if matches!(read, Ok(Ok(0) | Err(_))) {
            closed += 1;
        }
    }
    closed
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_thousand_stalled_strangers_cost_little_and_expire() {
    let _serial = SERIAL.lock().await;
    const STRANGERS: usize = 3000;
    const DEADLINE: u64 = 4;
    let town = Town::with(|o: &mut ServerOptions| {
        o.limits = Limits {
            handshake_timeout_secs: DEADLINE,
            // All come from 127.0.0.1, as does the legit device.
            max_connections_per_source: 10_000,
            max_unauthenticated_per_source: 10_000,
            ..Limits::DEFAULT
        };
    })
    .await;
    let mut legit = Legit::new(&town, LEGIT).await;
    let addr = town.server.tcp_addr().expect("tcp").to_string();
    let baseline = legit.measure(&town, SAMPLES, 0).await;
    let rss_before = rss_bytes();
    let started = Instant::now();
    let mut strangers = stalled_strangers(&addr, STRANGERS, 16_000).await;
    let during = legit.measure(&town, SAMPLES, 100).await;
    let growth = rss_bytes().saturating_sub(rss_before);
    report("3,000 stalled strangers", baseline, during, growth);
    assert!(
        strangers.len() >= STRANGERS * 9 / 10,
        "could not open the strangers"
    );
    assert!(ratio(during, baseline) <= MAX_RATIO);
    assert!(
        growth <= 64 * MIB,
        "3,000 strangers cost {} MiB",
        growth / MIB
    );
    // Every one is closed by the deadline (plus scheduling slack).
    let left = Duration::from_secs(DEADLINE + 5).saturating_sub(started.elapsed());
    let closed = closed_by_server(&mut strangers, left).await;
    assert_eq!(
        closed,
        strangers.len(),
        "strangers outlived the handshake deadline"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_frame_over_the_handshake_limit_is_refused_at_once() {
    let _serial = SERIAL.lock().await;
    let town = Town::new().await;
    let addr = town.server.tcp_addr().expect("tcp").to_string();
    let over = u16::try_from(Limits::DEFAULT.max_handshake_bytes + 1).expect("fits");
    let mut strangers = stalled_strangers(&addr, 1, over).await;
    let closed = closed_by_server(&mut strangers, Duration::from_secs(2)).await;
    assert_eq!(closed, 1, "an oversized handshake frame was buffered");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strangers_from_one_source_are_capped() {
    let _serial = SERIAL.lock().await;
    let town = Town::with(|o: &mut ServerOptions| {
        o.limits = Limits {
            max_unauthenticated_per_source: 20,
            ..Limits::DEFAULT
        };
    })
    .await;
    let addr = town.server.tcp_addr().expect("tcp").to_string();
    let mut strangers = stalled_strangers(&addr, 30, 100).await;
    let closed = closed_by_server(&mut strangers, Duration::from_secs(2)).await;
    assert_eq!(
        closed, 10,
        "the 10 over the per-source cap are closed at once"
    );
}

/// Like [`stalled_strangers`], from source address `from` (any of
/// 127.0.0.0/8 reaches a loopback listener).
async fn stalled_strangers_from(addr: &str, from: [u8; 4], n: usize) -> Vec<TcpStream> {
    let mut held = Vec::with_capacity(n);
    for _ in 0..n {
        let socket = tokio::net::TcpSocket::new_v4().expect("socket");
        socket.bind((from, 0).into()).expect("bind the source");
        let mut stream = socket
            .connect(addr.parse().expect("addr"))
            .await
            .expect("connect");
        stream
            .write_all(&[0, 100, 1, 1])
            .await
            .expect("a frame's start");
        held.push(stream);
    }
    held
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strangers_from_many_sources_cannot_keep_a_device_out() {
    let _serial = SERIAL.lock().await;
    const PER_SOURCE: usize = 10;
    const SOURCES: u8 = 4;
    let town = Town::with(|o: &mut ServerOptions| {
        o.limits = Limits {
            max_unauthenticated: PER_SOURCE * usize::from(SOURCES),
            max_unauthenticated_per_source: PER_SOURCE,
            ..Limits::DEFAULT
        };
    })
    .await;
    let mut legit = Legit::new(&town, LEGIT).await;
    let addr = town.server.tcp_addr().expect("tcp").to_string();
    // 127.0.0.2 to .5 fill the whole room with stalled handshakes.
    let mut strangers = Vec::new();
    for source in 2..2 + SOURCES {
        strangers.extend(stalled_strangers_from(&addr, [127, 0, 0, source], PER_SOURCE).await);
    }
    // The device, from 127.0.0.1 (holding no stranger), still gets in: the
    // oldest stranger of a source holding the most makes way.
    tokio::time::timeout(Duration::from_secs(5), legit.reconnect_and_sync(&town, 0))
        .await
        .expect("the device got in while strangers filled the room");
    let closed = closed_by_server(&mut strangers, Duration::from_millis(500)).await;
    assert!(closed >= 1, "a stranger made way for the device");
    assert!(
        closed < strangers.len() / 2,
        "only as many strangers made way as newcomers needed ({closed} closed)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_websockets_and_slow_http_headers_are_bounded_and_dropped() {
    let _serial = SERIAL.lock().await;
    const SOCKETS: usize = 500;
    let town = Town::with(|o: &mut ServerOptions| {
        o.limits = Limits {
            handshake_timeout_secs: 3,
            http_header_timeout_secs: 1,
            max_connections_per_source: 10_000,
            max_unauthenticated_per_source: 10_000,
            ..Limits::DEFAULT
        };
    })
    .await;
    let http = town.server.http_addr().expect("http");
    let url = town.server.ws_url().expect("ws");

    // A client that never finishes its request headers is dropped.
    let mut slow = TcpStream::connect(http).await.expect("connect");
    slow.write_all(b"GET /tidings HTTP/1.1\r\nHost: x\r\n")
        .await
        .expect("send");
    let started = Instant::now();
    let mut sink = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), slow.read_to_end(&mut sink)).await;
    assert!(read.is_ok(), "slow headers kept the connection open");
    assert!(started.elapsed() < Duration::from_secs(4));

    // Nor does a client that got its answer and then idles on keep-alive.
    let mut idle = TcpStream::connect(http).await.expect("connect");
    idle.write_all(b"GET /nothing-here HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("send");
    let started = Instant::now();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), idle.read_to_end(&mut answer)).await;
    assert!(read.is_ok(), "an idle keep-alive connection was kept open");
    assert!(
        answer.starts_with(b"HTTP/1.1 404"),
        "no answer before closing"
    );
    assert!(started.elapsed() < Duration::from_secs(4));

    // Nor a client that keeps asking, one request at a time, and never
    // upgrades: it is closed by twice the handshake deadline.
    let mut chatty = TcpStream::connect(http).await.expect("connect");
    let started = Instant::now();
    let mut buf = [0; 4096];
    let closed = loop {
        if started.elapsed() > Duration::from_secs(10) {
            break false;
        }
        let asked = chatty
            .write_all(b"GET /nothing-here HTTP/1.1\r\nHost: x\r\n\r\n")
            .await;
        let read = tokio::time::timeout(Duration::from_millis(500), chatty.read(&mut buf)).await;
        match (asked, read) {
            (Err(_), _) | (_, Ok(Ok(0) | Err(_))) => break true,
            _ => tokio::time::sleep(Duration::from_millis(500)).await,
        }
    };
    assert!(closed, "a keep-alive client held its slot for 10 s");
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );

    // Upgraded sockets that never say anything cost little and expire.
    let rss_before = rss_bytes();
    let mut sockets = Vec::new();
    for _ in 0..SOCKETS {
        if let Ok((socket, _)) = tokio_tungstenite::connect_async(url.as_str()).await {
            sockets.push(socket);
        }
    }
    let growth = rss_bytes().saturating_sub(rss_before);
    println!(
        "{} stalled WebSockets: RSS growth {:.1} MiB",
        sockets.len(),
        growth as f64 / MIB as f64
    );
    assert!(sockets.len() >= SOCKETS * 9 / 10);
    // Both ends live in this process: 64 KiB per socket covers both.
    assert!(growth <= (SOCKETS as u64) * 64 * 1024);
    use futures_util::StreamExt;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(8);
    let mut closed = 0;
    for socket in &mut sockets {
        loop {
            match tokio::time::timeout_at(deadline, socket.next()).await {
                Ok(None | Some(Err(_))) => {
                    closed += 1;
                    break;
                }
                Ok(Some(Ok(message))) if message.is_close() => {
                    closed += 1;
                    break;
                }
                Ok(Some(Ok(_))) => {}
                Err(_) => break,
            }
        }
    }
    assert_eq!(
        closed,
        sockets.len(),
        "stalled WebSockets outlived the deadline"
    );
}

/// A WebSocket that pings and never reads made the server queue a pong
/// per ping without bound (2.4 GB in 10 s). Its unsent output is now
/// capped: 256 MiB of pings, read by the server, leave its memory where it
/// was (the server and this client share the process: both are counted).
/// A WebSocket upgraded by hand on a socket with a small receive buffer,
/// to send frames the server's peers never would.
async fn raw_websocket(town: &Town) -> TcpStream {
    let url = town.server.ws_url().expect("ws");
    let path = url.splitn(4, '/').nth(3).unwrap_or_default();
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket
        .set_recv_buffer_size(4096)
        .expect("small receive buffer");
    let mut stream = socket
        .connect(town.server.http_addr().expect("http"))
        .await
        .expect("connect");
    let upgrade = format!(
        "GET /{path} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    stream.write_all(upgrade.as_bytes()).await.expect("upgrade");
    let mut answer = Vec::new();
    while !answer.ends_with(b"\r\n\r\n") {
        let mut byte = [0];
        stream.read_exact(&mut byte).await.expect("answer");
        answer.push(byte[0]);
    }
    assert!(
        answer.starts_with(b"HTTP/1.1 101"),
        "{}",
        String::from_utf8_lossy(&answer)
    );
    stream
}

/// A stranger's WebSocket message that never ends: a binary frame without
/// FIN, then empty continuation frames as fast as it can send them. Each is
/// within every bound on messages, and the session never sees a byte, so
/// it was read until the handshake deadline (1.7 cores for 64 of them).
/// A stranger may send so many bytes before it authenticates, and no more.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_strangers_websocket_message_of_empty_frames_is_cut_off() {
    let _serial = SERIAL.lock().await;
    let town = Town::with(|o: &mut ServerOptions| {
        o.limits = Limits {
            handshake_timeout_secs: 600,
            ..Limits::DEFAULT
        };
    })
    .await;
    let mut stream = raw_websocket(&town).await;
    let mask = [0x12, 0x34, 0x56, 0x78];
    let mut frames = vec![0x02, 0x80 | 1];
    frames.extend_from_slice(&mask);
    frames.push(mask[0]);
    let empty = [0x00, 0x80, mask[0], mask[1], mask[2], mask[3]];
    let burst = empty.repeat(1000);
    stream.write_all(&frames).await.expect("first frame");
    const LIMIT_SENT: u64 = 16 * MIB;
    let mut sent = frames.len() as u64;
    let cut_off = loop {
        if sent > LIMIT_SENT {
            break false;
        }
        match tokio::time::timeout(Duration::from_secs(10), stream.write_all(&burst)).await {
            Ok(Ok(())) => sent += burst.len() as u64,
            Ok(Err(_)) => break true,
            // No longer read: the server stopped reading it, which the
            // end of the connection shows next.
            Err(_) => break true,
        }
    };
    assert!(cut_off, "{sent} bytes of empty frames taken");
    let mut rest = Vec::new();
    let ended = tokio::time::timeout(LIMIT, stream.read_to_end(&mut rest)).await;
    assert!(ended.is_ok(), "the server ended the connection");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_websocket_that_pings_without_reading_costs_no_memory() {
    let _serial = SERIAL.lock().await;
    let town = Town::with(|o: &mut ServerOptions| {
        // The handshake deadline must not be what closes it.
        o.limits = Limits {
            handshake_timeout_secs: 600,
            ..Limits::DEFAULT
        };
    })
    .await;
    let mut stream = raw_websocket(&town).await;
    // Masked pings of 125 bytes (zeros under the mask), a thousand a write.
    let mask = [0x12, 0x34, 0x56, 0x78];
    let mut ping = vec![0x89, 0x80 | 125];
    ping.extend_from_slice(&mask);
    ping.extend((0..125).map(|i| mask[i % 4]));
    let pings = ping.repeat(1000);
    const FLOOD: u64 = 256 * MIB;
    let rss_before = rss_bytes();
    let mut sent = 0u64;
    while sent < FLOOD {
        match tokio::time::timeout(Duration::from_secs(30), stream.write_all(&pings)).await {
            Ok(Ok(())) => sent += pings.len() as u64,
            // Ended by the server, or no longer read: either way bounded.
            Ok(Err(_)) | Err(_) => break,
        }
    }
    let growth = rss_bytes().saturating_sub(rss_before);
    println!(
        "{:.1} MiB of pings: RSS growth {:.1} MiB",
        sent as f64 / MIB as f64,
        growth as f64 / MIB as f64
    );
    assert!(
        growth < 32 * MIB,
        "{growth} bytes for {sent} bytes of pings"
    );
}

// ---- attack 7: enrollment guesses ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enrollment_attempts_are_rate_limited() {
    let _serial = SERIAL.lock().await;
    const ATTEMPTS: usize = 60;
    let town = Town::new().await;
    let activation = town.activation(LEGIT);
    let addr = activation.tcp.clone().expect("tcp");
    let mut answered = 0;
    for _ in 0..ATTEMPTS {
        if xk_attempt(&activation, &addr, [127, 0, 0, 1]).await {
            answered += 1;
        }
    }
    let burst = Limits::DEFAULT.enroll_per_minute_per_source as usize;
    println!("{answered} of {ATTEMPTS} enrollment attempts answered (per-source burst {burst})");
    assert!(answered >= 1, "no attempt at all was answered");
    assert!(answered <= burst + 1, "{answered} attempts got through");
    // Another source still gets its own share (the global rate is higher).
    assert!(
        xk_attempt(&activation, &addr, [127, 0, 0, 2]).await,
        "one source's guessing shut out another source"
    );
}

/// Opens an enrollment (XK message 1) from `source`; whether the server
/// answered it (message 2) rather than closing the connection.
async fn xk_attempt(
    activation: &tidings_server::activation::Activation,
    addr: &str,
    source: [u8; 4],
) -> bool {
    let state =
        tidings::session::ClientState::new(tidings_server::clock::random(), activation.server_key);
    let mut session = tidings::session::ClientSession::enroll(
        tidings::session::ClientConfig::default(),
        state,
        &activation.code.display(),
        "guess",
        tidings_server::clock::random(),
        tidings_server::clock::now_ms(),
    )
    .expect("enroll");
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket
        .bind(std::net::SocketAddr::from((source, 0)))
        .expect("bind");
    let mut stream = socket
        .connect(addr.parse().expect("address"))
        .await
        .expect("connect");
    while let Some(bytes) = session.poll_transmit() {
        stream.write_all(&bytes).await.expect("send");
    }
    let mut buf = [0u8; 256];
    let read = tokio::time::timeout(Duration::from_secs(2), stream.read(&mut buf)).await;
    matches!(read, Ok(Ok(n)) if n > 0)
}

// ---- attack 8: an admin job holding the write lock ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_writer_in_another_process_delays_no_reads_and_drops_no_bytes() {
    let _serial = SERIAL.lock().await;
    let town = Town::new().await;
    let mut reader = town.device(LEGIT, "reader").await;
    let mut writer = town.device(CHIEF, "writer").await;
    let inbox = collection(&town, CHIEF, "Inbox");
    let item = town.admin().items(inbox).expect("items")[0].0;
    // Another process takes the write lock and holds it.
    const HOLD: Duration = Duration::from_secs(3);
    let db = town.db.clone();
    let (locked_tx, locked_rx) = tokio::sync::oneshot::channel();
    let holder = tokio::task::spawn_blocking(move || {
        let conn = rusqlite_open(&db);
        conn.execute_batch("BEGIN IMMEDIATE").expect("lock");
        let _ = locked_tx.send(());
        std::thread::sleep(HOLD);
        conn.execute_batch("COMMIT").expect("unlock");
    });
    locked_rx.await.expect("locked");
    let locked_at = Instant::now();
    // A write waits for the lock, and is applied once it is free.
    let op = writer
        .submit(Kind::SetFlags(tidings::proto::SetFlags {
            collection_id: inbox,
            item_ids: vec![item],
            set: 1,
            clear: 0,
        }))
        .await
        .expect("submit");
    // A read by another device is answered while the lock is held.
    let search = reader
        .submit(Kind::Search(Search {
            query: "planning".into(),
            collection_ids: Vec::new(),
            limit: 10,
        }))
        .await
        .expect("submit");
    let answered = reader
        .wait_for(LIMIT, |e| match e {
            tidings::session::ClientEvent::OperationResult(r) if r.op_id == search => Some(()),
            _ => None,
        })
        .await;
    let read_took = locked_at.elapsed();
    assert!(answered.is_ok(), "the search was not answered");
    assert!(
        read_took < HOLD,
        "a read waited {read_took:?} for the writer"
    );
    let applied = writer
        .wait_for(LIMIT, |e| match e {
            tidings::session::ClientEvent::OperationResult(r) if r.op_id == op => Some(()),
            _ => None,
        })
        .await;
    assert!(applied.is_ok(), "the write was dropped");
    assert!(locked_at.elapsed() >= HOLD - Duration::from_millis(100));
    holder.await.expect("holder");
    let (_, flags) = town.admin().item(inbox, item).expect("read").expect("item");
    assert_eq!(flags & 1, 1, "the flag was not stored");
}

fn rusqlite_open(db: &std::path::Path) -> rusqlite::Connection {
    let conn = rusqlite::Connection::open(db).expect("open");
    conn.busy_timeout(Duration::from_secs(10)).expect("timeout");
    conn
}

// ---- delegation changes from another process ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_delegation_stops_live_pushes_at_once() {
    let _serial = SERIAL.lock().await;
    let town = Town::new().await;
    let mut chief = town.device(CHIEF, "chief").await;
    let calendar = {
        let store = town.admin();
        let mayor = admin::principal(&store, MAYOR).expect("mayor");
        admin::calendar(&store, mayor.id).expect("calendar")
    };
    let ics = |uid: &str| {
        format!(
            "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20261201T090000Z\r\nDTSTART:20261210T090000Z\r\nDTEND:20261210T100000Z\r\nSUMMARY:{uid}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
        )
    };
    let count = |s: &tidings::session::ClientSession| {
        s.state()
            .replica()
            .collection(calendar)
            .map_or(0, |r| r.items().len())
    };
    // While delegated, a new event reaches the chief's device.
    let before = count(chief.session());
    admin::add_events(&mut town.admin(), calendar, &ics("delegated")).expect("add");
    assert!(try_until(&mut chief, |s| count(s) == before + 1).await);
    // The mayor withdraws the delegation from another process.
    {
        let mut store = town.admin();
        let chief_p = admin::principal(&store, CHIEF).expect("chief");
        store
            .grant(calendar, chief_p.id, tidings::sync::Rights::NONE)
            .expect("withdraw");
        assert!(
            store
                .visible_collections(chief_p.id)
                .expect("visible")
                .iter()
                .all(|(c, _)| c.id != calendar)
        );
    }
    // Give the server a moment to notice (it polls every 10 ms here).
    tokio::time::sleep(Duration::from_millis(300)).await;
    admin::add_events(&mut town.admin(), calendar, &ics("private")).expect("add");
    let leaked = tokio::time::timeout(Duration::from_secs(2), async {
        loop {
            match chief.next_event().await {
                Ok(Some(_)) if count(chief.session()) > before + 1 => return true,
                Ok(Some(_)) => {}
                _ => return false,
            }
        }
    })
    .await
    .unwrap_or(false);
    assert!(
        !leaked,
        "an event pushed after the delegation was withdrawn"
    );
}
