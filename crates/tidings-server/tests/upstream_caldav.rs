//! `tidings-server serve --upstream` with a `[caldav]` section only (no
//! `[imap]`), against a real Radicale, through the real server binary and
//! real devices: an event made on the desktop reaches the mayor's device;
//! her device's edit, answers (the chief's own copy of her meeting shows
//! the mayor's answer) and a desktop edit that came first (Conflict
//! carrying the desktop's version) reach the desktop; a calendar made on
//! the desktop reaches her device's collection list live; the chief of
//! staff edits the mayor's council calendar through the grant the upstream
//! gives her (found from Radicale's rights, not configured), and is refused
//! a write on the calendar she may only read; a
//! restart resumes from the saved sync tokens without fetching again what
//! it holds.

#[path = "../../tidings-upstream/tests/support/caldav_servers.rs"]
mod caldav_servers;
#[path = "../../tidings-upstream/tests/support/caldesk.rs"]
mod caldesk;
mod common;

use common::process::Running;

use caldav_servers::{CalServer, Kind as CalKind};
use caldesk::{CalDesk, event, summary_of};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tidings::compress::{InflateLimits, unpack};
use tidings::proto::{
    self, CalendarItem, CollectionInfo, CreateEvent, Item, ParticipationStatus,
    RespondToInvitation, UpdateEvent, item, operation::Kind, operation_result::Outcome,
};
use tidings::session::{ClientEvent, ClientSession};
use tidings::store::{Directory, ItemStore};
use tidings::sync::{Rights, pack_item};
use tidings_server::admin;
use tidings_server::client::Connection;
use tidings_server::store::{Durability, SqliteStore};

const MAYOR: &str = "mayor@example.org";
const CHIEF: &str = "chief@example.org";
/// Every wait of these tests is bounded by this.
const LIMIT: Duration = Duration::from_secs(90);

/// Calendars only: the mayor, and the chief of staff. Nothing says what
/// the mayor shares with her: the grants are found from Radicale's rights
/// (write on the council calendar, read on the others).
fn write_config(dir: &Path, cal: &CalServer) -> PathBuf {
    let accounts = format!(
        "[[caldav.account]]\nprincipal = \"{MAYOR}\"\nlogin = \"mayor\"\n\n\
         [[caldav.account]]\nprincipal = \"{CHIEF}\"\nlogin = \"chief\"\n"
    );
    write_config_for(dir, cal, &accounts)
}

/// A calendars-only configuration with `accounts` (and their 0600 secrets).
fn write_config_for(dir: &Path, cal: &CalServer, accounts: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let secrets = dir.join("upstream-secrets.toml");
    std::fs::write(
        &secrets,
        "[passwords]\nmayor = \"mayor-pw\"\nchief = \"chief-pw\"\nalice = \"alice-pw\"\n",
    )
    .expect("secrets");
    std::fs::set_permissions(&secrets, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let config = dir.join("upstream.toml");
    let text = format!(
        "secrets = \"upstream-secrets.toml\"\n\n\
         [caldav]\nurl = \"{}\"\ninterval_seconds = 1\n\n{accounts}",
        cal.url()
    );
    std::fs::write(&config, text).expect("config");
    config
}

/// `serve --upstream CONFIG` on `db`, as operators run it.
fn start(db: &Path, dir: &Path, config: &Path) -> Running {
    let db = db.display().to_string();
    common::process::start_with(
        &db,
        dir,
        "serve",
        "upstream",
        &["--upstream".as_ref(), config.as_os_str()],
    )
}

fn open(db: &Path) -> SqliteStore {
    SqliteStore::open(db, Durability::Process).expect("open")
}

/// Polls `check` until it answers (bounded).
async fn eventually<T>(mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = tokio::time::Instant::now() + LIMIT;
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "not reached within {LIMIT:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// `owner`'s collection named `name`, once the mirror made it.
async fn mirrored(db: &Path, owner: &str, name: &str) -> u64 {
    eventually(|| {
        let store = open(db);
        let p = store.principal_by_email(owner).ok()??;
        let found = store.owned_collections(p.id).ok()?;
        found.into_iter().find(|c| c.name == name).map(|c| c.id)
    })
    .await
}

async fn device(db: &Path, who: &str) -> Connection {
    let activation = admin::enroll(&mut open(db), who, 60_000).expect("enroll");
    Connection::enroll(&activation, "phone")
        .await
        .expect("device")
}

fn decode_event(packed: &[u8]) -> CalendarItem {
    let bytes = unpack(packed, &InflateLimits::default()).expect("unpack");
    match proto::decode::<Item>(&bytes).expect("decode").kind {
        Some(item::Kind::Calendar(e)) => e,
        other => panic!("not an event: {other:?}"),
    }
}

fn summary(event: &CalendarItem) -> &str {
    event.master.as_ref().map_or("", |m| m.summary.as_str())
}

/// The event with `summary` the device holds in `collection`.
fn held(session: &ClientSession, collection: u64, wanted: &str) -> Option<CalendarItem> {
    let replica = session.state().replica().collection(collection)?;
    replica.items().values().find_map(|i| match &i.item.kind {
        Some(item::Kind::Calendar(e)) if summary(e) == wanted => Some(e.clone()),
        _ => None,
    })
}

/// Drives the device until `done` holds (within this file's [`LIMIT`]).
async fn until(device: &mut Connection, done: impl FnMut(&ClientSession) -> bool) {
    common::until_within(device, LIMIT, done).await;
}

/// Submits `kind` and waits for its result.
async fn operate(device: &mut Connection, kind: Kind) -> Outcome {
    common::operate_within(device, LIMIT, kind).await
}

fn edited(event: &CalendarItem, summary: &str) -> CalendarItem {
    let mut event = event.clone();
    event.master.as_mut().expect("master").summary = summary.to_string();
    event
}

fn update(calendar: u64, event: CalendarItem) -> Kind {
    Kind::UpdateEvent(UpdateEvent {
        calendar_id: calendar,
        expected_version: event.version,
        item: Some(event),
    })
}

/// An invitation to the mayor from an organizer on another server.
fn invitation() -> String {
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Desktop//Test//EN\r\nBEGIN:VEVENT\r\n\
     UID:ferry-1\r\nDTSTAMP:20261201T090000Z\r\nDTSTART:20261211T090000Z\r\n\
     DTEND:20261211T100000Z\r\nSEQUENCE:0\r\nSUMMARY:Ferry timetable\r\n\
     ORGANIZER;CN=Clerk:mailto:clerk@elsewhere.example\r\n\
     ATTENDEE;CN=Mayor;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:mayor@example.org\r\n\
     END:VEVENT\r\nEND:VCALENDAR\r\n"
        .to_string()
}

/// The chief of staff invites the mayor: her copy as organizer, and the
/// mayor's as attendee (as the invitation left it), same UID.
fn staff_meeting(partstat: &str) -> String {
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Desktop//Test//EN\r\nBEGIN:VEVENT\r\n\
         UID:staff-1\r\nDTSTAMP:20261201T090000Z\r\nDTSTART:20261214T090000Z\r\n\
         DTEND:20261214T093000Z\r\nSEQUENCE:0\r\nSUMMARY:Staff meeting\r\n\
         ORGANIZER;CN=Chief:mailto:{CHIEF}\r\n\
         ATTENDEE;CN=Mayor;PARTSTAT={partstat};RSVP=TRUE:mailto:{MAYOR}\r\n\
         END:VEVENT\r\nEND:VCALENDAR\r\n"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calendars_from_radicale_through_the_server() {
    let cal = CalServer::start(CalKind::Radicale);
    let desk = CalDesk::new(cal.addr(), "mayor", &cal.password("mayor"));
    assert_eq!(desk.mkcalendar("/mayor/calendar/", "Mayor").status, 201);
    assert_eq!(desk.mkcalendar("/mayor/council/", "Council").status, 201);
    let chief_desk = CalDesk::new(cal.addr(), "chief", &cal.password("chief"));
    assert_eq!(
        chief_desk.mkcalendar("/chief/calendar/", "Chief").status,
        201
    );
    let put = |path: &str, ics: &str| {
        let status = desk.put(path, ics, None).status;
        assert!((200..300).contains(&status), "PUT {path}: {status}");
    };
    put(
        "/mayor/calendar/budget.ics",
        &event("budget-1", "Budget", 0),
    );
    put("/mayor/calendar/ferry.ics", &invitation());
    put("/mayor/calendar/staff.ics", &staff_meeting("NEEDS-ACTION"));
    let staff = chief_desk.put(
        "/chief/calendar/staff.ics",
        &staff_meeting("NEEDS-ACTION"),
        None,
    );
    assert_eq!(staff.status / 100, 2);
    put(
        "/mayor/council/harbour.ics",
        &event("harbour-1", "Harbour board", 0),
    );

    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("gateway.db");
    let config = write_config(dir.path(), &cal);
    let server = start(&db, dir.path(), &config);
    let calendar = mirrored(&db, MAYOR, "Mayor").await;
    let council = mirrored(&db, MAYOR, "Council").await;
    let mut phone = device(&db, MAYOR).await;

    // What the desktop holds, and what it makes while the device is online.
    until(&mut phone, |s| held(s, calendar, "Budget").is_some()).await;
    put(
        "/mayor/calendar/roadworks.ics",
        &event("roadworks-1", "Roadworks", 0),
    );
    until(&mut phone, |s| held(s, calendar, "Roadworks").is_some()).await;

    // The device's edit is on the desktop when the device has its answer.
    let budget = held(phone.session(), calendar, "Budget").expect("held");
    let outcome = operate(
        &mut phone,
        update(calendar, edited(&budget, "Budget (draft)")),
    )
    .await;
    assert!(matches!(outcome, Outcome::Done(_)), "{outcome:?}");
    let on_desk = desk.get("/mayor/calendar/budget.ics");
    assert_eq!(summary_of(&on_desk.body).as_deref(), Some("Budget (draft)"));

    // A new event from the device is created upstream.
    let mut master = edited(&budget, "Pier repairs").master.expect("master");
    master.uid = "pier-1@tidings".to_string();
    let pier = CalendarItem {
        master: Some(master),
        ..CalendarItem::default()
    };
    let create = Kind::CreateEvent(CreateEvent {
        calendar_id: calendar,
        item: Some(pier),
    });
    let outcome = operate(&mut phone, create).await;
    assert!(matches!(outcome, Outcome::Done(_)), "{outcome:?}");
    let on_desk = desk.get(
        "/mayor/calendar/pier-1@tidings.ics"
            .replace('@', "_40")
            .as_str(),
    );
    assert_eq!(summary_of(&on_desk.body).as_deref(), Some("Pier repairs"));

    // The desktop edits first: the device's edit of the version it holds
    // gets Conflict carrying the desktop's version, and converges on it.
    until(&mut phone, |s| {
        held(s, calendar, "Budget (draft)").is_some()
    })
    .await;
    let draft = held(phone.session(), calendar, "Budget (draft)").expect("held");
    put(
        "/mayor/calendar/budget.ics",
        &event("budget-1", "Budget (desktop)", 1),
    );
    let outcome = operate(
        &mut phone,
        update(calendar, edited(&draft, "Budget (phone)")),
    )
    .await;
    match outcome {
        Outcome::Conflict(c) => {
            assert_eq!(summary(&decode_event(&c.current)), "Budget (desktop)");
            assert!(c.current_version > draft.version);
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    let on_desk = desk.get("/mayor/calendar/budget.ics");
    assert_eq!(
        summary_of(&on_desk.body).as_deref(),
        Some("Budget (desktop)")
    );
    until(&mut phone, |s| {
        held(s, calendar, "Budget (desktop)").is_some()
    })
    .await;

    // An answer to an organizer elsewhere is written upstream.
    until(&mut phone, |s| {
        held(s, calendar, "Ferry timetable").is_some()
    })
    .await;
    let ferry = held(phone.session(), calendar, "Ferry timetable").expect("held");
    let accept = Kind::Respond(RespondToInvitation {
        calendar_id: calendar,
        item_id: ferry.id,
        status: ParticipationStatus::Accepted as i32,
        ..Default::default()
    });
    let outcome = operate(&mut phone, accept).await;
    assert!(matches!(outcome, Outcome::Done(_)), "{outcome:?}");
    let on_desk = desk
        .get("/mayor/calendar/ferry.ics")
        .body
        .replace("\r\n ", "");
    assert!(on_desk.contains("PARTSTAT=ACCEPTED"), "{on_desk}");

    // An answer to the chief, organizer and a principal here too: Radicale
    // does not schedule, so the gateway sets it in her copy.
    until(&mut phone, |s| held(s, calendar, "Staff meeting").is_some()).await;
    let meeting = held(phone.session(), calendar, "Staff meeting").expect("held");
    let tentative = Kind::Respond(RespondToInvitation {
        calendar_id: calendar,
        item_id: meeting.id,
        status: ParticipationStatus::Tentative as i32,
        comment: "The first hour only; sorry".into(),
        ..Default::default()
    });
    let outcome = operate(&mut phone, tentative).await;
    assert!(matches!(outcome, Outcome::Done(_)), "{outcome:?}");
    let unfolded = |path: &str, desk: &CalDesk| desk.get(path).body.replace("\r\n ", "");
    let mayors = unfolded("/mayor/calendar/staff.ics", &desk);
    assert!(mayors.contains("PARTSTAT=TENTATIVE"), "{mayors}");
    let chiefs = unfolded("/chief/calendar/staff.ics", &chief_desk);
    assert!(
        chiefs.contains("PARTSTAT=TENTATIVE"),
        "the organizer's copy: {chiefs}"
    );
    // The mayor's note reaches the chief's copy (no REPLY carries it).
    assert!(
        chiefs.contains(
            "X-CALENDARSERVER-ATTENDEE-COMMENT;X-CALENDARSERVER-ATTENDEE-REF=\
             \"mailto:mayor@example.org\":The first hour only\\; sorry\r\n"
        ),
        "the organizer's copy: {chiefs}"
    );
    assert!(!mayors.contains("ATTENDEE-COMMENT"), "{mayors}");

    // A calendar made on the desktop reaches the device's collection list.
    assert_eq!(desk.mkcalendar("/mayor/roads/", "Roads").status, 201);
    let list: Vec<CollectionInfo> = phone
        .wait_for(LIMIT, |e| match e {
            ClientEvent::CollectionsChanged { collections }
                if collections.iter().any(|c| c.name == "Roads") =>
            {
                Some(collections.clone())
            }
            _ => None,
        })
        .await
        .expect("the new calendar in a live collection list");
    assert!(list.iter().any(|c| c.id == calendar));

    // The chief of staff: the grants come from the upstream's rights.
    let chief_id = open(&db)
        .principal_by_email(CHIEF)
        .expect("lookup")
        .expect("chief")
        .id;
    let write = Rights::READ.union(Rights::WRITE).union(Rights::RESPOND);
    eventually(|| {
        let store = open(&db);
        (store.rights(chief_id, council).ok()? == write
            && store.rights(chief_id, calendar).ok()? == Rights::READ)
            .then_some(())
    })
    .await;
    let mut chiefs = device(&db, CHIEF).await;
    until(&mut chiefs, |s| {
        held(s, council, "Harbour board").is_some() && held(s, calendar, "Roadworks").is_some()
    })
    .await;
    let harbour = held(chiefs.session(), council, "Harbour board").expect("held");
    let outcome = operate(
        &mut chiefs,
        update(council, edited(&harbour, "Harbour board (agenda)")),
    )
    .await;
    assert!(matches!(outcome, Outcome::Done(_)), "{outcome:?}");
    let on_desk = desk.get("/mayor/council/harbour.ics");
    assert_eq!(
        summary_of(&on_desk.body).as_deref(),
        Some("Harbour board (agenda)")
    );
    // Read only: refused by the server, before any upstream request.
    let roadworks = held(chiefs.session(), calendar, "Roadworks").expect("held");
    let outcome = operate(&mut chiefs, update(calendar, edited(&roadworks, "Mine"))).await;
    match outcome {
        Outcome::Error(e) => assert_eq!(e.code, 503),
        other => panic!("expected permission denied, got {other:?}"),
    }
    let on_desk = desk.get("/mayor/calendar/roadworks.ics");
    assert_eq!(summary_of(&on_desk.body).as_deref(), Some("Roadworks"));
    drop(chiefs);
    drop(phone);

    // Restart. The store's copy of Roadworks is marked behind the
    // gateway's back: fetched again, it would lose the mark.
    drop(server);
    let roadworks_id = {
        let mut store = open(&db);
        let (id, packed, _) = store
            .items(calendar)
            .expect("items")
            .into_iter()
            .find(|(_, p, _)| summary(&decode_event(p)) == "Roadworks")
            .expect("stored");
        let marked = edited(&decode_event(&packed), "Roadworks (not fetched again)");
        store
            .transaction(|s| {
                s.upsert(
                    calendar,
                    Some(id),
                    pack_item(item::Kind::Calendar(marked)),
                    0,
                )
            })
            .expect("mark");
        id
    };
    put(
        "/mayor/calendar/ferry2.ics",
        &event("ferry-2", "Ferry drill", 0),
    );
    let _server = start(&db, dir.path(), &config);
    eventually(|| {
        let store = open(&db);
        let items = store.items(calendar).ok()?;
        let summaries: Vec<String> = items
            .iter()
            .map(|(_, p, _)| summary(&decode_event(p)).to_string())
            .collect();
        summaries
            .iter()
            .any(|s| s == "Ferry drill")
            .then_some(summaries)
    })
    .await;
    let store = open(&db);
    let kept = store
        .item(calendar, roadworks_id)
        .expect("item")
        .expect("still there");
    assert_eq!(
        summary(&decode_event(&kept.0)),
        "Roadworks (not fetched again)"
    );
    let budgets = store
        .items(calendar)
        .expect("items")
        .into_iter()
        .filter(|(_, p, _)| summary(&decode_event(p)).starts_with("Budget"))
        .count();
    assert_eq!(budgets, 1, "nothing stored twice");
}

/// Xandikos (another lineage, one user, no logins): the desktop's event
/// reaches the device, the device's edit reaches the desktop.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calendars_from_xandikos_through_the_server() {
    const ALICE: &str = "alice@example.org";
    let cal = CalServer::start(CalKind::Xandikos);
    let desk = CalDesk::new(cal.addr(), "alice", &cal.password("alice"));
    let href = cal.calendar_href("alice");
    let status = desk
        .put(
            &format!("{href}budget.ics"),
            &event("budget-1", "Budget", 0),
            None,
        )
        .status;
    assert!((200..300).contains(&status), "PUT: {status}");
    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("gateway.db");
    let accounts = format!("[[caldav.account]]\nprincipal = \"{ALICE}\"\nlogin = \"alice\"\n");
    let config = write_config_for(dir.path(), &cal, &accounts);
    let _server = start(&db, dir.path(), &config);
    let calendar = eventually(|| {
        let store = open(&db);
        let p = store.principal_by_email(ALICE).ok()??;
        let found = store.owned_collections(p.id).ok()?;
        // The mirrored calendar: the one collection holding an item.
        found
            .into_iter()
            .map(|c| c.id)
            .find(|&id| store.items(id).is_ok_and(|items| !items.is_empty()))
    })
    .await;
    let mut phone = device(&db, ALICE).await;
    until(&mut phone, |s| held(s, calendar, "Budget").is_some()).await;
    let status = desk
        .put(
            &format!("{href}pier.ics"),
            &event("pier-1", "Pier", 0),
            None,
        )
        .status;
    assert!((200..300).contains(&status), "PUT: {status}");
    until(&mut phone, |s| held(s, calendar, "Pier").is_some()).await;
    let budget = held(phone.session(), calendar, "Budget").expect("held");
    let outcome = operate(
        &mut phone,
        update(calendar, edited(&budget, "Budget (draft)")),
    )
    .await;
    assert!(matches!(outcome, Outcome::Done(_)), "{outcome:?}");
    let on_desk = desk.get(&format!("{href}budget.ics"));
    assert_eq!(summary_of(&on_desk.body).as_deref(), Some("Budget (draft)"));
}
