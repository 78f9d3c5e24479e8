//! A lost answer never locks a device out (issue 14): a real proxy on
//! loopback forwards the device's IK hello to the reference server and drops
//! the server's message 2; the device then reconnects. A device that comes
//! back with a stale state is answered with the floor and recovers.

mod common;

use common::{LIMIT, Town};
use tidings::ErrorKind;
use tidings::session::{ClientEvent, ClientState};
use tidings::store::DeviceRegistry;
use tidings_server::client::Connection;
use tidings_server::seed;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// Accepts one connection, forwards what the device sends to `server`, and
/// drops everything the server answers; closes both sides once the server
/// has answered. Returns the proxy's address and how many bytes it dropped.
async fn dropping_proxy(server: String) -> (String, tokio::task::JoinHandle<usize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    let task = tokio::spawn(async move {
        let (mut device, _) = listener.accept().await.expect("device");
        let mut upstream = tokio::net::TcpStream::connect(server)
            .await
            .expect("server");
        let mut buf = vec![0; 64 << 10];
        let n = device.read(&mut buf).await.expect("hello");
        upstream.write_all(&buf[..n]).await.expect("forward");
        // Message 2 arrives, and is lost.
        let dropped = tokio::time::timeout(LIMIT, upstream.read(&mut buf))
            .await
            .expect("the server answers")
            .expect("read");
        drop((device, upstream));
        dropped
    });
    (addr, task)
}

fn stored_hello(town: &Town, device: u64) -> Option<u64> {
    town.admin().device(device).expect("device").last_hello
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_whose_welcome_was_dropped_reconnects() {
    let town = Town::new().await;
    let phone = town.device(seed::CHIEF, "Sam's phone").await;
    let device = phone.session().state().device_id();
    let state = phone.close().await.expect("close");
    let tcp = town.server.tcp_addr().expect("tcp").to_string();

    // Through the proxy: the server accepts the hello, the answer is lost.
    let (proxy, task) = dropping_proxy(tcp.clone()).await;
    let mut saved = None;
    let mut lost = Connection::resume_saving(&proxy, state, |s| {
        saved = Some(s.to_bytes().to_vec());
        Ok(())
    })
    .await
    .expect("connect");
    let ended = lost
        .wait_for(LIMIT, |e| {
            matches!(e, ClientEvent::Connected { .. }).then_some(())
        })
        .await;
    assert!(ended.is_err(), "the answer never arrived");
    assert!(task.await.expect("proxy") > 0, "message 2 was dropped");
    let accepted = stored_hello(&town, device).expect("the server stored the hello");

    // The device restarts from the state it saved before sending.
    let state = ClientState::from_bytes(&saved.expect("saved before sending")).expect("state");
    assert!(state.next_hello_timestamp() > accepted);
    let mut again = Connection::resume(&tcp, state).await.expect("connect");
    again
        .wait_for(LIMIT, |e| {
            matches!(e, ClientEvent::Connected { .. }).then_some(())
        })
        .await
        .expect("connected again");
    town.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_hello_is_answered_with_the_floor_and_the_device_recovers() {
    let town = Town::new().await;
    let phone = town.device(seed::CHIEF, "Sam's phone").await;
    let state = phone.close().await.expect("close");
    let tcp = town.server.tcp_addr().expect("tcp").to_string();

    // A first reconnect stores a timestamp (the clock: about now).
    let first = Connection::resume(&tcp, state.clone())
        .await
        .expect("connect");
    let mut first = first;
    first
        .wait_for(LIMIT, |e| {
            matches!(e, ClientEvent::Connected { .. }).then_some(())
        })
        .await
        .expect("connected");
    let _ = first.close().await;

    // The old state, with its counter pushed far ahead: refused, answered.
    let mut raw: tidings::proto::ClientState =
        tidings::proto::decode(&state.to_bytes()).expect("state");
    raw.next_hello_timestamp = u64::MAX;
    let far = ClientState::from_bytes(&tidings::proto::encode(&raw)).expect("state");
    let mut refused = Connection::resume(&tcp, far).await.expect("connect");
    let error = refused
        .wait_for(LIMIT, |e| {
            matches!(e, ClientEvent::Connected { .. }).then_some(())
        })
        .await
        .expect_err("refused");
    assert_eq!(error.kind(), ErrorKind::Replay);
    let recovered = refused.session().state().clone();
    assert!(
        recovered.next_hello_timestamp() < u64::MAX,
        "the floor was adopted"
    );

    let mut back = Connection::resume(&tcp, recovered).await.expect("connect");
    back.wait_for(LIMIT, |e| {
        matches!(e, ClientEvent::Connected { .. }).then_some(())
    })
    .await
    .expect("connected after adopting the floor");
    town.server.shutdown().await;
}
