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
use tidings::sync::ical::calendar_item_to_ical;
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

/// Radicale with the mayor's calendar holding Budget and Pier, mirrored
/// into a store; the store pool with the device write-back, as the server
/// runs it.
struct Fixture {
    cal: CalServer,
    desk: CalDesk,
    _dir: tempfile::TempDir,
    pool: Arc<SqlitePool>,
    mirrored: CalAccount,
    calendar: u64,
    /// The mirrored events by summary: (item id, event).
    held: HashMap<String, (u64, CalendarItem)>,
}

async fn fixture() -> Fixture {
    fixture_on(Kind::Radicale).await
}

/// The fixture on `kind`; its calendar is at `cal.calendar_href("mayor")`.
async fn fixture_on(kind: Kind) -> Fixture {
    fixture_with(kind, None).await
}

/// The fixture on `kind`, its device writes sent to `writes_to` if given
/// (the mirror still syncs from the real server).
async fn fixture_with(kind: Kind, writes_to: Option<String>) -> Fixture {
    let cal = CalServer::start(kind);
    let desk = CalDesk::new(cal.addr(), "mayor", &cal.password("mayor"));
    let base = cal.calendar_href("mayor");
    if kind == Kind::Radicale {
        assert_eq!(desk.mkcalendar(&base, "Mayor").status, 201);
    }
    desk.put(
        &format!("{base}budget.ics"),
        &event("budget-1", "Budget", 0),
        None,
    );
    desk.put(
        &format!("{base}pier.ics"),
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
    let held = store
        .items(calendar)
        .expect("items")
        .into_iter()
        .map(|(id, p, _)| {
            let e = decode(&p);
            (summary(&e).to_string(), (id, e))
        })
        .collect();
    let writes_to = match writes_to {
        Some(url) => Server {
            url: url.parse().expect("url"),
            ca_file: None,
        },
        None => server,
    };
    let writer = CalendarWriter::new(&writes_to, &account).expect("writer");
    let hook = DeviceWrites::new(HashMap::new(), tokio::runtime::Handle::current())
        .with_calendars(HashMap::from([(mayor, writer)]));
    let pool = Arc::new(SqlitePool::new(store).with_write_back(Arc::new(hook)));
    Fixture {
        cal,
        desk,
        _dir: dir,
        pool,
        mirrored,
        calendar,
        held,
    }
}

type Job = Box<dyn FnOnce(&mut tidings_store_sqlite::Batch<'_>) + Send>;

/// Runs `f` in one batch on a store thread, as the server does.
async fn batch(pool: &Arc<SqlitePool>, f: Job) {
    let pool = pool.clone();
    tokio::task::spawn_blocking(move || {
        let mut batch = pool.batch().expect("batch");
        f(&mut batch);
        batch.finish().expect("commit");
    })
    .await
    .expect("batch");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_writes_go_upstream_inside_the_batch_and_a_412_leaves_the_upstream_version() {
    let Fixture {
        cal: _cal,
        desk,
        _dir,
        pool,
        calendar,
        held,
        ..
    } = fixture().await;
    let batch = |f: Job| batch(&pool, f);
    let (budget, budget_event) = held["Budget"].clone();
    let (pier, _) = held["Pier"].clone();

    // An edit goes upstream, then into the store.
    let draft = edit(&budget_event, "Budget (draft)");
    batch(Box::new(move |b| {
        b.upsert(calendar, Some(budget), draft, 0).expect("written");
    }))
    .await;
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
    .await;
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
    .await;
    assert_eq!(desk.get("/mayor/calendar/pier.ics").status, 200);
    // With the upstream's version held, the delete goes through.
    batch(Box::new(move |b| {
        b.remove(calendar, pier).expect("deleted");
    }))
    .await;
    assert_eq!(desk.get("/mayor/calendar/pier.ics").status, 404);
    let left = pool.read(|s| s.items(calendar)).expect("items");
    assert_eq!(left.len(), 1);
    assert_eq!(summary(&decode(&left[0].1)), "Budget (desktop)");
}

/// A device retries a write that reached the upstream before the server
/// died (its store transaction never committed): the upstream holds
/// exactly what the gateway would write. The retry is done once, not a
/// conflict, and not a second event; also when the mirror stored the
/// created event under an id of its own meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_write_the_upstream_already_holds_is_done_once() {
    let Fixture {
        cal: _cal,
        desk,
        _dir,
        pool,
        mut mirrored,
        calendar,
        held,
    } = fixture().await;
    // The edit reached the upstream (as the gateway writes it), not the store.
    let (budget, budget_event) = held["Budget"].clone();
    let retried = edit(&budget_event, "Budget (retried)");
    let text = calendar_item_to_ical(&decode(&retried));
    assert_eq!(
        desk.put("/mayor/calendar/budget.ics", &text, None).status / 100,
        2
    );
    batch(
        &pool,
        Box::new(move |b| {
            b.upsert(calendar, Some(budget), retried, 0)
                .expect("done, not a conflict");
        }),
    )
    .await;
    let now = pool.read(|s| s.item(calendar, budget)).expect("read");
    let now = decode(&now.expect("held").0);
    assert_eq!(summary(&now), "Budget (retried)");
    assert_eq!(
        now.version,
        budget_event.version + 1,
        "the device's version"
    );

    // A create that reached the upstream, which the mirror then stored as
    // its own item: the device's retry takes its place.
    let mut ferry = budget_event.clone();
    let master = ferry.master.as_mut().expect("master");
    master.uid = "ferry-2".to_string();
    master.summary = "Ferry".to_string();
    ferry.id = 9_000;
    ferry.version = 1;
    let text = calendar_item_to_ical(&ferry);
    assert_eq!(
        desk.put("/mayor/calendar/ferry-2.ics", &text, None).status / 100,
        2
    );
    mirrored.sync_all().await.expect("mirror sync");
    let ferries = |pool: &SqlitePool| -> Vec<u64> {
        let items = pool.read(|s| s.items(calendar)).expect("items");
        items
            .iter()
            .filter(|(_, p, _)| summary(&decode(p)) == "Ferry")
            .map(|(id, _, _)| *id)
            .collect()
    };
    assert_eq!(ferries(&pool).len(), 1, "the mirror's copy");
    let packed = pack_item(item::Kind::Calendar(ferry));
    batch(
        &pool,
        Box::new(move |b| {
            b.upsert(calendar, Some(9_000), packed, 0)
                .expect("done, not 'already in the calendar'");
        }),
    )
    .await;
    assert_eq!(ferries(&pool), vec![9_000], "one event, the device's id");
    assert_eq!(desk.get("/mayor/calendar/ferry-2.ics").status, 200);
    // The mirror's next round knows the resource as the device's item.
    mirrored.sync_all().await.expect("mirror sync");
    assert_eq!(ferries(&pool), vec![9_000], "no second copy");
}

/// A Google series and an Apple invitation to one instance alone (the
/// tester's fixtures, in the core's tests), addressed to the mayor.
fn invitation(text: &str) -> String {
    text.replace("mayor@town.example", MAYOR)
}

/// The mayor's answer in each VEVENT of an upstream resource: (RECURRENCE-ID
/// or "" for the master, PARTSTAT), as a CalDAV client reads it.
fn answers_upstream(desk: &CalDesk, path: &str) -> Vec<(String, i32)> {
    let got = desk.get(path);
    assert_eq!(got.status, 200, "{path}");
    let item = tidings::sync::ical::calendar_items_from_ical(&got.body, 1)
        .expect("the upstream's text parses")
        .remove(0);
    item.master
        .iter()
        .chain(&item.overrides)
        .filter_map(|e| {
            let rid = e.recurrence_id.as_ref().map(|r| r.value.clone());
            let status = tidings::sync::invitation::status_in(e, MAYOR)?;
            Some((rid.unwrap_or_default(), status))
        })
        .collect()
}

/// The core's `RespondToInvitation` as the store sees it: the answer set
/// in the held event, the next version, one upsert in a batch.
async fn respond(
    pool: &Arc<SqlitePool>,
    calendar: u64,
    id: u64,
    status: proto::ParticipationStatus,
    rid: Option<proto::CalendarTime>,
) {
    let held = pool.read(|s| s.item(calendar, id)).expect("read");
    let mut event = decode(&held.expect("held").0);
    tidings::sync::invitation::answer(&mut event, MAYOR, status, rid.as_ref()).expect("answered");
    event.version += 1;
    let packed = pack_item(item::Kind::Calendar(event));
    batch(
        pool,
        Box::new(move |b| {
            b.upsert(calendar, Some(id), packed, 0)
                .expect("written upstream");
        }),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_to_one_instance_or_the_series_land_upstream_where_they_belong() {
    use proto::ParticipationStatus::{Accepted, Declined, NeedsAction};
    // Xandikos: Radicale refuses a resource with no master (400), as the
    // tester found; Xandikos stores it as Apple sends it.
    let Fixture {
        cal,
        desk,
        _dir,
        pool,
        mut mirrored,
        calendar,
        ..
    } = fixture_on(Kind::Xandikos).await;
    let base = cal.calendar_href("mayor");
    let (weekly_at, single_at) = (format!("{base}weekly.ics"), format!("{base}single.ics"));
    let weekly = invitation(include_str!(
        "../../tidings/tests/invitations/google_weekly.ics"
    ));
    let single = invitation(include_str!(
        "../../tidings/tests/invitations/instance_only.ics"
    ));
    for (path, text) in [(&weekly_at, &weekly), (&single_at, &single)] {
        let put = desk.put(path, text, None);
        assert_eq!(put.status / 100, 2, "{path}: {}", put.body);
    }
    mirrored.sync_all().await.expect("mirror sync");
    let id_of = |summary: &str| {
        let items = pool.read(|s| s.items(calendar)).expect("items");
        items
            .iter()
            .find(|(_, p, _)| {
                let e = decode(p);
                e.master
                    .iter()
                    .chain(&e.overrides)
                    .any(|m| m.summary == summary)
            })
            .map(|(id, _, _)| *id)
            .unwrap_or_else(|| panic!("{summary} mirrored"))
    };
    let (weekly_id, single_id) = (
        id_of("Weekly sync (Google)"),
        id_of("Eine Sitzung der Reihe (nur diese)"),
    );
    let n = |s: proto::ParticipationStatus| s as i32;

    // One instance declined: a new override upstream, nothing else changed.
    let monday = proto::CalendarTime {
        value: "20270308T093000".into(),
        tzid: "America/New_York".into(),
        ..Default::default()
    };
    respond(&pool, calendar, weekly_id, Declined, Some(monday)).await;
    let mut upstream = answers_upstream(&desk, &weekly_at);
    upstream.sort();
    assert_eq!(
        upstream,
        vec![
            (String::new(), n(NeedsAction)),
            ("20270308T093000".into(), n(Declined)),
            ("20270315T093000".into(), n(NeedsAction)),
        ]
    );

    // The series accepted: the master and every instance listing the mayor.
    respond(&pool, calendar, weekly_id, Accepted, None).await;
    let upstream = answers_upstream(&desk, &weekly_at);
    assert_eq!(upstream.len(), 3, "{upstream:?}");
    assert!(
        upstream.iter().all(|(_, s)| *s == n(Accepted)),
        "{upstream:?}"
    );

    // The invitation to one instance alone, answered.
    respond(&pool, calendar, single_id, Accepted, None).await;
    assert_eq!(
        answers_upstream(&desk, &single_at),
        vec![("20270204T100000".into(), n(Accepted))]
    );
}

/// A CalDAV server that takes connections and never answers holds the
/// store's write lock for one bounded wait (`WRITE_TIMEOUT` a request, not
/// the mirror's minute), then the account cools down: its next write fails
/// at once instead of holding the lock again, and nothing is stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_upstream_holds_the_write_lock_once_briefly_then_writes_fail_at_once() {
    use std::time::{Duration, Instant};
    use tidings_upstream::writer::WRITE_TIMEOUT;
    // Listening, never accepting: the kernel completes each connection and
    // nobody ever answers.
    let hole = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}/", hole.local_addr().expect("addr"));
    let Fixture {
        cal: _cal,
        _dir,
        pool,
        calendar,
        held,
        ..
    } = fixture_with(Kind::Radicale, Some(url)).await;
    let (budget, budget_event) = held["Budget"].clone();
    let write = |summary: &str| {
        let draft = edit(&budget_event, summary);
        let job: Job = Box::new(move |b| {
            let err = b
                .upsert(calendar, Some(budget), draft, 0)
                .expect_err("stalled");
            assert_eq!(err.kind(), ErrorKind::UpstreamUnavailable);
        });
        job
    };
    let started = Instant::now();
    batch(&pool, write("Budget (draft)")).await;
    let first = started.elapsed();
    assert!(
        first >= WRITE_TIMEOUT && first < WRITE_TIMEOUT + Duration::from_secs(2),
        "the first write waited {first:?}"
    );
    let started = Instant::now();
    batch(&pool, write("Budget (again)")).await;
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "the cooling account's write waited {:?}",
        started.elapsed()
    );
    let kept = pool.read(|s| s.item(calendar, budget)).expect("read");
    assert_eq!(summary(&decode(&kept.expect("held").0)), "Budget");
}

/// How a stub CalDAV server answers one request.
#[derive(Clone, Copy)]
enum Stub {
    /// This answer (a whole HTTP response), after this long.
    After(std::time::Duration, &'static str),
    /// Nothing, ever.
    Stall,
}

const NO_ETAG: &str = "HTTP/1.1 204 No Content\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";
const PRECONDITION_FAILED: &str =
    "HTTP/1.1 412 Precondition Failed\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";
/// The answer to the read of the resource an update merges into: not
/// there (the update then goes as the core wrote it).
const NOTHING_FETCHED: &str = "HTTP/1.1 207 Multi-Status\r\ncontent-type: application/xml\r\ncontent-length: 52\r\nconnection: close\r\n\r\n<?xml version=\"1.0\"?><d:multistatus xmlns:d=\"DAV:\"/>";
const UNAVAILABLE: &str =
    "HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";

/// A CalDAV server on loopback answering its requests in turn as `script`
/// says (its last entry for every request after): its URL, and how many
/// requests it was sent.
fn stub(script: Vec<Stub>) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::io::{Read, Write};
    use std::sync::atomic::{AtomicUsize, Ordering};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}/", listener.local_addr().expect("addr"));
    let asked = Arc::new(AtomicUsize::new(0));
    let counted = asked.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let n = counted.fetch_add(1, Ordering::SeqCst);
            let step = script[n.min(script.len() - 1)];
            // Each on its own thread: a stalled one holds nobody else up.
            std::thread::spawn(move || {
                // The request's head; its body, if any, is left unread.
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap_or(0) == 1 {
                    head.push(byte[0]);
                }
                match step {
                    Stub::After(wait, answer) => {
                        std::thread::sleep(wait);
                        let _ = stream.write_all(answer.as_bytes());
                    }
                    Stub::Stall => std::thread::sleep(std::time::Duration::from_secs(60)),
                }
            });
        }
    });
    (url, asked)
}

/// A write's requests share one `WRITE_TIMEOUT`: the resource read, a
/// `412` after 3 s, then a fetch that never answers, fail the write after 5 s in all, not 3 + 5.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_waits_for_the_upstream_five_seconds_in_all_however_many_requests() {
    use std::time::{Duration, Instant};
    use tidings_upstream::writer::WRITE_TIMEOUT;
    let (url, asked) = stub(vec![
        Stub::After(Duration::ZERO, NOTHING_FETCHED),
        Stub::After(Duration::from_secs(3), PRECONDITION_FAILED),
        Stub::Stall,
    ]);
    let Fixture {
        cal: _cal,
        _dir,
        pool,
        calendar,
        held,
        ..
    } = fixture_with(Kind::Radicale, Some(url)).await;
    let (budget, budget_event) = held["Budget"].clone();
    let draft = edit(&budget_event, "Budget (draft)");
    let job: Job = Box::new(move |b| {
        let err = b
            .upsert(calendar, Some(budget), draft, 0)
            .expect_err("stalled");
        assert_eq!(err.kind(), ErrorKind::UpstreamUnavailable);
    });
    let started = Instant::now();
    batch(&pool, job).await;
    let took = started.elapsed();
    assert!(
        took < WRITE_TIMEOUT + Duration::from_secs(1),
        "the write waited {took:?}"
    );
    assert_eq!(
        asked.load(std::sync::atomic::Ordering::SeqCst),
        3,
        "a read of the resource to merge into, a PUT, then a fetch"
    );
    let kept = pool.read(|s| s.item(calendar, budget)).expect("read");
    assert_eq!(summary(&decode(&kept.expect("held").0)), "Budget");
}

/// A `PUT` answered without an ETag is stored at once; the server's version
/// is fetched after, and when that fetch fails the write still stands (it
/// is in the store and upstream): the device is told `Done`, not 710.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_stored_upstream_stands_when_the_fetch_after_it_fails() {
    let (url, asked) = stub(vec![
        Stub::After(std::time::Duration::ZERO, NOTHING_FETCHED),
        Stub::After(std::time::Duration::ZERO, NO_ETAG),
        Stub::Stall,
    ]);
    let Fixture {
        cal: _cal,
        _dir,
        pool,
        calendar,
        held,
        ..
    } = fixture_with(Kind::Radicale, Some(url)).await;
    let (budget, budget_event) = held["Budget"].clone();
    let draft = edit(&budget_event, "Budget (final)");
    let job: Job = Box::new(move |b| {
        b.upsert(calendar, Some(budget), draft, 0)
            .expect("written upstream and stored");
    });
    batch(&pool, job).await;
    assert_eq!(
        asked.load(std::sync::atomic::Ordering::SeqCst),
        3,
        "a read of the resource to merge into, a PUT, then a fetch"
    );
    let kept = pool.read(|s| s.item(calendar, budget)).expect("read");
    assert_eq!(summary(&decode(&kept.expect("held").0)), "Budget (final)");
}

/// A CalDAV server that refuses at once (`503`) held the lock briefly: its
/// account does not cool down, and each device write is asked of it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upstream_that_refuses_at_once_is_asked_again() {
    let (url, asked) = stub(vec![Stub::After(std::time::Duration::ZERO, UNAVAILABLE)]);
    let Fixture {
        cal: _cal,
        _dir,
        pool,
        calendar,
        held,
        ..
    } = fixture_with(Kind::Radicale, Some(url)).await;
    let (budget, budget_event) = held["Budget"].clone();
    for summary in ["Budget (draft)", "Budget (again)"] {
        let draft = edit(&budget_event, summary);
        let job: Job = Box::new(move |b| {
            let err = b
                .upsert(calendar, Some(budget), draft, 0)
                .expect_err("refused");
            assert_eq!(err.kind(), ErrorKind::UpstreamUnavailable);
        });
        batch(&pool, job).await;
    }
    assert_eq!(
        asked.load(std::sync::atomic::Ordering::SeqCst),
        2,
        "both writes went upstream"
    );
    let kept = pool.read(|s| s.item(calendar, budget)).expect("read");
    assert_eq!(summary(&decode(&kept.expect("held").0)), "Budget");
}

/// The scheduling probe (`OPTIONS`): a server that failed (`503`) did not
/// say whether it schedules, so the probe fails and is asked again; one
/// that does not take `OPTIONS` (`405`) does not schedule.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scheduling_probe_the_server_failed_is_an_error_not_a_no() {
    use tidings_upstream::caldav::client::Client;
    const NOT_ALLOWED: &str =
        "HTTP/1.1 405 Method Not Allowed\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";
    let client = |url: String| {
        let server = Server {
            url: url.parse().expect("url"),
            ca_file: None,
        };
        Client::new(&server, "mayor", &Secret::new("pw")).expect("client")
    };
    let (failing, _) = stub(vec![Stub::After(std::time::Duration::ZERO, UNAVAILABLE)]);
    let err = client(failing)
        .auto_schedules("/mayor/calendar/")
        .await
        .expect_err("a 503 says nothing");
    assert_eq!(err.kind(), ErrorKind::UpstreamUnavailable);
    let (refusing, _) = stub(vec![Stub::After(std::time::Duration::ZERO, NOT_ALLOWED)]);
    let schedules = client(refusing)
        .auto_schedules("/mayor/calendar/")
        .await
        .expect("a 405 is an answer");
    assert!(!schedules);
}

/// A device's edit replaces the resource's events and nothing else: its
/// VCALENDAR properties (Apple's private-event flag, which the written
/// item dropped, making a private event public to everyone sharing the
/// calendar), a zone no event uses and a task stored beside the event
/// (Xandikos takes such a resource) stay upstream.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_keeps_what_else_the_resource_holds() {
    let Fixture {
        cal,
        desk,
        _dir,
        pool,
        mut mirrored,
        calendar,
        held,
    } = fixture_on(Kind::Xandikos).await;
    let (budget, _) = held["Budget"].clone();
    let path = format!("{}budget.ics", cal.calendar_href("mayor"));
    let extras = "X-CALENDARSERVER-ACCESS:CONFIDENTIAL\r\n\
        BEGIN:VTIMEZONE\r\nTZID:Unused/Zone\r\nBEGIN:STANDARD\r\n\
        DTSTART:19701025T030000\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\n\
        END:STANDARD\r\nEND:VTIMEZONE\r\n";
    let task = "BEGIN:VTODO\r\nUID:budget-1\r\nDTSTAMP:20261201T090000Z\r\n\
        SUMMARY:Prepare the slides\r\nEND:VTODO\r\nEND:VCALENDAR";
    let upstream = event("budget-1", "Budget", 1)
        .replace(
            "PRODID:-//Desktop//Test//EN\r\n",
            &format!("PRODID:-//Desktop//Test//EN\r\n{extras}"),
        )
        .replace("END:VCALENDAR", task);
    let put = desk.put(&path, &upstream, None);
    assert!(put.status < 300, "{}", put.body);
    mirrored.sync_all().await.expect("sync");
    let mirrored_event = pool
        .read(|s| s.item(calendar, budget))
        .expect("read")
        .expect("held");
    let draft = edit(&decode(&mirrored_event.0), "Budget (draft)");
    let job: Job = Box::new(move |b| {
        b.upsert(calendar, Some(budget), draft, 0).expect("written");
    });
    batch(&pool, job).await;
    let on_desk = desk.get(&path).body;
    assert_eq!(summary_of(&on_desk).as_deref(), Some("Budget (draft)"));
    for kept in [
        "X-CALENDARSERVER-ACCESS:CONFIDENTIAL",
        "PRODID:-//Desktop//Test//EN",
        "TZID:Unused/Zone",
        "SUMMARY:Prepare the slides",
    ] {
        assert!(on_desk.contains(kept), "{kept} kept upstream: {on_desk}");
    }
}
