//! Arbitrary input into both sessions after a valid enrollment: raw bytes on
//! the wire, and arbitrary plaintext sealed by the peer (through the
//! `…_for_testing_only` hook) so the fuzzer reaches message handling. The
//! server takes bytes either with its store or, once established, first
//! without one (`handle_bytes_without_store`), as the reference server does.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::Arc;
use tidings::crypto::StaticKeypair;
use tidings::proto::CollectionKind;
use tidings::session::{ClientConfig, ClientSession, ClientState, ServerConfig, ServerSession};
use tidings::store::{ActivationCode, DeviceRegistry, ItemStore, MemoryStore};

#[derive(arbitrary::Arbitrary, Debug)]
enum Input {
    RawToServer(Vec<u8>),
    RawToClient(Vec<u8>),
    PlaintextToServer(Vec<u8>),
    PlaintextToClient(Vec<u8>),
    Push,
    Timeout(u32),
    /// From now on the server takes bytes without its store first, or not.
    WithoutStore(bool),
}

/// The server takes `bytes`: without its store first when asked and
/// allowed, then with it for whatever waits.
fn to_server(server: &mut ServerSession, bytes: &[u8], store: &mut MemoryStore, now: u64, without: bool) {
    if without && server.is_established() {
        match server.handle_bytes_without_store(now, bytes) {
            Ok(done) if done.needs_store => drop(server.handle_bytes(now, &[], store)),
            Ok(_) | Err(_) => {}
        }
    } else {
        let _ = server.handle_bytes(now, bytes, store);
    }
}

fn shuttle(client: &mut ClientSession, server: &mut ServerSession, store: &mut MemoryStore, now: u64, without: bool) {
    for _ in 0..64 {
        let mut moved = false;
        while let Some(bytes) = client.poll_transmit() {
            moved = true;
            to_server(server, &bytes, store, now, without);
        }
        while let Some(bytes) = server.poll_transmit() {
            moved = true;
            let _ = client.handle_bytes(now, &bytes);
        }
        while client.poll_event().is_some() {}
        while server.poll_event().is_some() {}
        if !moved {
            return;
        }
    }
}

fuzz_target!(|inputs: Vec<Input>| {
    let mut store = MemoryStore::new();
    let chief = store.add_principal("Chief", "chief@town.example");
    let inbox = store.add_collection(chief, CollectionKind::Mail, "Inbox").expect("principal");
    store.upsert(inbox, None, bytes::Bytes::from_static(b"\x00\x0a\x02\x08\x01"), 0).expect("inbox");
    let code = ActivationCode::from_random([1; 10]);
    store.create_activation(chief, &code, u64::MAX, 3).expect("principal");
    let keys = Arc::new(StaticKeypair::from_secret_bytes([2; 32]));
    let state = ClientState::new([3; 32], keys.public_key());
    let mut client = ClientSession::enroll(ClientConfig::default(), state, &code.display(), "fuzz", [4; 32], 0).expect("enroll");
    let mut server = ServerSession::new(ServerConfig::default(), keys, [5; 32], 0);
    shuttle(&mut client, &mut server, &mut store, 0, false);
    assert!(client.is_established(), "the fixed enrollment must succeed");

    let mut now = 0u64;
    let mut without = false;
    for input in inputs {
        now += 1;
        match input {
            Input::RawToServer(bytes) => to_server(&mut server, &bytes, &mut store, now, without),
            Input::RawToClient(bytes) => drop(client.handle_bytes(now, &bytes)),
            Input::PlaintextToServer(bytes) => drop(client.send_plaintext_for_testing_only(now, &bytes)),
            Input::PlaintextToClient(bytes) => drop(server.send_plaintext_for_testing_only(now, &bytes)),
            Input::Push => drop(server.push_changes(now, &store)),
            Input::Timeout(ms) => {
                now += u64::from(ms);
                let _ = client.handle_timeout(now);
                let _ = server.handle_timeout(now);
            }
            Input::WithoutStore(on) => without = on,
        }
        shuttle(&mut client, &mut server, &mut store, now, without);
    }
});
