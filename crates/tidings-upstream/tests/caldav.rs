//! The CalDAV mirror against two real servers of different lineage,
//! Radicale and Xandikos, with an independent raw-HTTP client as the user's
//! desktop: events made on the desktop reach the store and a device's
//! delta; device edits through the gateway's handle reach the desktop;
//! concurrent edits give the protocol's Conflict and converge; a restart
//! resumes from the saved sync token without re-downloading; a refused
//! token re-lists. Delegation: `caldav_delegation.rs`; kill -9:
//! `caldav_crash.rs`.

#[path = "support/caldav_servers.rs"]
mod caldav_servers;
#[path = "support/caldesk.rs"]
mod caldesk;

use caldav_servers::{CalServer, Kind};
use caldesk::{CalDesk, event, summary_of};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tidings::compress::{InflateLimits, unpack};
use tidings::proto::{self, CalendarItem, Item, ParticipationStatus, item};
use tidings::store::{Directory, ItemStore};
use tidings::sync::{CollectionReplica, Delta, PageLimits};
use tidings_store_sqlite::{Durability, SqliteStore};
use tidings_upstream::SharedStore;
use tidings_upstream::caldav::config::Server;
use tidings_upstream::caldav::{CalAccount, CalDavAccount, CalendarOptions, EventResult, gateway};
use tidings_upstream::config::Secret;

const ALICE: &str = "alice@example.org";
const MAYOR: &str = "mayor@example.org";
const CHIEF: &str = "chief@example.org";
/// No wait in a test may take longer than this, whatever the upstream does.
const LIMIT: Duration = Duration::from_secs(60);

fn store_at(path: &Path) -> SharedStore {
    let mut store = SqliteStore::open(path, Durability::Process).expect("store");
    for (name, email) in [("Alice", ALICE), ("Mayor", MAYOR), ("Chief", CHIEF)] {
        if store.principal_by_email(email).expect("lookup").is_none() {
            store.add_principal(name, email).expect("principal");
        }
    }
    Arc::new(Mutex::new(store))
}

fn server_of(cal: &CalServer) -> Server {
    Server {
        url: cal.url().parse().expect("url"),
        ca_file: None,
    }
}

fn account_of(cal: &CalServer, principal: &str, login: &str, calendars: &[&str]) -> CalDavAccount {
    CalDavAccount {
        principal: principal.to_string(),
        login: login.to_string(),
        password: Secret::new(cal.password(login)),
        calendars: calendars.iter().map(|c| c.to_string()).collect(),
        discover_shares: false,
    }
}

/// A server with `user`'s calendar made, and a desktop logged in as `user`.
fn setup(kind: Kind, user: &str) -> (CalServer, CalDesk) {
    let cal = CalServer::start(kind);
    let desk = CalDesk::new(cal.addr(), user, &cal.password(user));
    if kind == Kind::Radicale {
        let made = desk.mkcalendar(&cal.calendar_href(user), "Calendar");
        assert_eq!(made.status, 201, "MKCALENDAR: {}\n{}", made.body, cal.log());
    }
    (cal, desk)
}

fn href(cal: &CalServer, user: &str, name: &str) -> String {
    format!("{}{name}", cal.calendar_href(user))
}

fn open(cal: &CalServer, store: &SharedStore, principal: &str, login: &str) -> CalAccount {
    CalAccount::open(
        &server_of(cal),
        &account_of(cal, principal, login, &[]),
        store.clone(),
    )
    .expect("open account")
}

/// The only mirrored calendar's collection.
fn calendar(account: &CalAccount) -> u64 {
    let calendars = account.calendars().expect("calendars");
    assert_eq!(calendars.len(), 1, "{calendars:?}");
    calendars[0].collection
}

fn decode(packed: &[u8]) -> CalendarItem {
    let bytes = unpack(packed, &InflateLimits::default()).expect("unpack");
    match proto::decode::<Item>(&bytes).expect("decode").kind {
        Some(item::Kind::Calendar(event)) => event,
        other => panic!("not an event: {other:?}"),
    }
}

fn summary(event: &CalendarItem) -> String {
    event.master.as_ref().expect("master").summary.clone()
}

/// What a device that syncs `collection` from scratch holds: summary → (id, version).
fn device_view(store: &SharedStore, collection: u64) -> BTreeMap<String, (u64, u64)> {
    let store = store.lock().expect("store");
    let mut replica = CollectionReplica::new(collection);
    loop {
        match store
            .delta(&replica.cursor(), &PageLimits::default())
            .expect("delta")
        {
            Delta::Page(page) => {
                replica
                    .apply(&page, &InflateLimits::default())
                    .expect("apply");
                if !page.more {
                    break;
                }
            }
            Delta::Resync(r) => panic!("unexpected resync {r:?}"),
        }
    }
    replica
        .items()
        .values()
        .map(|held| match &held.item.kind {
            Some(item::Kind::Calendar(e)) => (summary(e), (e.id, e.version)),
            other => panic!("not an event: {other:?}"),
        })
        .collect()
}

fn stored(store: &SharedStore, collection: u64, id: u64) -> Option<CalendarItem> {
    let store = store.lock().expect("store");
    store
        .item(collection, id)
        .expect("item")
        .map(|(packed, _)| decode(&packed))
}

async fn eventually<T>(mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = tokio::time::Instant::now() + LIMIT;
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "condition not met within {LIMIT:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

macro_rules! on_both {
    ($name:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn radicale() {
                super::$name(super::Kind::Radicale).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn xandikos() {
                super::$name(super::Kind::Xandikos).await
            }
        }
    };
}

on_both!(desktop_changes_reach_the_device);
async fn desktop_changes_reach_the_device(kind: Kind) {
    let (cal, desk) = setup(kind, "alice");
    let dir = tempfile::tempdir().expect("dir");
    let store = store_at(&dir.path().join("store.db"));
    let made = desk.put(
        &href(&cal, "alice", "budget.ics"),
        &event("budget-1", "Budget", 0),
        None,
    );
    assert_eq!(made.status, 201, "{}", made.body);
    let mut account = open(&cal, &store, ALICE, "alice");
    account.sync_all().await.expect("first sync");
    let collection = calendar(&account);
    let view = device_view(&store, collection);
    assert_eq!(view.keys().collect::<Vec<_>>(), ["Budget"]);
    let (id, version) = view["Budget"];
    assert_eq!(version, 1);

    // An idle calendar: one REPORT, nothing fetched.
    let before = (account.fetched(), account.traffic());
    account.sync_calendars().await.expect("idle sync");
    assert_eq!(account.fetched(), before.0);
    assert_eq!(account.traffic().requests, before.1.requests + 1);

    // Edited and a second event added on the desktop.
    let etag = desk
        .get(&href(&cal, "alice", "budget.ics"))
        .etag
        .expect("etag");
    let edit = desk.put(
        &href(&cal, "alice", "budget.ics"),
        &event("budget-1", "Budget, second reading", 1),
        Some(&etag),
    );
    assert!(edit.status == 204 || edit.status == 201, "{}", edit.body);
    desk.put(
        &href(&cal, "alice", "council.ics"),
        &event("council-1", "Council", 0),
        None,
    );
    account.sync_calendars().await.expect("sync");
    let view = device_view(&store, collection);
    assert_eq!(
        view.get("Budget, second reading"),
        Some(&(id, 2)),
        "same item, next version: {view:?}"
    );
    assert!(view.contains_key("Council"));
    assert_eq!(account.fetched().resources, 3);

    // Deleted on the desktop.
    assert_eq!(
        desk.delete(&href(&cal, "alice", "council.ics")).status / 100,
        2
    );
    account.sync_calendars().await.expect("sync");
    let view = device_view(&store, collection);
    assert_eq!(view.keys().collect::<Vec<_>>(), ["Budget, second reading"]);

    // Free/busy needs nothing of its own: mirrored events are items.
    let packed: Vec<_> = store
        .lock()
        .expect("store")
        .items(collection)
        .expect("items");
    let items: Vec<_> = packed
        .iter()
        .map(|(item_id, packed, _)| tidings::sync::freebusy::StoredItem {
            calendar_id: collection,
            item_id: *item_id,
            packed,
        })
        .collect();
    // December 2026; the event is 2026-12-10 09:00-10:00 UTC.
    let busy = tidings::sync::freebusy::free_busy(&items, 1_796_083_200, 1_798_761_600)
        .expect("free/busy");
    let periods: Vec<_> = busy.periods.iter().map(|p| (p.start, p.end)).collect();
    assert_eq!(periods, [(1_796_893_200, 1_796_893_200 + 3600)]);
}

on_both!(device_edits_reach_the_desktop);
async fn device_edits_reach_the_desktop(kind: Kind) {
    let (cal, desk) = setup(kind, "alice");
    let dir = tempfile::tempdir().expect("dir");
    let store = store_at(&dir.path().join("store.db"));
    desk.put(
        &href(&cal, "alice", "budget.ics"),
        &event("budget-1", "Budget", 0),
        None,
    );
    let (shutdown, stop) = tokio::sync::watch::channel(false);
    let options = CalendarOptions {
        server: server_of(&cal),
        account: account_of(&cal, ALICE, "alice", &[]),
        interval: Duration::from_millis(200),
    };
    let (handle, task) = gateway::spawn(options, store.clone(), stop);
    handle.sync_now().await.expect("sync");
    let collection = {
        let s = store.lock().expect("store");
        let alice = s
            .principal_by_email(ALICE)
            .expect("lookup")
            .expect("alice")
            .id;
        s.owned_collections(alice).expect("collections")[0].id
    };
    let (id, version) = device_view(&store, collection)["Budget"];

    // Update: the desktop sees the device's summary.
    let mut edited = stored(&store, collection, id).expect("event");
    edited.master.as_mut().expect("master").summary = "Budget (moved)".to_string();
    let result = handle
        .update_event(collection, edited, version)
        .await
        .expect("update");
    assert_eq!(
        result,
        EventResult::Done(proto::Done {
            item_id: id,
            version: 2
        })
    );
    let on_desk = desk.get(&href(&cal, "alice", "budget.ics"));
    assert_eq!(summary_of(&on_desk.body).as_deref(), Some("Budget (moved)"));

    // Create: a new resource upstream, named from the UID.
    let mut new = stored(&store, collection, id).expect("event");
    let master = new.master.as_mut().expect("master");
    master.uid = "press@tidings".to_string();
    master.summary = "Press".to_string();
    let EventResult::Done(done) = handle.create_event(collection, new).await.expect("create")
    else {
        panic!("create conflicted");
    };
    assert_eq!(done.version, 1);
    let on_desk = desk.get(&href(&cal, "alice", "press_40tidings.ics"));
    assert_eq!(on_desk.status, 200, "{}", on_desk.body);
    assert_eq!(summary_of(&on_desk.body).as_deref(), Some("Press"));

    // Invitation answer: the owner's PARTSTAT upstream.
    let answered = handle
        .respond(
            collection,
            id,
            ParticipationStatus::Accepted,
            None,
            String::new(),
        )
        .await
        .expect("respond");
    assert_eq!(answered.done.version, 3);
    assert_eq!(answered.reply, None, "the organizer is local: no mail");
    let on_desk = desk
        .get(&href(&cal, "alice", "budget.ics"))
        .body
        .replace("\r\n ", "");
    assert!(on_desk.contains("PARTSTAT=ACCEPTED"), "{on_desk}");

    // An organizer elsewhere gets an iTIP REPLY (for the server to mail).
    let external =
        event("ext-1", "Visit", 0).replace("mayor@example.org", "clerk@elsewhere.example");
    desk.put(&href(&cal, "alice", "ext.ics"), &external, None);
    handle.sync_now().await.expect("sync");
    let (ext, _) = device_view(&store, collection)["Visit"];
    let answered = handle
        .respond(
            collection,
            ext,
            ParticipationStatus::Declined,
            None,
            String::new(),
        )
        .await
        .expect("respond");
    let reply = answered.reply.expect("an iTIP REPLY");
    assert_eq!(reply.to, "clerk@elsewhere.example");
    assert!(reply.ics.contains("METHOD:REPLY"), "{}", reply.ics);
    assert!(reply.ics.contains("PARTSTAT=DECLINED"), "{}", reply.ics);
    let on_desk = desk
        .get(&href(&cal, "alice", "ext.ics"))
        .body
        .replace("\r\n ", "");
    assert!(on_desk.contains("PARTSTAT=DECLINED"), "{on_desk}");

    // Delete: gone on the desktop and for devices.
    let result = handle
        .delete_event(collection, done.item_id, 1)
        .await
        .expect("delete");
    assert!(matches!(result, EventResult::Done(_)));
    assert_eq!(
        desk.get(&href(&cal, "alice", "press_40tidings.ics")).status,
        404
    );
    assert!(!device_view(&store, collection).contains_key("Press"));

    // The interval picks up a desktop change with nobody asking.
    let etag = desk
        .get(&href(&cal, "alice", "budget.ics"))
        .etag
        .expect("etag");
    desk.put(
        &href(&cal, "alice", "budget.ics"),
        &event("budget-1", "Budget (desktop)", 2),
        Some(&etag),
    );
    eventually(|| {
        device_view(&store, collection)
            .get("Budget (desktop)")
            .copied()
    })
    .await;
    shutdown.send(true).expect("shutdown");
    tokio::time::timeout(LIMIT, task)
        .await
        .expect("stops")
        .expect("task");
}

on_both!(concurrent_edits_conflict_and_converge);
async fn concurrent_edits_conflict_and_converge(kind: Kind) {
    let (cal, desk) = setup(kind, "alice");
    let dir = tempfile::tempdir().expect("dir");
    let store = store_at(&dir.path().join("store.db"));
    desk.put(
        &href(&cal, "alice", "budget.ics"),
        &event("budget-1", "Budget", 0),
        None,
    );
    let mut account = open(&cal, &store, ALICE, "alice");
    account.sync_all().await.expect("sync");
    let collection = calendar(&account);
    let (id, version) = device_view(&store, collection)["Budget"];
    let device_copy = stored(&store, collection, id).expect("event");

    // The desktop edits first; the gateway has not synced since.
    let etag = desk
        .get(&href(&cal, "alice", "budget.ics"))
        .etag
        .expect("etag");
    desk.put(
        &href(&cal, "alice", "budget.ics"),
        &event("budget-1", "Budget (desktop)", 1),
        Some(&etag),
    );
    let mut edited = device_copy.clone();
    edited.master.as_mut().expect("master").summary = "Budget (device)".to_string();
    let result = account
        .update_event(collection, edited.clone(), version)
        .await
        .expect("update");
    let EventResult::Conflict(conflict) = result else {
        panic!("expected a conflict, got {result:?}");
    };
    assert_eq!(conflict.current_version, version + 1);
    assert_eq!(summary(&decode(&conflict.current)), "Budget (desktop)");
    // The store holds the upstream's version: every device converges on it.
    assert_eq!(
        device_view(&store, collection)["Budget (desktop)"],
        (id, version + 1)
    );
    let on_desk = desk.get(&href(&cal, "alice", "budget.ics"));
    assert_eq!(
        summary_of(&on_desk.body).as_deref(),
        Some("Budget (desktop)")
    );

    // A stale expected version is refused without asking the upstream.
    let before = account.traffic().requests;
    let again = account
        .update_event(collection, edited.clone(), version)
        .await
        .expect("update");
    assert!(matches!(again, EventResult::Conflict(_)));
    assert_eq!(account.traffic().requests, before);

    // The user decides for the device's text: applied on the current version.
    let result = account
        .update_event(collection, edited, conflict.current_version)
        .await
        .expect("update");
    assert_eq!(
        result,
        EventResult::Done(proto::Done {
            item_id: id,
            version: version + 2
        })
    );
    let on_desk = desk.get(&href(&cal, "alice", "budget.ics"));
    assert_eq!(
        summary_of(&on_desk.body).as_deref(),
        Some("Budget (device)")
    );

    // A delete racing a desktop edit conflicts too.
    let etag = on_desk.etag.expect("etag");
    desk.put(
        &href(&cal, "alice", "budget.ics"),
        &event("budget-1", "Budget (final)", 3),
        Some(&etag),
    );
    let result = account
        .delete_event(collection, id, version + 2)
        .await
        .expect("delete");
    let EventResult::Conflict(conflict) = result else {
        panic!("expected a conflict, got {result:?}");
    };
    assert_eq!(summary(&decode(&conflict.current)), "Budget (final)");
    assert_eq!(desk.get(&href(&cal, "alice", "budget.ics")).status, 200);
}

on_both!(restart_resumes_from_the_saved_token);
async fn restart_resumes_from_the_saved_token(kind: Kind) {
    let (cal, desk) = setup(kind, "alice");
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("store.db");
    for n in 0..5 {
        desk.put(
            &href(&cal, "alice", &format!("e{n}.ics")),
            &event(&format!("e{n}"), &format!("Event {n}"), 0),
            None,
        );
    }
    let collection = {
        let store = store_at(&path);
        let mut account = open(&cal, &store, ALICE, "alice");
        account.sync_all().await.expect("sync");
        assert_eq!(account.fetched().resources, 5);
        calendar(&account)
    };
    desk.put(
        &href(&cal, "alice", "late.ics"),
        &event("late", "Late", 0),
        None,
    );
    let store = store_at(&path);
    let mut account = open(&cal, &store, ALICE, "alice");
    account.sync_all().await.expect("sync after restart");
    assert_eq!(calendar(&account), collection, "same collection");
    assert_eq!(
        account.fetched().resources,
        1,
        "only what changed meanwhile"
    );
    assert_eq!(device_view(&store, collection).len(), 6);
}

on_both!(refused_token_lists_afresh);
async fn refused_token_lists_afresh(kind: Kind) {
    let (cal, desk) = setup(kind, "alice");
    let dir = tempfile::tempdir().expect("dir");
    let store = store_at(&dir.path().join("store.db"));
    desk.put(
        &href(&cal, "alice", "keep.ics"),
        &event("keep", "Keep", 0),
        None,
    );
    desk.put(
        &href(&cal, "alice", "drop.ics"),
        &event("drop", "Drop", 0),
        None,
    );
    let mut account = open(&cal, &store, ALICE, "alice");
    account.sync_all().await.expect("sync");
    let collection = calendar(&account);
    // The server forgets our token (a bogus one stands in for an expired
    // one), and an event is deleted meanwhile.
    let bogus = match kind {
        Kind::Radicale => {
            "http://radicale.org/ns/sync/0000000000000000000000000000000000000000000000000000000000000000"
        }
        Kind::Xandikos => "0000000000000000000000000000000000000000",
    };
    store
        .lock()
        .expect("store")
        .companion_sql()
        .execute(
            "UPDATE upstream_caldav_calendars SET sync_token = ?1",
            [bogus],
        )
        .expect("token");
    desk.delete(&href(&cal, "alice", "drop.ics"));
    let fetched = account.fetched();
    account
        .sync_calendars()
        .await
        .expect("sync with a refused token");
    assert_eq!(
        device_view(&store, collection).keys().collect::<Vec<_>>(),
        ["Keep"]
    );
    assert_eq!(
        account.fetched(),
        fetched,
        "unchanged events not fetched again"
    );
    let saved = account.calendars().expect("calendars")[0]
        .sync_token
        .clone();
    assert_ne!(saved, bogus);
}
