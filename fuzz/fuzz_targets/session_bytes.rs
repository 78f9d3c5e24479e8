//! Arbitrary input into both sessions after a valid enrollment: raw bytes on
//! the wire, and arbitrary plaintext sealed by the peer (through the
//! `…_for_testing_only` hook) so the fuzzer reaches message handling.
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
}

fn shuttle(client: &mut ClientSession, server: &mut ServerSession, store: &mut MemoryStore, now: u64) {
    for _ in 0..64 {
        let mut moved = false;
        while let Some(bytes) = client.poll_transmit() {
            moved = true;
            let _ = server.handle_bytes(now, &bytes, store);
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
    shuttle(&mut client, &mut server, &mut store, 0);
    assert!(client.is_established(), "the fixed enrollment must succeed");

    let mut now = 0u64;
    for input in inputs {
        now += 1;
        match input {
            Input::RawToServer(bytes) => drop(server.handle_bytes(now, &bytes, &mut store)),
            Input::RawToClient(bytes) => drop(client.handle_bytes(now, &bytes)),
            Input::PlaintextToServer(bytes) => drop(client.send_plaintext_for_testing_only(now, &bytes)),
            Input::PlaintextToClient(bytes) => drop(server.send_plaintext_for_testing_only(now, &bytes)),
            Input::Push => drop(server.push_changes(now, &store)),
            Input::Timeout(ms) => {
                now += u64::from(ms);
                let _ = client.handle_timeout(now);
                let _ = server.handle_timeout(now);
            }
        }
        shuttle(&mut client, &mut server, &mut store, now);
    }
});
