//! A copy of a device's IK hello is closed before the server does any
//! X25519 work for it: a device draws a new ephemeral key for every
//! handshake, so a message 1 whose key the server has seen is a replay.
//! Answering one cost the server four X25519 operations and its sender
//! nothing; from forty addresses, 1.3–1.5 cores (security.md).

mod common;

use common::{LIMIT, Town};
use tidings::session::ClientEvent;
use tidings_server::client::Connection;
use tidings_server::seed;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Reads one whole frame (a 16-bit length, then the body) from `from`.
async fn read_frame(from: &mut TcpStream) -> Vec<u8> {
    let mut header = [0u8; 2];
    from.read_exact(&mut header).await.expect("frame header");
    let mut frame = header.to_vec();
    frame.resize(2 + usize::from(u16::from_be_bytes(header)), 0);
    from.read_exact(&mut frame[2..]).await.expect("frame body");
    frame
}

/// Forwards one connection to `server` both ways, and hands back the
/// device's first frame (its hello) as it passed.
async fn recording_proxy(server: String) -> (String, tokio::sync::oneshot::Receiver<Vec<u8>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    let (tx, rx) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let (mut device, _) = listener.accept().await.expect("device");
        let mut upstream = TcpStream::connect(server).await.expect("server");
        let hello = read_frame(&mut device).await;
        upstream.write_all(&hello).await.expect("forward");
        let _ = tx.send(hello);
        let _ = tokio::io::copy_bidirectional(&mut device, &mut upstream).await;
    });
    (addr, rx)
}

/// What the server answers `hello` on a new connection: the bytes it sent
/// before closing (none: closed without an answer).
async fn answer_to(server: &str, hello: &[u8]) -> usize {
    let mut socket = TcpStream::connect(server).await.expect("connect");
    socket.write_all(hello).await.expect("send");
    let mut answer = Vec::new();
    tokio::time::timeout(LIMIT, socket.read_to_end(&mut answer))
        .await
        .expect("the server ends the connection")
        .map_or(answer.len(), |_| answer.len())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_hello_is_closed_without_an_answer() {
    let town = Town::new().await;
    let phone = town.device(seed::CHIEF, "Sam's phone").await;
    let state = phone.close().await.expect("close");
    let tcp = town.server.tcp_addr().expect("tcp").to_string();

    let (proxy, hello) = recording_proxy(tcp.clone()).await;
    let mut device = Connection::resume(&proxy, state.clone())
        .await
        .expect("connect");
    device
        .wait_for(LIMIT, |e| {
            matches!(e, ClientEvent::Connected { .. }).then_some(())
        })
        .await
        .expect("the device itself gets in");
    let hello = hello.await.expect("recorded");

    assert_eq!(
        answer_to(&tcp, &hello).await,
        0,
        "the copy is closed before any answer (once answered with a \
         Replay refusal, after four X25519 operations)"
    );
    // A hello from the same saved state has a new key: it gets in.
    let _ = device.close().await;
    let mut again = Connection::resume(&tcp, state).await.expect("connect");
    again
        .wait_for(LIMIT, |e| {
            matches!(e, ClientEvent::Connected { .. }).then_some(())
        })
        .await
        .expect("a new hello is answered as ever");
    town.server.shutdown().await;
}
