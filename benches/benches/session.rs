//! Sessions: initial sync of 10,000 mails (server encode + client apply, goal
//! <= 100 ms); one new mail pushed to 10,000 connected sessions, packed once
//! and sealed per device (goal <= 0.5 us per device); server memory per idle
//! connected session (goal <= 2 KiB); bytes on the wire per new mail, per flag
//! change (goal <= 32 B) and per keepalive.

use bytes::Bytes;
use criterion::{BatchSize, Criterion, criterion_main};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use tidings::compress::{PackOptions, pack};
use tidings::crypto::StaticKeypair;
use tidings::proto::{self, CollectionKind, Item, item};
use tidings::session::{
    ClientConfig, ClientSession, ClientState, PreparedPage, ServerConfig, ServerSession, pump,
};
use tidings::store::{ActivationCode, DeviceRegistry, ItemStore, MemoryStore};
use tidings::sync::Rights;
use tidings_benches::{mail_item, real_items};

struct Counting;
static LIVE: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards every call to the system allocator; only counts sizes.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size(), Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(new_size, Relaxed);
        LIVE.fetch_sub(layout.size(), Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Sessions created; a tenth are dropped again to measure their memory.
const DEVICES: usize = 11_000;

fn keys() -> Arc<StaticKeypair> {
    Arc::new(StaticKeypair::from_secret_bytes([9; 32]))
}

fn packed(item: &[u8]) -> Bytes {
    pack(item, &PackOptions::default()).into()
}

/// Enrolls a device of `principal`, runs it to its initial sync, and returns
/// both sessions and the bytes that went down.
fn enroll(
    store: &mut MemoryStore,
    keys: &Arc<StaticKeypair>,
    principal: u64,
    n: u32,
    config: ServerConfig,
) -> (ClientSession, ServerSession, usize) {
    let seed = n.to_be_bytes();
    let mut random = [0u8; 10];
    random[..4].copy_from_slice(&seed);
    let code = ActivationCode::from_random(random);
    store
        .create_activation(principal, &code, u64::MAX, 3)
        .expect("principal");
    let mut secret = [1u8; 32];
    secret[..4].copy_from_slice(&seed);
    let state = ClientState::new(secret, keys.public_key());
    let mut client = ClientSession::enroll(
        ClientConfig::default(),
        state,
        &code.display(),
        "bench",
        secret,
        0,
    )
    .expect("enroll");
    let mut server = ServerSession::new(config, keys.clone(), secret, 0);
    let (_, down) = pump(&mut client, &mut server, store, 0).expect("quiet");
    assert!(client.is_established());
    (client, server, down)
}

fn initial_sync(c: &mut Criterion) {
    let items = real_items();
    let keys = keys();
    let mut store = MemoryStore::new();
    let clerk = store.add_principal("Clerk", "clerk@town.example");
    let inbox = store
        .add_collection(clerk, CollectionKind::Mail, "Inbox")
        .expect("clerk");
    for item in items.iter().cycle().take(10_000) {
        store.upsert(inbox, None, packed(item), 0).expect("inbox");
    }
    let (client, _, down) = enroll(&mut store.clone(), &keys, clerk, 0, ServerConfig::default());
    let held = client
        .state()
        .replica()
        .collection(inbox)
        .map_or(0, |r| r.items().len());
    assert_eq!(held, 10_000);
    println!(
        "initial sync of 10,000 real mails: {down} bytes down, {:.1} bytes per mail",
        down as f64 / 10_000.0
    );

    let mut group = c.benchmark_group("session");
    group.sample_size(10);
    let mut n = 1;
    group.bench_function("initial_sync_10000_mails", |b| {
        b.iter_batched(
            || {
                n += 1;
                (store.clone(), n)
            },
            |(mut store, n)| enroll(&mut store, &keys, clerk, n, ServerConfig::default()),
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

fn fan_out(c: &mut Criterion) {
    let keys = keys();
    let mut store = MemoryStore::new();
    let admin = store.add_principal("Town Hall", "all@town.example");
    let shared = store
        .add_collection(admin, CollectionKind::Mail, "All staff")
        .expect("admin");
    let config = ServerConfig {
        max_unacked_pages: u32::MAX,
        ..ServerConfig::default()
    };
    let first = real_items().into_iter().next().expect("a real mail");
    store
        .upsert(shared, None, packed(&first), 0)
        .expect("shared");

    let before = LIVE.load(Relaxed);
    let mut servers = Vec::with_capacity(DEVICES);
    for n in 0..DEVICES {
        let staff = store.add_principal("Staff", "staff@town.example");
        store.grant(shared, staff, Rights::READ).expect("grant");
        let (_, server, _) = enroll(&mut store, &keys, staff, n as u32 + 10, config.clone());
        // Boxed, as the reference server keeps them: dropping one then frees
        // the session struct too, so the figure counts everything it holds.
        servers.push(Box::new(server));
    }
    let with_sessions = LIVE.load(Relaxed);
    // A warm-up change puts every session in the continuing form.
    store
        .upsert(shared, None, packed(&first), 0)
        .expect("shared");
    for server in &mut servers {
        server.push_changes(1, &store).expect("push");
        while server.poll_transmit().is_some() {}
    }
    let idle = LIVE.load(Relaxed);
    // Dropping a tenth of the sessions frees exactly what they held.
    let stores_part = {
        let base = LIVE.load(Relaxed);
        drop(servers.drain(..DEVICES / 10).collect::<Vec<_>>());
        (base - LIVE.load(Relaxed)) / (DEVICES / 10)
    };
    println!(
        "server memory per idle connected session: {stores_part} bytes (sessions and store grew {} bytes for {DEVICES} devices)",
        idle.max(with_sessions) - before
    );

    let mut group = c.benchmark_group("session");
    group.sample_size(20);
    let devices = servers.len();
    group.bench_function(format!("push_one_mail_to_{devices}_sessions"), |b| {
        let mut now = 10;
        b.iter(|| {
            now += 1;
            let (_, modseq) = store.collection_state(shared).expect("shared");
            let from = proto::Cursor {
                collection_id: shared,
                epoch: 1,
                modseq,
                ..Default::default()
            };
            store
                .upsert(shared, None, packed(&first), 0)
                .expect("shared");
            let page = PreparedPage::new(&store, &from, &Default::default())
                .expect("store")
                .expect("page");
            let mut sent = 0;
            for server in &mut servers {
                sent += usize::from(server.push_prepared(now, &store, &page).expect("push"));
                while server.poll_transmit().is_some() {}
            }
            assert_eq!(sent, devices);
        })
    });
    group.finish();
}

fn wire_bytes(_: &mut Criterion) {
    let keys = keys();
    let mut store = MemoryStore::new();
    let clerk = store.add_principal("Clerk", "clerk@town.example");
    let inbox = store
        .add_collection(clerk, CollectionKind::Mail, "Inbox")
        .expect("clerk");
    // Ids and modseqs of a mailbox of some thousands of items.
    for _ in 0..1234 {
        store
            .upsert(inbox, None, Bytes::from_static(b"\x00\x0a\x00"), 0)
            .expect("inbox");
    }
    let (mut client, mut server, _) = enroll(&mut store, &keys, clerk, 1, ServerConfig::default());
    let mut step = |store: &mut MemoryStore, now| {
        server.push_changes(now, store).expect("push");
        let mut down = 0;
        while let Some(bytes) = server.poll_transmit() {
            down += bytes.len();
            client.handle_bytes(now, &bytes).expect("client");
        }
        let mut up = 0;
        while let Some(bytes) = client.poll_transmit() {
            up += bytes.len();
            server.handle_bytes(now, &bytes, store).expect("server");
        }
        (down, up)
    };
    let (mail_raw, raw) = tidings_benches::mail_messages()
        .into_iter()
        .max_by_key(|(_, raw)| raw.len().min(4096))
        .expect("messages");
    let mail = mail_item(0, &raw).expect("parses");
    let bytes = proto::encode(&Item {
        kind: Some(item::Kind::Mail(mail)),
    });
    let (id, _) = store.upsert(inbox, None, packed(&bytes), 0).expect("inbox");
    let (new_mail, ack) = step(&mut store, 10);
    store.set_flags(inbox, id, 1).expect("live");
    let (flag, _) = step(&mut store, 20);
    // One-way keepalives (sync.md §5.4): the server's, nothing back.
    server.handle_timeout(300_000).expect("keepalive due");
    let keepalive = server.poll_transmit().map_or(0, |b| b.len());
    println!(
        "wire bytes: new mail ({mail_raw}, headers + preview) {new_mail} B; its ack {ack} B; flag change {flag} B; keepalive {keepalive} B, server to device only"
    );
}

// criterion's macro generates an undocumented function.
#[allow(missing_docs)]
mod group {
    criterion::criterion_group!(
        benches,
        super::wire_bytes,
        super::initial_sync,
        super::fan_out
    );
}
use group::benches;
criterion_main!(benches);
