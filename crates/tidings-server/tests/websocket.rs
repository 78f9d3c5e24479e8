//! Web apps reach the server over WebSocket: binary messages carry the same
//! byte stream as TCP. Anything else closes the connection.

mod common;

use common::{LIMIT, Town, holds};
use futures_util::{SinkExt, StreamExt};
use tidings::session::{ClientConfig, ClientSession, ClientState};
use tidings_server::clock::{now_ms, random};
use tidings_server::seed;
use tokio_tungstenite::tungstenite::Message;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_enrolls_and_syncs_over_websocket() {
    let town = Town::new().await;
    let activation = town.activation(seed::CHIEF);
    let url = activation.ws.clone().expect("payload names the WebSocket");
    let (mut socket, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("connect");
    let state = ClientState::new(random(), activation.server_key);
    let mut session = ClientSession::enroll(
        ClientConfig::default(),
        state,
        &activation.code.display(),
        "Sam's browser",
        random(),
        now_ms(),
    )
    .expect("enroll");
    let expected = town.visible_items(seed::CHIEF);
    let sync = async {
        loop {
            while let Some(bytes) = session.poll_transmit() {
                socket.send(Message::binary(bytes)).await.expect("send");
            }
            if holds(&session) == expected {
                return;
            }
            match socket.next().await {
                Some(Ok(Message::Binary(bytes))) => {
                    session.handle_bytes(now_ms(), &bytes).expect("handle");
                }
                other => panic!("unexpected {other:?}"),
            }
        }
    };
    tokio::time::timeout(LIMIT, sync)
        .await
        .expect("synced in time");
    town.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_text_message_closes_the_connection_with_a_close_frame() {
    let town = Town::new().await;
    let url = town.server.ws_url().expect("ws");
    let (mut socket, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("connect");
    socket.send(Message::text("hello")).await.expect("send");
    // A clean close that says why: 1003, data the server cannot accept.
    let closed = async {
        match socket.next().await {
            Some(Ok(Message::Close(Some(frame)))) => {
                assert_eq!(u16::from(frame.code), 1003, "{frame:?}");
            }
            other => panic!("not a close frame: {other:?}"),
        }
    };
    tokio::time::timeout(LIMIT, closed)
        .await
        .expect("closed in time");
    town.server.shutdown().await;
}
