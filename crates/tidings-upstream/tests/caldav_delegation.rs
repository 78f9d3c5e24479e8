//! Delegation living upstream, on a real Radicale whose rights file lets
//! the chief of staff write the mayor's `council` calendar and only read
//! her `calendar`: configured as shares of the chief's account, they become
//! grants on the mayor's mirrored collections with the matching rights (and
//! no copy of the chief's own); a withdrawn share revokes its grant. Where
//! the owner is not mirrored, the share is mirrored as the delegate's own
//! and the upstream's own refusal stops a write. With nothing configured,
//! the same grants are found from the upstream's rights alone, and a
//! calendar the chief may not read upstream (Alice's) is not granted.

#[path = "support/caldav_servers.rs"]
mod caldav_servers;
#[path = "support/caldesk.rs"]
mod caldesk;

use caldav_servers::{CalServer, Kind};
use caldesk::{CalDesk, event, summary_of};
use std::sync::{Arc, Mutex};
use tidings::ErrorKind;
use tidings::compress::{InflateLimits, unpack};
use tidings::proto::{self, CalendarItem, Item, item};
use tidings::store::{Directory, ItemStore};
use tidings::sync::Rights;
use tidings_store_sqlite::SqliteStore;
use tidings_upstream::SharedStore;
use tidings_upstream::caldav::config::Server;
use tidings_upstream::caldav::{CalAccount, CalDavAccount};
use tidings_upstream::config::Secret;

const MAYOR: &str = "mayor@example.org";
const CHIEF: &str = "chief@example.org";

fn store() -> SharedStore {
    let mut store = SqliteStore::open_in_memory().expect("store");
    store.add_principal("Mayor", MAYOR).expect("principal");
    store.add_principal("Chief", CHIEF).expect("principal");
    Arc::new(Mutex::new(store))
}

/// An account whose shares are those configured (`shares`) only.
fn account(
    cal: &CalServer,
    store: &SharedStore,
    principal: &str,
    login: &str,
    shares: &[&str],
) -> CalAccount {
    account_with(cal, store, principal, login, shares, false)
}

fn account_with(
    cal: &CalServer,
    store: &SharedStore,
    principal: &str,
    login: &str,
    shares: &[&str],
    discover_shares: bool,
) -> CalAccount {
    let server = Server {
        url: cal.url().parse().expect("url"),
        ca_file: None,
    };
    let account = CalDavAccount {
        principal: principal.to_string(),
        login: login.to_string(),
        password: Secret::new(cal.password(login)),
        calendars: shares.iter().map(|s| s.to_string()).collect(),
        discover_shares,
    };
    CalAccount::open(&server, &account, store.clone()).expect("open")
}

fn principal(store: &SharedStore, email: &str) -> u64 {
    let store = store.lock().expect("store");
    store
        .principal_by_email(email)
        .expect("lookup")
        .expect("principal")
        .id
}

fn rights(store: &SharedStore, who: u64, collection: u64) -> Rights {
    store
        .lock()
        .expect("store")
        .rights(who, collection)
        .expect("rights")
}

/// The only event of `collection`.
fn the_event(store: &SharedStore, collection: u64) -> CalendarItem {
    let items = store
        .lock()
        .expect("store")
        .items(collection)
        .expect("items");
    assert_eq!(items.len(), 1);
    let bytes = unpack(&items[0].1, &InflateLimits::default()).expect("unpack");
    match proto::decode::<Item>(&bytes).expect("decode").kind {
        Some(item::Kind::Calendar(e)) => e,
        other => panic!("not an event: {other:?}"),
    }
}

/// Radicale with the mayor's `calendar` (one event) and `council`, and the
/// chief's own calendar.
fn setup() -> (CalServer, CalDesk) {
    let cal = CalServer::start(Kind::Radicale);
    let mayor = CalDesk::new(cal.addr(), "mayor", &cal.password("mayor"));
    assert_eq!(mayor.mkcalendar("/mayor/calendar/", "Mayor").status, 201);
    assert_eq!(mayor.mkcalendar("/mayor/council/", "Council").status, 201);
    mayor.put(
        "/mayor/calendar/budget.ics",
        &event("budget-1", "Budget", 0),
        None,
    );
    let chief = CalDesk::new(cal.addr(), "chief", &cal.password("chief"));
    assert_eq!(chief.mkcalendar("/chief/calendar/", "Chief").status, 201);
    (cal, mayor)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_shares_become_grants() {
    let (cal, _mayor_desk) = setup();
    let store = store();
    let shares = ["/mayor/calendar/", "/mayor/council/"];
    // The chief's mirror may list before the mayor's: the share is then
    // mirrored as the chief's own until the owner's mirror has it.
    let mut chief = account(&cal, &store, CHIEF, "chief", &shares);
    chief.sync_all().await.expect("chief sync");
    assert_eq!(chief.calendars().expect("calendars").len(), 3);

    let mut mayor = account(&cal, &store, MAYOR, "mayor", &[]);
    mayor.sync_all().await.expect("mayor sync");
    let mayors = mayor.calendars().expect("calendars");
    let find = |href: &str| {
        mayors
            .iter()
            .find(|c| c.href.trim_end_matches('/') == href.trim_end_matches('/'))
            .expect("mirrored")
            .collection
    };
    let (calendar, council) = (find("/mayor/calendar/"), find("/mayor/council/"));

    chief.sync_calendar_list().await.expect("chief lists again");
    let chiefs = chief.calendars().expect("calendars");
    assert_eq!(chiefs.len(), 1, "only the chief's own calendar: {chiefs:?}");
    let chief_id = principal(&store, CHIEF);
    assert_eq!(rights(&store, chief_id, calendar), Rights::READ);
    assert_eq!(
        rights(&store, chief_id, council),
        Rights::READ.union(Rights::WRITE).union(Rights::RESPOND)
    );
    // The chief of staff holds the mayor's calendar, not her mail: the
    // grant is on that collection alone.
    let visible: Vec<u64> = store
        .lock()
        .expect("store")
        .visible_collections(chief_id)
        .expect("visible")
        .into_iter()
        .map(|(c, _)| c.id)
        .collect();
    assert!(visible.contains(&calendar) && visible.contains(&council));
    assert_eq!(
        the_event(&store, calendar).master.expect("master").summary,
        "Budget"
    );

    // The council share is withdrawn: its grant goes.
    let mut chief = account(&cal, &store, CHIEF, "chief", &shares[..1]);
    chief.sync_calendar_list().await.expect("chief lists again");
    assert_eq!(rights(&store, chief_id, council), Rights::NONE);
    assert_eq!(rights(&store, chief_id, calendar), Rights::READ);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delegate_with_read_rights_is_refused_a_write() {
    let (cal, mayor_desk) = setup();
    let store = store();
    // The mayor is not mirrored: the share is the chief's own copy, written
    // with the chief's login, and the upstream refuses.
    let mut chief = account(&cal, &store, CHIEF, "chief", &["/mayor/calendar/"]);
    chief.sync_all().await.expect("sync");
    let collection = chief
        .calendars()
        .expect("calendars")
        .into_iter()
        .find(|c| c.href.starts_with("/mayor/calendar"))
        .expect("the share is mirrored")
        .collection;
    let held = the_event(&store, collection);
    let mut edited = held.clone();
    edited.master.as_mut().expect("master").summary = "Budget (chief)".to_string();
    let err = chief
        .update_event(collection, edited, held.version)
        .await
        .expect_err("read-only upstream");
    assert_eq!(err.kind(), ErrorKind::PermissionDenied);
    assert_eq!(the_event(&store, collection), held, "store unchanged");
    let on_desk = mayor_desk.get("/mayor/calendar/budget.ics");
    assert_eq!(summary_of(&on_desk.body).as_deref(), Some("Budget"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shares_are_found_from_the_upstreams_rights() {
    let (cal, _mayor_desk) = setup();
    let alice_desk = CalDesk::new(cal.addr(), "alice", &cal.password("alice"));
    assert_eq!(
        alice_desk.mkcalendar("/alice/calendar/", "Alice").status,
        201
    );
    let store = store();
    store
        .lock()
        .expect("store")
        .add_principal("Alice", "alice@example.org")
        .expect("principal");
    let mut mayor = account(&cal, &store, MAYOR, "mayor", &[]);
    mayor.sync_all().await.expect("mayor sync");
    let mut alice = account(&cal, &store, "alice@example.org", "alice", &[]);
    alice.sync_all().await.expect("alice sync");
    let mayors = mayor.calendars().expect("calendars");
    let find = |href: &str| {
        mayors
            .iter()
            .find(|c| c.href.trim_end_matches('/') == href.trim_end_matches('/'))
            .expect("mirrored")
            .collection
    };
    let (calendar, council) = (find("/mayor/calendar/"), find("/mayor/council/"));
    let alices = alice.calendars().expect("calendars")[0].collection;

    // Nothing configured, nothing discovered: no grant.
    let chief_id = principal(&store, CHIEF);
    let mut chief = account(&cal, &store, CHIEF, "chief", &[]);
    chief.sync_all().await.expect("chief sync");
    assert_eq!(rights(&store, chief_id, calendar), Rights::NONE);

    // Discovered: the mayor's two with the rights Radicale's file gives the
    // chief; Alice's, which she may not read there, not at all.
    let mut chief = account_with(&cal, &store, CHIEF, "chief", &[], true);
    chief.sync_calendar_list().await.expect("chief lists");
    assert_eq!(rights(&store, chief_id, calendar), Rights::READ);
    assert_eq!(
        rights(&store, chief_id, council),
        Rights::READ.union(Rights::WRITE).union(Rights::RESPOND)
    );
    assert_eq!(rights(&store, chief_id, alices), Rights::NONE);
    let chiefs = chief.calendars().expect("calendars");
    assert_eq!(chiefs.len(), 1, "no copies of shared calendars: {chiefs:?}");
    // And the mayor, who may read none of the chief's, gets no grant.
    let mut mayor = account_with(&cal, &store, MAYOR, "mayor", &[], true);
    mayor.sync_calendar_list().await.expect("mayor lists");
    let mayor_id = principal(&store, MAYOR);
    assert_eq!(rights(&store, mayor_id, chiefs[0].collection), Rights::NONE);
    assert_eq!(rights(&store, mayor_id, alices), Rights::NONE);
}
