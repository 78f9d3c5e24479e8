//! Several server processes on one PostgreSQL database: a change made
//! through any process, or by an admin command, is pushed by every process
//! to its own devices; revocation and wipe reach a device on any process.
//!
//! The synchronous PostgreSQL client may not block a thread that drives
//! async tasks: the database lives outside the test's runtime, and every
//! store call inside it runs in `block_in_place`.

mod common;

use common::process::{admin_command, start};
use common::{LIMIT, holds, until};
use std::time::Duration;
use tidings::proto::{SetFlags, operation::Kind};
use tidings::session::{ClientEvent, ClientSession};
use tidings::store::{DeviceRegistry, Directory, ItemStore, WipeState};
use tidings_server::client::Connection;
use tidings_server::stores::PostgresStore;
use tidings_server::{admin, seed};
use tidings_store_postgres::testing::TestDatabase;

const SEEN: u32 = 1;

/// A seeded town hall in a fresh database, its server key made once
/// (several processes starting at once on an empty database would each
/// make one).
fn town() -> TestDatabase {
    let db = TestDatabase::create().expect("PostgreSQL");
    let mut store = db.store().expect("store");
    seed::town_hall(&mut store).expect("seed");
    tidings_server::server::server_keys(&mut store).expect("key");
    db
}

/// Runs `f` on a store of its own (opened, used and closed off the async
/// machinery).
fn with_store<T>(db: &TestDatabase, f: impl FnOnce(&mut PostgresStore) -> T) -> T {
    tokio::task::block_in_place(|| f(&mut db.store().expect("store")))
}

/// Runs `test` on a multi-threaded runtime (its database outlives it).
fn run(test: impl std::future::Future<Output = ()>) {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(test);
}

/// What `email` may see, per the store: (collection, item count).
fn visible(store: &PostgresStore, email: &str) -> Vec<(u64, usize)> {
    let p = admin::principal(store, email).expect("principal");
    store
        .visible_collections(p.id)
        .expect("visible")
        .into_iter()
        .map(|(c, _)| (c.id, store.items(c.id).expect("items").len()))
        .collect()
}

/// A device of `email` enrolled through the server at `tcp`, fully synced.
async fn device(db: &TestDatabase, tcp: &str, email: &str, name: &str) -> Connection {
    let mut activation = with_store(db, |store| {
        store
            .transaction(|s| admin::enroll(s, email, 60_000))
            .expect("enroll")
    });
    activation.tcp = Some(tcp.to_string());
    let mut device = Connection::enroll(&activation, name)
        .await
        .expect("connect");
    let expected = with_store(db, |store| visible(store, email));
    until(&mut device, |s| holds(s) == expected).await;
    device
}

/// The chief's Inbox and its first item.
fn chief_inbox(store: &mut PostgresStore) -> (u64, u64) {
    let chief = admin::principal(store, seed::CHIEF).expect("chief");
    let inbox = admin::existing_folder(store, chief.id, "Inbox").expect("inbox");
    (inbox, store.items(inbox).expect("items")[0].0)
}

fn flags(session: &ClientSession, collection: u64, item: u64) -> Option<u32> {
    let replica = session.state().replica().collection(collection)?;
    replica.items().get(&item).map(|i| i.flags)
}

fn has_subject(session: &ClientSession, collection: u64, subject: &str) -> bool {
    common::subjects(session, collection)
        .iter()
        .any(|s| s == subject)
}

#[test]
fn two_processes_push_each_others_changes_and_orders() {
    let db = town();
    run(two_processes(&db));
}

async fn two_processes(db: &TestDatabase) {
    let url = db.url();
    let dir = tempfile::tempdir().expect("tempdir");
    let a = start(&url, dir.path(), "serve", "a");
    let b = start(&url, dir.path(), "serve", "b");
    let mut phone = device(db, &a.tcp(), seed::CHIEF, "Sam's phone").await;
    let mut tablet = device(db, &b.tcp(), seed::CHIEF, "Sam's tablet").await;
    let (inbox, item) = with_store(db, chief_inbox);

    // A flag set through process A reaches the tablet on process B.
    assert_ne!(flags(tablet.session(), inbox, item), Some(SEEN));
    let op = phone
        .submit(Kind::SetFlags(SetFlags {
            collection_id: inbox,
            item_ids: vec![item],
            set: SEEN,
            clear: 0,
        }))
        .await
        .expect("submit");
    phone
        .wait_for(LIMIT, |e| match e {
            ClientEvent::OperationResult(r) if r.op_id == op => Some(()),
            _ => None,
        })
        .await
        .expect("answered");
    until(&mut tablet, |s| flags(s, inbox, item) == Some(SEEN)).await;

    // Mail delivered by an admin command reaches both processes' devices.
    let eml = dir.path().join("news.eml");
    std::fs::write(&eml, common::mail(seed::CHIEF, "scale-out")).expect("eml");
    admin_command(&url, &["deliver", seed::CHIEF, &eml.display().to_string()]);
    until(&mut phone, |s| has_subject(s, inbox, "scale-out")).await;
    until(&mut tablet, |s| has_subject(s, inbox, "scale-out")).await;

    // A device may connect to any process: the phone resumes on B, and an
    // admin's delivery reaches it there.
    let state = phone.close().await.expect("close");
    let mut phone = Connection::resume(&b.tcp(), state).await.expect("resume");
    std::fs::write(&eml, common::mail(seed::CHIEF, "after-move")).expect("eml");
    admin_command(&url, &["deliver", seed::CHIEF, &eml.display().to_string()]);
    until(&mut phone, |s| has_subject(s, inbox, "after-move")).await;

    // An admin's wipe reaches the tablet on B; its acknowledgement is stored.
    let tablet_id = tablet.session().state().device_id();
    admin_command(&url, &["wipe", &tablet_id.to_string()]);
    let wipe_id = tablet
        .wait_for(LIMIT, |e| match e {
            ClientEvent::WipeRequested { wipe_id } => Some(*wipe_id),
            _ => None,
        })
        .await
        .expect("wipe requested");
    tablet.acknowledge_wipe(wipe_id).await.expect("acknowledge");
    let stored = async {
        let wipe = |s: &mut PostgresStore| s.device(tablet_id).expect("device").wipe;
        while with_store(db, wipe) != WipeState::Done(wipe_id) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(LIMIT, stored)
        .await
        .expect("the acknowledgement is stored");

    // An admin's policy reaches the phone on B: the command line's own
    // process writes it, the serving process sends it.
    let phone_id = phone.session().state().device_id();
    admin_command(
        &url,
        &[
            "policy",
            &phone_id.to_string(),
            "--require-passcode",
            "--no-attachments",
        ],
    );
    let policy = phone
        .wait_for(LIMIT, |e| match e {
            ClientEvent::Policy(p) if p.version == 2 => Some(*p),
            _ => None,
        })
        .await
        .expect("the new policy is pushed");
    assert!(policy.require_passcode && !policy.allow_attachments);
    assert!(
        policy.keepalive_seconds > 0,
        "the serving process's keepalive"
    );

    // An admin's revocation reaches a device on A too.
    let mut pager = device(db, &a.tcp(), seed::MAYOR, "Ada's pager").await;
    let pager_id = pager.session().state().device_id();
    admin_command(&url, &["revoke", &pager_id.to_string()]);
    pager
        .wait_for(LIMIT, |e| matches!(e, ClientEvent::Revoked).then_some(()))
        .await
        .expect("told it is revoked");
    assert!(pager.session().is_closed());
}

/// HAProxy with the configuration `docs/server.md` shows, its addresses
/// replaced by the test's; killed and reaped when dropped.
struct Haproxy {
    child: std::process::Child,
    addr: String,
}

impl Drop for Haproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The HAProxy configuration in `docs/server.md` (the fenced block that
/// starts with `# haproxy.cfg`).
fn documented_config() -> String {
    let doc = include_str!("../../../docs/server.md");
    let start = doc
        .find("# haproxy.cfg")
        .expect("docs/server.md shows a haproxy.cfg");
    let block = &doc[start..];
    block[..block.find("```").expect("the block ends")].to_string()
}

fn haproxy(dir: &std::path::Path, one: &str, two: &str) -> Haproxy {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let addr = format!("127.0.0.1:{port}");
    let config = documented_config()
        .replace("0.0.0.0:4650", &addr)
        .replace("10.0.0.11:4650", one)
        .replace("10.0.0.12:4650", two);
    let file = dir.join("haproxy.cfg");
    std::fs::write(&file, config).expect("config");
    let child = std::process::Command::new("haproxy")
        .arg("-db")
        .arg("-f")
        .arg(&file)
        .spawn()
        .expect("haproxy runs (`cargo xtask test` installs it)");
    let proxy = Haproxy { child, addr };
    for _ in 0..300 {
        if std::net::TcpStream::connect(&proxy.addr).is_ok() {
            return proxy;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("HAProxy not listening in 30 s");
}

#[test]
fn devices_behind_haproxy_reach_either_process_and_survive_losing_one() {
    let db = town();
    run(behind_haproxy(&db));
}

async fn behind_haproxy(db: &TestDatabase) {
    let url = db.url();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut one = start(&url, dir.path(), "serve", "one");
    let two = start(&url, dir.path(), "serve", "two");
    let proxy = haproxy(dir.path(), &one.tcp(), &two.tcp());

    // Both devices of the chief connect to the one address; `leastconn`
    // puts the second on the other process.
    let mut phone = device(db, &proxy.addr, seed::CHIEF, "Sam's phone").await;
    let mut tablet = device(db, &proxy.addr, seed::CHIEF, "Sam's tablet").await;
    let (inbox, item) = with_store(db, chief_inbox);
    phone
        .submit(Kind::SetFlags(SetFlags {
            collection_id: inbox,
            item_ids: vec![item],
            set: SEEN,
            clear: 0,
        }))
        .await
        .expect("submit");
    until(&mut tablet, |s| flags(s, inbox, item) == Some(SEEN)).await;

    // One process dies; both devices come back through HAProxy, which
    // sends them to the one left, and a new mail reaches both.
    one.child.kill().expect("SIGKILL");
    one.child.wait().expect("reaped");
    let mut back = Vec::new();
    for device in [phone, tablet] {
        let state = device.session().state().clone();
        drop(device);
        let resumed = Connection::resume(&proxy.addr, state)
            .await
            .expect("resume");
        back.push(resumed);
    }
    let eml = dir.path().join("news.eml");
    std::fs::write(&eml, common::mail(seed::CHIEF, "after-failover")).expect("eml");
    admin_command(&url, &["deliver", seed::CHIEF, &eml.display().to_string()]);
    for device in &mut back {
        until(device, |s| has_subject(s, inbox, "after-failover")).await;
    }
    drop(two);
}
