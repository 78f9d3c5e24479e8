//! Figures for docs/upstream.md, not assertions (timings on a shared
//! machine are measured, never tested). Reproduce with
//!
//! ```text
//! cargo test -p tidings-upstream --test caldav_figures -- --ignored --nocapture --test-threads 1
//! ```
//!
//! For each server: the cost of one idle calendar per interval (one
//! sync-collection REPORT) against a desktop-style full poll (PROPFIND
//! Depth 1 + calendar-query REPORT) of the same 20-event calendar; the
//! latency from a desktop PUT to the store with a 1 s interval; and how
//! long a device edit takes to be written upstream (it is visible to the
//! desktop when the handle answers).

#[path = "support/caldav_servers.rs"]
mod caldav_servers;
#[path = "support/caldesk.rs"]
mod caldesk;

use caldav_servers::{CalServer, Kind};
use caldesk::{CalDesk, event};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tidings::compress::{InflateLimits, unpack};
use tidings::proto::{self, Item, item};
use tidings::store::ItemStore;
use tidings_store_sqlite::{Durability, SqliteStore};
use tidings_upstream::SharedStore;
use tidings_upstream::caldav::config::Server;
use tidings_upstream::caldav::{CalAccount, CalDavAccount, CalendarOptions, EventResult, gateway};
use tidings_upstream::config::Secret;

const ALICE: &str = "alice@example.org";
const EVENTS: usize = 20;
const SAMPLES: usize = 20;

fn summary_in(store: &SharedStore, collection: u64) -> Vec<String> {
    let store = store.lock().expect("store");
    store
        .items(collection)
        .expect("items")
        .into_iter()
        .filter_map(|(_, packed, _)| {
            let bytes = unpack(&packed, &InflateLimits::default()).ok()?;
            match proto::decode::<Item>(&bytes).ok()?.kind {
                Some(item::Kind::Calendar(e)) => Some(e.master?.summary),
                _ => None,
            }
        })
        .collect()
}

fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    samples.sort();
    let at = ((samples.len() as f64 - 1.0) * p).round() as usize;
    samples[at]
}

async fn measure(kind: Kind) {
    let cal = CalServer::start(kind);
    let desk = CalDesk::new(cal.addr(), "alice", &cal.password("alice"));
    let home = cal.calendar_href("alice");
    if kind == Kind::Radicale {
        assert_eq!(desk.mkcalendar(&home, "Calendar").status, 201);
    }
    for n in 0..EVENTS {
        desk.put(
            &format!("{home}e{n}.ics"),
            &event(&format!("e{n}"), &format!("Event {n}"), 0),
            None,
        );
    }
    let dir = tempfile::tempdir().expect("dir");
    let mut store =
        SqliteStore::open(&dir.path().join("store.db"), Durability::Process).expect("store");
    store.add_principal("Alice", ALICE).expect("principal");
    let store: SharedStore = Arc::new(Mutex::new(store));
    let server = Server {
        url: cal.url().parse().expect("url"),
        ca_file: None,
    };
    let account = CalDavAccount {
        principal: ALICE.to_string(),
        login: "alice".to_string(),
        password: Secret::new(cal.password("alice")),
        calendars: Vec::new(),
        discover_shares: false,
    };

    // Idle cost per interval against a full poll.
    let mut mirror = CalAccount::open(&server, &account, store.clone()).expect("open");
    mirror.sync_all().await.expect("sync");
    let collection = mirror.calendars().expect("calendars")[0].collection;
    let before = mirror.traffic();
    mirror.sync_calendars().await.expect("idle sync");
    let after = mirror.traffic();
    let (requests, sent, received) = desk.full_poll(&home);
    println!(
        "{kind:?}: idle calendar of {EVENTS} events per interval: sync-collection {} request(s), {} B sent, {} B received; full PROPFIND+REPORT poll {requests} requests, {sent} B sent, {received} B received",
        after.requests - before.requests,
        after.sent - before.sent,
        after.received - before.received,
    );
    drop(mirror);

    // Upstream change → store, with a 1 s interval.
    let (shutdown, stop) = tokio::sync::watch::channel(false);
    let options = CalendarOptions {
        server,
        account,
        interval: Duration::from_secs(1),
    };
    let (handle, task) = gateway::spawn(options, store.clone(), stop);
    handle.sync_now().await.expect("sync");
    let mut arrivals = Vec::new();
    for n in 0..SAMPLES {
        let path = format!("{home}e0.ics");
        let etag = desk.get(&path).etag.expect("etag");
        let summary = format!("Edit {n}");
        let started = Instant::now();
        desk.put(&path, &event("e0", &summary, n as u32 + 1), Some(&etag));
        while !summary_in(&store, collection).contains(&summary) {
            assert!(started.elapsed() < Duration::from_secs(30), "never arrived");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        arrivals.push(started.elapsed());
    }
    println!(
        "{kind:?}: desktop PUT → store, interval 1 s, {SAMPLES} samples: p50 {:?}, p99 {:?}",
        percentile(&mut arrivals, 0.5),
        percentile(&mut arrivals, 0.99)
    );

    // Device edit → upstream (visible to the desktop when answered).
    let mut writes = Vec::new();
    for n in 0..SAMPLES {
        let (id, mut current) = {
            let s = store.lock().expect("store");
            let (id, packed, _) = s
                .items(collection)
                .expect("items")
                .into_iter()
                .find(|(_, packed, _)| {
                    let bytes = unpack(packed, &InflateLimits::default()).expect("unpack");
                    matches!(proto::decode::<Item>(&bytes).expect("decode").kind,
                        Some(item::Kind::Calendar(ref e)) if e.master.as_ref().is_some_and(|m| m.uid == "e1"))
                })
                .expect("e1");
            let bytes = unpack(&packed, &InflateLimits::default()).expect("unpack");
            match proto::decode::<Item>(&bytes).expect("decode").kind {
                Some(item::Kind::Calendar(e)) => (id, e),
                _ => unreachable!("an event"),
            }
        };
        current.master.as_mut().expect("master").summary = format!("Device edit {n}");
        let version = current.version;
        let started = Instant::now();
        let result = handle
            .update_event(collection, current, version)
            .await
            .expect("update");
        writes.push(started.elapsed());
        assert!(matches!(result, EventResult::Done(_)), "{id}: {result:?}");
    }
    println!(
        "{kind:?}: device edit → upstream (desktop sees it), {SAMPLES} samples: p50 {:?}, p99 {:?}",
        percentile(&mut writes, 0.5),
        percentile(&mut writes, 0.99)
    );
    shutdown.send(true).expect("shutdown");
    let _ = tokio::time::timeout(Duration::from_secs(10), task).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "measurement for docs/upstream.md, not a test"]
async fn figures() {
    measure(Kind::Radicale).await;
    measure(Kind::Xandikos).await;
}
