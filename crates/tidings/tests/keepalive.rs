//! Keepalives and the idle close (sync.md §5.4): one way, server to device,
//! when both take up `FEATURE_ONE_WAY_KEEPALIVE`; both ways otherwise. Either
//! way a silent server is called gone by the device at the same time.

mod town;

use tidings::ErrorKind;
use tidings::proto::Feature;
use tidings::session::{
    ClientConfig, ClientEvent, ClientSession, ClientState, FEATURES, SERVER_FEATURES, ServerConfig,
    ServerSession, Timers,
};
use town::*;

const ONE_WAY: u32 = Feature::OneWayKeepalive as u32;
/// The server's keepalive interval and idle timeout in these tests.
const KEEPALIVE_MS: u64 = 30_000;
const IDLE_MS: u64 = 60_000;
/// The least an authenticated message is: 2-byte frame header, the
/// one-byte empty envelope, the 16-byte tag (wire-format.md §4).
const KEEPALIVE_BYTES: usize = 19;

/// A device enrolled at time 0 with `client_features`, against a server
/// taking up `server_features` with 30 s keepalives and a 60 s idle timeout.
fn connected(client_features: u32, server_features: u32) -> (ClientSession, ServerSession, Town) {
    let mut town = Town::new();
    let code = town.activation(town.chief, 3);
    let state = ClientState::new([3; 32], town.server_public());
    let config = ClientConfig {
        features: client_features,
        ..ClientConfig::default()
    };
    let mut client =
        ClientSession::enroll(config, state, &code, "phone", [4; 32], 0).expect("enroll");
    let config = ServerConfig {
        timers: Timers {
            keepalive_ms: KEEPALIVE_MS,
            idle_timeout_ms: IDLE_MS,
        },
        features: server_features,
        ..ServerConfig::default()
    };
    let mut server = ServerSession::new(config, town.keys.clone(), [5; 32], 0);
    pump(&mut client, &mut server, &mut town.store, 0);
    assert!(client.is_established() && server.is_established());
    client_events(&mut client);
    (client, server, town)
}

/// Runs both sides' timers every second for `seconds`, delivering each
/// side's bytes to the other; returns the frames each side sent (device,
/// server).
fn idle_for(
    client: &mut ClientSession,
    server: &mut ServerSession,
    seconds: u64,
) -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
    let (mut up, mut down) = (Vec::new(), Vec::new());
    for second in 1..=seconds {
        let now = second * 1000;
        client.handle_timeout(now).expect("device timer");
        server.handle_timeout(now).expect("server timer");
        while let Some(bytes) = client.poll_transmit() {
            server
                .handle_bytes_without_store(now, &bytes)
                .expect("server reads");
            up.push(bytes);
        }
        while let Some(bytes) = server.poll_transmit() {
            client.handle_bytes(now, &bytes).expect("device reads");
            down.push(bytes);
        }
    }
    (up, down)
}

#[test]
fn the_client_asks_for_one_way_keepalives_and_the_server_takes_them_up() {
    assert_ne!(FEATURES & ONE_WAY, 0);
    assert_ne!(SERVER_FEATURES & ONE_WAY, 0);
    assert_eq!(ClientConfig::default().features, FEATURES);
    assert_eq!(ServerConfig::default().features, SERVER_FEATURES);
}

#[test]
fn one_way_the_device_sends_nothing_for_an_hour_and_the_server_keeps_it() {
    let (mut client, mut server, _town) = connected(FEATURES, SERVER_FEATURES);
    // The server never waits on the device's silence: its only timer is
    // its own keepalive.
    assert_eq!(server.poll_timeout(), Some(KEEPALIVE_MS));
    // Short of the hour, when the server's sending key is renewed (the
    // rekey marker rides with that keepalive, handshake.md §8).
    let (up, down) = idle_for(&mut client, &mut server, 3599);
    assert!(up.is_empty(), "the device sent {} frames", up.len());
    assert_eq!(down.len(), 119, "one keepalive per 30 s");
    let sizes: Vec<usize> = down.iter().map(Vec::len).collect();
    assert!(sizes.iter().all(|&n| n == KEEPALIVE_BYTES), "{sizes:?}");
    assert!(!client.is_closed() && !server.is_closed());
}

#[test]
fn one_way_a_device_still_calls_a_silent_server_gone_at_its_patience() {
    let (mut client, mut server, _town) = connected(FEATURES, SERVER_FEATURES);
    idle_for(&mut client, &mut server, 90);
    // Heard last at 90 s; the device waits the larger of its own idle
    // timeout and 2.5 server intervals, as it does both ways.
    let patience = Timers::default().idle_timeout_ms.max(KEEPALIVE_MS * 5 / 2);
    assert_eq!(client.poll_timeout(), Some(90_000 + patience));
    client
        .handle_timeout(90_000 + patience - 1)
        .expect("not yet");
    assert!(
        client.poll_transmit().is_none(),
        "a listener sends no keepalive"
    );
    let gone = client.handle_timeout(90_000 + patience);
    assert_eq!(gone.map_err(|e| e.kind()), Err(ErrorKind::Timeout));
    let events = client_events(&mut client);
    assert!(
        events.iter().any(|e| matches!(
            e,
            ClientEvent::Closed { error: Some(error) } if error.kind() == ErrorKind::Timeout
        )),
        "{events:?}"
    );
}

#[test]
fn a_device_that_does_not_ask_keeps_both_ways_and_adopts_the_servers_interval() {
    let (mut client, mut server, _town) = connected(FEATURES & !ONE_WAY, SERVER_FEATURES);
    assert_eq!(client.state().policy().keepalive_seconds, 30);
    // The device sends its keepalive after 30 s of silence, not 240.
    assert_eq!(client.poll_timeout(), Some(KEEPALIVE_MS));
    let (up, down) = idle_for(&mut client, &mut server, 300);
    assert_eq!((up.len(), down.len()), (10, 10));
    assert!(up.iter().chain(&down).all(|f| f.len() == KEEPALIVE_BYTES));
}

#[test]
fn a_server_that_does_not_take_it_up_gets_keepalives_and_closes_a_silent_device_with_605() {
    let (mut client, mut server, _town) = connected(FEATURES, SERVER_FEATURES & !ONE_WAY);
    let (up, _) = idle_for(&mut client, &mut server, 60);
    assert_eq!(up.len(), 2, "the device keeps the rhythm itself");
    // Now the device goes quiet: the server hears nothing for its idle
    // timeout and tells it why before closing.
    let silent = 60_000 + IDLE_MS;
    server.handle_timeout(silent - 1).expect("not yet");
    let closed = server.handle_timeout(silent);
    assert_eq!(closed.map_err(|e| e.kind()), Err(ErrorKind::Timeout));
    assert!(server.is_closed());
    // Its keepalives, then the ErrorInfo, in order.
    let mut frames = 0;
    while let Some(bytes) = server.poll_transmit() {
        let _ = client.handle_bytes(silent, &bytes);
        frames += 1;
    }
    assert!(frames > 0, "an ErrorInfo");
    let events = client_events(&mut client);
    assert!(
        events.iter().any(|e| matches!(
            e,
            ClientEvent::Closed { error: Some(error) } if error.kind() == ErrorKind::Timeout
        )),
        "{events:?}"
    );
}
