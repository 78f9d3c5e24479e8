//! One device's sessions are bounded, and what they share is the device's:
//! a session beyond the bound displaces the oldest (a handset whose dead
//! connection is not yet found gone gets in at once; a device cannot hold
//! the server's slots), and an enrolled device that never says Hello is
//! still a stranger, bounded by the handshake deadline.

mod common;

use common::{LIMIT, Town};
use std::time::{Duration, Instant};
use tidings::session::{ClientConfig, ClientEvent, ClientSession, ClientState};
use tidings_server::client::Connection;
use tidings_server::clock::{now_ms, random};
use tidings_server::seed;
use tidings_server::server::{Limits, ServerOptions};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Sessions of one device the reference server keeps at once.
const SESSIONS_PER_DEVICE: usize = 8;

/// Drives `device` until its session ends; whether it did within `limit`.
async fn ends_within(device: &mut Connection, limit: Duration) -> bool {
    let ended = async {
        loop {
            match device.next_event().await {
                Ok(None) | Err(_) | Ok(Some(ClientEvent::Closed { .. })) => return,
                Ok(Some(_)) => {}
            }
        }
    };
    tokio::time::timeout(limit, ended).await.is_ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_beyond_the_bound_displaces_the_devices_oldest() {
    let town = Town::new().await;
    let addr = town.server.tcp_addr().expect("tcp").to_string();
    let mut oldest = town.device(seed::CHIEF, "phone").await;
    let mut state = oldest.session().state().clone();
    let mut newer = Vec::new();
    for _ in 0..SESSIONS_PER_DEVICE {
        let mut device = Connection::resume(&addr, state.clone())
            .await
            .expect("resume");
        common::until(&mut device, ClientSession::is_caught_up).await;
        state = device.session().state().clone();
        newer.push(device);
    }
    assert!(
        ends_within(&mut oldest, LIMIT).await,
        "the oldest session outlived a ninth"
    );
    // The eight newer sessions are all still served: a mail reaches each.
    town.server
        .with_store(|s| {
            tidings_server::admin::deliver_mail(s, seed::CHIEF, &common::mail(seed::CHIEF, "Ninth"))
        })
        .expect("delivered");
    let inbox = common::collection(&town, seed::CHIEF, "Inbox");
    for device in &mut newer {
        common::until(device, |s| {
            common::subjects(s, inbox).contains(&"Ninth".to_string())
        })
        .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_enrolled_device_that_never_says_hello_is_closed_at_the_handshake_deadline() {
    let town = Town::with(|o: &mut ServerOptions| {
        o.limits = Limits {
            handshake_timeout_secs: 2,
            ..Limits::DEFAULT
        };
    })
    .await;
    let activation = town.activation(seed::CHIEF);
    let tcp = activation.tcp.clone().expect("payload names TCP");
    let mut stream = TcpStream::connect(tcp.as_str()).await.expect("connect");
    let state = ClientState::new(random(), activation.server_key);
    let mut session = ClientSession::enroll(
        ClientConfig::default(),
        state,
        &activation.code.display(),
        "silent",
        random(),
        now_ms(),
    )
    .expect("enroll");
    let started = Instant::now();
    let mut buf = vec![0; 16 << 10];
    let mut hello_held = false;
    let closed = loop {
        // Everything the device sends until it is enrolled, and nothing after.
        while let Some(bytes) = session.poll_transmit() {
            if session.state().device_id() == 0 {
                stream.write_all(&bytes).await.expect("send");
            } else {
                hello_held = true;
            }
        }
        match tokio::time::timeout(LIMIT, stream.read(&mut buf)).await {
            Ok(Ok(0) | Err(_)) => break true,
            Ok(Ok(n)) => {
                let _ = session.handle_bytes(now_ms(), &buf[..n]);
            }
            Err(_) => break false,
        }
    };
    assert!(
        hello_held,
        "the device was enrolled and its Hello held back"
    );
    assert!(closed, "the server kept a silent enrolled device");
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "closed after {:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_a_device_may_send_is_bounded_across_its_sessions_and_reconnects() {
    use tidings::proto::operation_result::Outcome;
    use tidings::proto::{Address, OutgoingMail, SendMail, operation::Kind};
    let town = Town::with(|o: &mut ServerOptions| {
        o.limits = Limits {
            send_mib_per_hour: 1,
            ..Limits::DEFAULT
        };
    })
    .await;
    let addr = town.server.tcp_addr().expect("tcp").to_string();
    let send = || {
        Kind::SendMail(SendMail {
            mail: Some(OutgoingMail {
                to: [seed::MAYOR, seed::CHIEF, "clerk@town.example"]
                    .iter()
                    .map(|email| Address {
                        name: String::new(),
                        email: (*email).into(),
                    })
                    .collect(),
                subject: "Minutes".into(),
                // Four copies of 48 KB: 0.18 MiB of the hour's 1 MiB.
                text: "minutes ".repeat(6_000),
                ..OutgoingMail::default()
            }),
        })
    };
    let refused = |outcome: &Outcome| matches!(outcome, Outcome::Error(e) if e.code == 608);
    let mut device = town.device(seed::CHIEF, "phone").await;
    for _ in 0..5 {
        let outcome = common::operate_within(&mut device, LIMIT, send()).await;
        assert!(matches!(outcome, Outcome::Done(_)), "{outcome:?}");
    }
    let outcome = common::operate_within(&mut device, LIMIT, send()).await;
    assert!(refused(&outcome), "a sixth send fits no more: {outcome:?}");
    // Neither a second session nor a reconnect buys more.
    let state = device.session().state().clone();
    let mut second = Connection::resume(&addr, state).await.expect("resume");
    common::until(&mut second, ClientSession::is_caught_up).await;
    let outcome = common::operate_within(&mut second, LIMIT, send()).await;
    assert!(refused(&outcome), "{outcome:?}");
    let state = second.close().await.expect("closed");
    drop(device);
    let mut again = Connection::resume(&addr, state).await.expect("resume");
    common::until(&mut again, ClientSession::is_caught_up).await;
    let outcome = common::operate_within(&mut again, LIMIT, send()).await;
    assert!(refused(&outcome), "{outcome:?}");
}
