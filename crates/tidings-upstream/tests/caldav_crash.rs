//! `kill -9` of the calendar mirror in the middle of its first sync, then a
//! restart: nothing lost, nothing stored twice, and what was committed is
//! not downloaded again. The mirror runs in a child process (this test
//! binary, re-run for its `child_mirror` entry) so that it can be killed
//! for real.

#[path = "support/caldav_servers.rs"]
mod caldav_servers;
#[path = "support/caldesk.rs"]
mod caldesk;

use caldav_servers::{CalServer, Kind};
use caldesk::{CalDesk, event};
use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tidings::compress::{InflateLimits, unpack};
use tidings::proto::{self, Item, item};
use tidings::store::{Directory, ItemStore};
use tidings_store_sqlite::{Durability, SqliteStore};
use tidings_upstream::SharedStore;
use tidings_upstream::caldav::config::Server;
use tidings_upstream::caldav::{CalAccount, CalDavAccount};
use tidings_upstream::config::Secret;

const ALICE: &str = "alice@example.org";
const EVENTS: usize = 200;
/// The child's environment: the store's path and the server's URL.
const CHILD_STORE: &str = "TIDINGS_CALDAV_CHILD_STORE";
const CHILD_URL: &str = "TIDINGS_CALDAV_CHILD_URL";
const CHILD_PASSWORD: &str = "TIDINGS_CALDAV_CHILD_PASSWORD";

fn store_at(path: &Path) -> SharedStore {
    let mut store = SqliteStore::open(path, Durability::Process).expect("store");
    if store.principal_by_email(ALICE).expect("lookup").is_none() {
        store.add_principal("Alice", ALICE).expect("principal");
    }
    Arc::new(Mutex::new(store))
}

fn account(url: &str, password: &str, store: &SharedStore) -> CalAccount {
    let server = Server {
        url: url.parse().expect("url"),
        ca_file: None,
    };
    let account = CalDavAccount {
        principal: ALICE.to_string(),
        login: "alice".to_string(),
        password: Secret::new(password),
        calendars: Vec::new(),
        discover_shares: false,
    };
    CalAccount::open(&server, &account, store.clone()).expect("open")
}

/// The child: mirror, then wait to be killed. Does nothing when run as an
/// ordinary test.
#[tokio::test]
#[ignore = "run by kill_9_mid_sync_then_restart in a child process"]
async fn child_mirror() {
    let (Ok(path), Ok(url), Ok(password)) = (
        std::env::var(CHILD_STORE),
        std::env::var(CHILD_URL),
        std::env::var(CHILD_PASSWORD),
    ) else {
        return;
    };
    let store = store_at(Path::new(&path));
    let mut mirror = account(&url, &password, &store);
    mirror.sync_all().await.expect("child sync");
    tokio::time::sleep(Duration::from_secs(60)).await;
}

fn rows(path: &Path) -> u64 {
    let Ok(conn) = rusqlite::Connection::open(path) else {
        return 0;
    };
    conn.query_row("SELECT count(*) FROM upstream_caldav_resources", [], |r| {
        r.get::<_, i64>(0)
    })
    .map(|n| n as u64)
    .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_sync_then_restart() {
    let cal = CalServer::start(Kind::Radicale);
    let desk = CalDesk::new(cal.addr(), "alice", &cal.password("alice"));
    let home = cal.calendar_href("alice");
    assert_eq!(desk.mkcalendar(&home, "Calendar").status, 201);
    for n in 0..EVENTS {
        let made = desk.put(
            &format!("{home}e{n}.ics"),
            &event(&format!("e{n}"), &format!("Event {n}"), 0),
            None,
        );
        assert_eq!(made.status, 201);
    }
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("store.db");
    drop(store_at(&path));

    let mut child = Command::new(std::env::current_exe().expect("test binary"))
        .args(["--ignored", "--exact", "child_mirror", "--nocapture"])
        .env(CHILD_STORE, &path)
        .env(CHILD_URL, cal.url())
        .env(CHILD_PASSWORD, cal.password("alice"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn the child mirror");
    // Killed as soon as its first batch is committed (or, on a fast
    // machine, later: the assertions hold wherever the kill lands).
    let deadline = Instant::now() + Duration::from_secs(60);
    while rows(&path) == 0 {
        assert!(Instant::now() < deadline, "the child never committed");
        assert!(child.try_wait().expect("child").is_none(), "the child died");
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().expect("kill -9");
    child.wait().expect("reaped");
    let committed = rows(&path);
    println!("killed with {committed} of {EVENTS} events committed");

    let store = store_at(&path);
    let mut mirror = account(&cal.url(), &cal.password("alice"), &store);
    mirror.sync_all().await.expect("sync after the kill");
    assert_eq!(
        mirror.fetched().resources,
        EVENTS as u64 - committed,
        "only what was not committed is downloaded ({committed} were)"
    );
    let collection = mirror.calendars().expect("calendars")[0].collection;
    let summaries: Vec<String> = store
        .lock()
        .expect("store")
        .items(collection)
        .expect("items")
        .into_iter()
        .map(|(_, packed, _)| {
            let bytes = unpack(&packed, &InflateLimits::default()).expect("unpack");
            match proto::decode::<Item>(&bytes).expect("decode").kind {
                Some(item::Kind::Calendar(e)) => e.master.expect("master").summary,
                other => panic!("not an event: {other:?}"),
            }
        })
        .collect();
    let distinct: BTreeSet<&String> = summaries.iter().collect();
    assert_eq!(summaries.len(), EVENTS, "nothing stored twice");
    assert_eq!(distinct.len(), EVENTS, "nothing lost");
    assert_eq!(rows(&path), EVENTS as u64);
}
