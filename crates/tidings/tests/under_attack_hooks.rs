//! Hostile devices that speak through the encrypted channel with the
//! `testing` feature's plaintext hook: messages the client API never sends.

mod town;

use tidings::ErrorKind;
use tidings::compress::pad;
use tidings::proto::{self, Envelope, Hello, Refetch, envelope::Body};
use tidings::session::{ClientEvent, ClientSession, MAX_REFETCH_IDS, ServerSession};
use tidings::store::{ItemStore, MemoryStore};
use town::*;

fn send(client: &mut ClientSession, now: u64, encoded: &[u8]) {
    let mut padded = Vec::new();
    pad(encoded, &mut padded);
    client
        .send_plaintext_for_testing_only(now, &padded)
        .expect("sealed");
}

fn envelope(body: Body) -> Vec<u8> {
    proto::encode(&Envelope { body: Some(body) })
}

/// The server's error and the code the device was told, if any.
fn ended(
    client: &mut ClientSession,
    server: &mut ServerSession,
    store: &mut MemoryStore,
    now: u64,
) -> (ErrorKind, Option<ErrorKind>) {
    let mut server_error = None;
    while let Some(bytes) = client.poll_transmit() {
        if let Err(e) = server.handle_bytes(now, &bytes, store) {
            server_error = Some(e.kind());
        }
    }
    while let Some(bytes) = server.poll_transmit() {
        let _ = client.handle_bytes(now, &bytes);
    }
    let told = client_events(client).into_iter().find_map(|e| match e {
        ClientEvent::Closed { error } => error.map(|e| e.kind()),
        _ => None,
    });
    (server_error.expect("the server refused"), told)
}

#[test]
fn an_unknown_message_kind_is_refused_not_taken_as_a_keepalive() {
    let mut town = Town::new();
    let (mut client, mut server) = enroll(&mut town, CHIEF, 7, 1_000);
    client_events(&mut client);
    // Field 99 of Envelope, length-delimited and empty: no such variant.
    send(&mut client, 2_000, &[0x9a, 0x06, 0x00]);
    let (error, told) = ended(&mut client, &mut server, &mut town.store, 2_000);
    assert_eq!(error, ErrorKind::ProtoInvalidValue);
    assert_eq!(told, Some(ErrorKind::ProtoInvalidValue));
    assert!(server.is_closed());
}

#[test]
fn a_second_hello_in_one_session_is_a_protocol_error() {
    let mut town = Town::new();
    let (mut client, mut server) = enroll(&mut town, CHIEF, 7, 1_000);
    client_events(&mut client);
    send(&mut client, 2_000, &envelope(Body::Hello(Hello::default())));
    let (error, told) = ended(&mut client, &mut server, &mut town.store, 2_000);
    assert_eq!(error, ErrorKind::UnexpectedMessage);
    assert_eq!(told, Some(ErrorKind::UnexpectedMessage));
}

#[test]
fn a_refetch_flood_is_refused_and_repeats_are_sent_once() {
    let mut town = Town::new();
    let (mut client, mut server) = enroll(&mut town, CHIEF, 7, 1_000);
    client_events(&mut client);
    let (id, packed, _) = town.store.items(town.chief_inbox).expect("items").remove(0);

    // Repeats within the limit: one repair page carrying the item once.
    let refetch = |n: usize| {
        envelope(Body::Refetch(Refetch {
            collection_id: town.chief_inbox,
            item_ids: vec![id; n],
        }))
    };
    send(&mut client, 2_000, &refetch(MAX_REFETCH_IDS));
    let hostile = client.poll_transmit().expect("sealed");
    server
        .handle_bytes(2_000, &hostile, &mut town.store)
        .expect("answered");
    let answer: Vec<Vec<u8>> = std::iter::from_fn(|| server.poll_transmit()).collect();
    assert_eq!(answer.len(), 1);
    assert!(
        answer[0].len() < 2 * packed.len() + 256,
        "{} bytes for one item of {}",
        answer[0].len(),
        packed.len()
    );
    for bytes in answer {
        client.handle_bytes(2_000, &bytes).expect("applied");
    }

    // 4,000 repeats: refused before any item is read.
    send(&mut client, 2_100, &refetch(4_000));
    let (error, told) = ended(&mut client, &mut server, &mut town.store, 2_100);
    assert_eq!(error, ErrorKind::LimitExceeded);
    assert_eq!(told, Some(ErrorKind::LimitExceeded));
}

/// A server (or a relay with its keys) that echoes one-way keepalives to a
/// device that did not ask for them changes nothing: the device keeps
/// sending its own (sync.md §5.5: a bit it did not set is absent).
#[test]
fn an_echo_the_device_did_not_ask_for_changes_nothing() {
    use tidings::proto::{Feature, Welcome};
    use tidings::session::{ClientConfig, ClientState, FEATURES, ServerConfig, Timers};
    let mut town = Town::new();
    let code = town.activation(town.chief, 3);
    let state = ClientState::new([3; 32], town.server_public());
    let config = ClientConfig {
        features: FEATURES & !(Feature::OneWayKeepalive as u32),
        ..ClientConfig::default()
    };
    let mut client =
        ClientSession::enroll(config, state, &code, "phone", [4; 32], 0).expect("enroll");
    let timers = Timers {
        keepalive_ms: 30_000,
        idle_timeout_ms: 60_000,
    };
    let mut server = ServerSession::new(
        ServerConfig {
            timers,
            ..ServerConfig::default()
        },
        town.keys.clone(),
        [5; 32],
        0,
    );
    pump(&mut client, &mut server, &mut town.store, 0);
    client_events(&mut client);
    let unasked = Welcome {
        features: Feature::OneWayKeepalive as u32,
        ..Welcome::default()
    };
    let mut padded = Vec::new();
    pad(&envelope(Body::Welcome(unasked)), &mut padded);
    server
        .send_plaintext_for_testing_only(1_000, &padded)
        .expect("sealed");
    pump(&mut client, &mut server, &mut town.store, 1_000);
    assert!(!client.is_closed());
    // Still both ways: the device's own keepalive is due 30 s after it
    // last sent (its acknowledgements at time 0).
    assert_eq!(client.poll_timeout(), Some(30_000));
    client.handle_timeout(30_000).expect("keepalive");
    assert!(
        client.poll_transmit().is_some(),
        "the device sent its keepalive"
    );
}

#[test]
fn a_devices_error_ends_the_session_unanswered() {
    // sync.md §5.3: ErrorInfo goes either way (a device that found the
    // server silent sends 605). It is not a message to refuse with 402.
    let mut town = Town::new();
    let (mut client, mut server) = enroll(&mut town, CHIEF, 7, 1_000);
    client_events(&mut client);
    server_events(&mut server);
    let error = proto::ErrorInfo {
        code: u32::from(ErrorKind::Timeout.code()),
        ..Default::default()
    };
    send(&mut client, 2_000, &envelope(Body::Error(error)));
    while let Some(bytes) = client.poll_transmit() {
        server
            .handle_bytes(2_000, &bytes, &mut town.store)
            .expect("not refused");
    }
    assert!(server.is_closed());
    assert!(server.poll_transmit().is_none(), "nothing sent back");
    let closed = server_events(&mut server)
        .into_iter()
        .find_map(|e| match e {
            tidings::session::ServerEvent::Closed { error } => Some(error.map(|e| e.kind())),
            _ => None,
        });
    assert_eq!(closed, Some(Some(ErrorKind::Timeout)));
}
