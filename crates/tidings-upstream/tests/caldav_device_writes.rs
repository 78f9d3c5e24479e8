//! A device's event writes as the server makes them: through the store
//! pool's write-back ([`DeviceWrites`] with a [`CalendarWriter`]), inside a
//! batch, against a real Radicale. A write goes upstream before the store;
//! when the desktop changed the event first (412), the write fails with
//! `Conflict` and the batch's store holds the desktop's version, which the
//! core then answers as the protocol's `Conflict`.

#[path = "support/caldav_servers.rs"]
mod caldav_servers;
#[path = "support/caldesk.rs"]
mod caldesk;

use caldav_servers::{CalServer, Kind};
use caldesk::{CalDesk, event, summary_of};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tidings::ErrorKind;
use tidings::compress::{InflateLimits, unpack};
use tidings::proto::{self, CalendarItem, Item, item};
use tidings::store::ItemStore;
use tidings::sync::pack_item;
use tidings_store_sqlite::{Durability, SqlitePool, SqliteStore};
use tidings_upstream::caldav::config::Server;
use tidings_upstream::caldav::device_writes::CalendarWriter;
use tidings_upstream::caldav::{CalAccount, CalDavAccount};
use tidings_upstream::config::Secret;
use tidings_upstream::device_writes::DeviceWrites;

const MAYOR: &str = "mayor@example.org";

fn decode(packed: &[u8]) -> CalendarItem {
    let bytes = unpack(packed, &InflateLimits::default()).expect("unpack");
    match proto::decode::<Item>(&bytes).expect("decode").kind {
        Some(item::Kind::Calendar(e)) => e,
        other => panic!("not an event: {other:?}"),
    }
}

fn summary(event: &CalendarItem) -> &str {
    event.master.as_ref().map_or("", |m| m.summary.as_str())
}

/// The event as the core packs a device's edit: summary changed, next version.
fn edit(event: &CalendarItem, summary: &str) -> bytes::Bytes {
    let mut event = event.clone();
    event.master.as_mut().expect("master").summary = summary.to_string();
    event.version += 1;
    pack_item(item::Kind::Calendar(event))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_writes_go_upstream_inside_the_batch_and_a_412_leaves_the_upstream_version() {
    let cal = CalServer::start(Kind::Radicale);
    let desk = CalDesk::new(cal.addr(), "mayor", &cal.password("mayor"));
    assert_eq!(desk.mkcalendar("/mayor/calendar/", "Mayor").status, 201);
    desk.put(
        "/mayor/calendar/budget.ics",
        &event("budget-1", "Budget", 0),
        None,
    );
    desk.put(
        "/mayor/calendar/pier.ics",
        &event("pier-1", "Pier", 0),
        None,
    );
    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("t.db");
    let mut store = SqliteStore::open(&db, Durability::Process).expect("store");
    let mayor = store.add_principal("Mayor", MAYOR).expect("principal");
    let server = Server {
        url: cal.url().parse().expect("url"),
        ca_file: None,
    };
    let account = CalDavAccount {
        principal: MAYOR.to_string(),
        login: "mayor".to_string(),
        password: Secret::new(cal.password("mayor")),
        calendars: Vec::new(),
        discover_shares: false,
    };
    let mirror = Arc::new(Mutex::new(
        SqliteStore::open(&db, Durability::Process).expect("mirror store"),
    ));
    let mut mirrored = CalAccount::open(&server, &account, mirror).expect("open");
    mirrored.sync_all().await.expect("sync");
    let calendar = mirrored.calendars().expect("calendars")[0].collection;
    let held: HashMap<String, (u64, CalendarItem)> = store
        .items(calendar)
        .expect("items")
        .into_iter()
        .map(|(id, p, _)| {
            let e = decode(&p);
            (summary(&e).to_string(), (id, e))
        })
        .collect();
    let (budget, budget_event) = held["Budget"].clone();
    let (pier, _) = held["Pier"].clone();

    let writer = CalendarWriter::new(&server, &account).expect("writer");
    let hook = DeviceWrites::new(HashMap::new(), tokio::runtime::Handle::current())
        .with_calendars(HashMap::from([(mayor, writer)]));
    let pool = Arc::new(SqlitePool::new(store).with_write_back(Arc::new(hook)));

    // The store pool calls the write-back on a store thread, as the server does.
    let batch = |f: Box<dyn FnOnce(&mut tidings_store_sqlite::Batch<'_>) + Send>| {
        let pool = pool.clone();
        tokio::task::spawn_blocking(move || {
            let mut batch = pool.batch().expect("batch");
            f(&mut batch);
            batch.finish().expect("commit");
        })
    };

    // An edit goes upstream, then into the store.
    let draft = edit(&budget_event, "Budget (draft)");
    batch(Box::new(move |b| {
        b.upsert(calendar, Some(budget), draft, 0).expect("written");
    }))
    .await
    .expect("batch");
    let on_desk = desk.get("/mayor/calendar/budget.ics");
    assert_eq!(summary_of(&on_desk.body).as_deref(), Some("Budget (draft)"));

    // The desktop edits first: 412, the write fails as Conflict, and the
    // batch's store holds the desktop's version at the next version.
    desk.put(
        "/mayor/calendar/budget.ics",
        &event("budget-1", "Budget (desktop)", 1),
        None,
    );
    let stale = edit(&budget_event, "Budget (phone)");
    batch(Box::new(move |b| {
        let err = b.upsert(calendar, Some(budget), stale, 0).expect_err("412");
        assert_eq!(err.kind(), ErrorKind::Conflict);
        let now = decode(&b.item(calendar, budget).expect("read").expect("held").0);
        assert_eq!(summary(&now), "Budget (desktop)");
    }))
    .await
    .expect("batch");
    let on_desk = desk.get("/mayor/calendar/budget.ics");
    assert_eq!(
        summary_of(&on_desk.body).as_deref(),
        Some("Budget (desktop)")
    );

    // A delete after a desktop edit: Conflict, nothing deleted.
    desk.put(
        "/mayor/calendar/pier.ics",
        &event("pier-1", "Pier (desktop)", 1),
        None,
    );
    batch(Box::new(move |b| {
        let err = b.remove(calendar, pier).expect_err("412");
        assert_eq!(err.kind(), ErrorKind::Conflict);
    }))
    .await
    .expect("batch");
    assert_eq!(desk.get("/mayor/calendar/pier.ics").status, 200);
    // With the upstream's version held, the delete goes through.
    batch(Box::new(move |b| {
        b.remove(calendar, pier).expect("deleted");
    }))
    .await
    .expect("batch");
    assert_eq!(desk.get("/mayor/calendar/pier.ics").status, 404);
    let left = pool.read(|s| s.items(calendar)).expect("items");
    assert_eq!(left.len(), 1);
    assert_eq!(summary(&decode(&left[0].1)), "Budget (desktop)");
}
