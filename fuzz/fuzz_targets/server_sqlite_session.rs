//! Arbitrary input into a server session backed by the reference server's
//! real SQLite store (in a temporary directory), driven as the server
//! drives it: each batch of bytes in one `SqlitePool` batch, which reads
//! from a read-only connection and writes on the writer. Raw bytes on the
//! wire, and arbitrary plaintext sealed by an enrolled client so the fuzzer
//! reaches message handling and the store behind it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tidings::crypto::StaticKeypair;
use tidings::proto::CollectionKind;
use tidings::session::{ClientConfig, ClientSession, ClientState, ServerConfig, ServerSession};
use tidings::store::{ActivationCode, DeviceRegistry};
use tidings_store_sqlite::{Durability, SqlitePool, SqliteStore};

#[derive(arbitrary::Arbitrary, Debug)]
enum Input {
    RawToServer(Vec<u8>),
    PlaintextToServer(Vec<u8>),
    Push,
    Timeout(u32),
}

const MAIL: &[u8] = b"From: a@town.example\r\nTo: chief@town.example\r\nSubject: s\r\n\r\nbody\r\n";

/// Feeds `bytes` to the server in one batch, as a connection does.
fn to_server(server: &mut ServerSession, pool: &SqlitePool, now: u64, bytes: &[u8]) {
    let Ok(mut batch) = pool.batch() else { return };
    let _ = server.handle_bytes(now, bytes, &mut batch);
    batch.finish().expect("a batch commits");
}

fn shuttle(client: &mut ClientSession, server: &mut ServerSession, pool: &SqlitePool, now: u64) {
    for _ in 0..64 {
        let mut moved = false;
        while let Some(bytes) = client.poll_transmit() {
            moved = true;
            to_server(server, pool, now, &bytes);
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

static RUN: AtomicU64 = AtomicU64::new(0);

fuzz_target!(|inputs: Vec<Input>| {
    let dir = std::env::temp_dir().join(format!(
        "tidings-fuzz-{}-{}",
        std::process::id(),
        RUN.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let mut store = SqliteStore::open(&dir.join("fuzz.db"), Durability::Process).expect("open");
    let chief = store.add_principal("Chief", "chief@town.example").expect("principal");
    let inbox = store.add_collection(chief, CollectionKind::Mail, "Inbox").expect("inbox");
    store.add_message(inbox, MAIL, 2048).expect("mail");
    let code = ActivationCode::from_random([1; 10]);
    store.create_activation(chief, &code, u64::MAX, 3).expect("activation");
    let pool = SqlitePool::new(store);
    let keys = Arc::new(StaticKeypair::from_secret_bytes([2; 32]));
    let state = ClientState::new([3; 32], keys.public_key());
    let mut client = ClientSession::enroll(ClientConfig::default(), state, &code.display(), "fuzz", [4; 32], 0)
        .expect("enroll");
    let mut server = ServerSession::new(ServerConfig::default(), keys, [5; 32], 0);
    shuttle(&mut client, &mut server, &pool, 0);
    assert!(client.is_established(), "the fixed enrollment must succeed");

    let mut now = 0u64;
    for input in inputs {
        now += 1;
        match input {
            Input::RawToServer(bytes) => to_server(&mut server, &pool, now, &bytes),
            Input::PlaintextToServer(bytes) => drop(client.send_plaintext_for_testing_only(now, &bytes)),
            Input::Push => drop(pool.read(|s| server.push_changes(now, s))),
            Input::Timeout(ms) => {
                now += u64::from(ms);
                let _ = client.handle_timeout(now);
                let _ = server.handle_timeout(now);
            }
        }
        shuttle(&mut client, &mut server, &pool, now);
    }
    drop(pool);
    let _ = std::fs::remove_dir_all(&dir);
});
