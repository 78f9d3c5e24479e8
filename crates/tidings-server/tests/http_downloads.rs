//! The web app's files reach a phone on a slow link: a download still in
//! flight at the handshake deadline goes on while it is read at a useful
//! rate, and a reader that stops reading is cut off all the same.

mod common;

use common::Town;
use std::time::{Duration, Instant};
use tidings_server::server::{Limits, ServerOptions};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

/// Much larger than what the two sockets' buffers hold (Linux lets a send
/// buffer grow to 4 MiB), so the download's pace is the reader's and a
/// connection cut early loses the rest.
const BUNDLE: usize = 12 << 20;

async fn town_serving(bundle: &[u8]) -> (Town, tempfile::TempDir) {
    town_serving_with(bundle, Limits::DEFAULT).await
}

async fn town_serving_with(bundle: &[u8], limits: Limits) -> (Town, tempfile::TempDir) {
    let web = tempfile::tempdir().expect("tempdir");
    std::fs::write(web.path().join("app.wasm"), bundle).expect("bundle");
    let root = web.path().to_path_buf();
    let town = Town::with(move |o: &mut ServerOptions| {
        o.web_root = Some(root);
        o.limits = Limits {
            handshake_timeout_secs: 1,
            ..limits
        };
    })
    .await;
    (town, web)
}

/// A client with a receive buffer of `buffer` bytes, asking for the bundle.
async fn ask(town: &Town, buffer: u32) -> TcpStream {
    let socket = TcpSocket::new_v4().expect("socket");
    socket.set_recv_buffer_size(buffer).expect("buffer");
    let addr = town.server.http_addr().expect("http");
    let mut stream = socket.connect(addr).await.expect("connect");
    stream
        .write_all(b"GET /app.wasm HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("ask");
    stream
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_download_past_the_deadline_completes() {
    let bundle: Vec<u8> = (0..BUNDLE).map(|n| (n % 251) as u8).collect();
    let (town, _web) = town_serving(&bundle).await;
    let mut stream = ask(&town, 256 << 10).await;
    let started = Instant::now();
    let mut got = Vec::new();
    let mut buf = vec![0; 256 << 10];
    // A few MiB/s: about five seconds for what the old rule cut at two.
    loop {
        let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf))
            .await
            .expect("the server kept sending")
            .expect("read");
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
        if got.ends_with(&bundle[bundle.len() - 64..]) && got.len() > bundle.len() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        started.elapsed() > Duration::from_secs(2),
        "the download was not slow: {:?}",
        started.elapsed()
    );
    let body = got
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|at| &got[at + 4..])
        .expect("headers");
    assert_eq!(body.len(), bundle.len(), "the whole bundle arrived");
    assert!(body == &bundle[..], "the bundle arrived intact");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_download_is_cut_off() {
    let bundle = vec![7; BUNDLE];
    let (town, _web) = town_serving(&bundle).await;
    let mut stream = ask(&town, 16 << 10).await;
    // Reads the start, then nothing: the server fills the buffers and
    // cannot move. What it wrote counts for some periods; then its average
    // falls below the floor (or the cap of ten deadlines is reached).
    let asked = Instant::now();
    let mut head = vec![0; 8 << 10];
    let _ = stream.read(&mut head).await.expect("read");
    tokio::time::sleep(Duration::from_secs(12)).await;
    let mut rest = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(2), stream.read_to_end(&mut rest)).await;
    assert!(read.is_ok(), "a stalled download held its connection");
    assert!(
        rest.len() < BUNDLE,
        "the stalled reader got the whole bundle ({} bytes)",
        rest.len()
    );
    assert!(asked.elapsed() < Duration::from_secs(15));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_download_past_the_deadline_no_longer_counts_as_a_stranger() {
    let bundle = vec![7; BUNDLE];
    let one_stranger = Limits {
        max_unauthenticated_per_source: 1,
        ..Limits::DEFAULT
    };
    let (town, _web) = town_serving_with(&bundle, one_stranger).await;
    let mut download = ask(&town, 256 << 10).await;
    let mut buf = vec![0; 64 << 10];
    let _ = download.read(&mut buf).await.expect("read");
    let tcp = town.server.tcp_addr().expect("tcp");
    let refused_at_once = |mut stream: TcpStream| async move {
        let mut byte = [0; 1];
        matches!(
            tokio::time::timeout(Duration::from_millis(300), stream.read(&mut byte)).await,
            Ok(Ok(0) | Err(_))
        )
    };
    // While the download may still become a session, it is this source's
    // one stranger: a second is refused.
    let second = TcpStream::connect(tcp).await.expect("connect");
    assert!(
        refused_at_once(second).await,
        "two strangers from one source"
    );
    // Past the deadline it cannot: a device may begin its handshake.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let _ = download.read(&mut buf).await.expect("still downloading");
    let third = TcpStream::connect(tcp).await.expect("connect");
    assert!(
        !refused_at_once(third).await,
        "a download kept a device from its handshake"
    );
}
