//! `kill -9` of the gateway in the middle of a device's calendar write,
//! through the real server binary against a real Radicale: the server
//! SIGKILLs itself right after Radicale accepted the device's `PUT` and
//! before the store's commit (`TIDINGS_TEST_CRASH=after-caldav-put`, the
//! `test-hooks` feature). The device resumes against the restarted server
//! and resends its operation: the create and the edit are each applied
//! once, upstream and on the device, whichever of the mirror's first round
//! and the device's retry comes first.
#![cfg(feature = "test-hooks")]

#[path = "../../tidings-upstream/tests/support/caldav_servers.rs"]
mod caldav_servers;
#[path = "../../tidings-upstream/tests/support/caldesk.rs"]
mod caldesk;
mod common;
#[path = "../../tidings-upstream/tests/support/mod.rs"]
mod support;

use caldav_servers::{CalServer, Kind as CalKind};
use caldesk::{CalDesk, event, summary_of};
use common::process::Running;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tidings::compress::{InflateLimits, unpack};
use tidings::proto::{
    self, CalendarItem, CreateEvent, Item, UpdateEvent, item, operation::Kind,
    operation_result::Outcome,
};
use tidings::session::{ClientEvent, ClientSession, ClientState};
use tidings::store::Directory;
use tidings_server::admin;
use tidings_server::client::Connection;
use tidings_server::store::{Durability, SqliteStore};

const MAYOR: &str = "mayor@example.org";
const LIMIT: Duration = Duration::from_secs(90);
const CRASH: &str = "after-caldav-put";

fn write_config(dir: &Path, cal: &CalServer) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let secrets = dir.join("upstream-secrets.toml");
    std::fs::write(&secrets, "[passwords]\nmayor = \"mayor-pw\"\n").expect("secrets");
    std::fs::set_permissions(&secrets, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let config = dir.join("upstream.toml");
    let text = format!(
        "secrets = \"upstream-secrets.toml\"\n\n\
         [caldav]\nurl = \"{}\"\ninterval_seconds = 1\n\n\
         [[caldav.account]]\nprincipal = \"{MAYOR}\"\nlogin = \"mayor\"\n",
        cal.url()
    );
    std::fs::write(&config, text).expect("config");
    config
}

/// `serve --upstream`, SIGKILLing itself at `crash` when given.
fn start(db: &Path, dir: &Path, config: &Path, crash: Option<&str>) -> Running {
    let env: Vec<(&str, &str)> = crash
        .map(|c| ("TIDINGS_TEST_CRASH", c))
        .into_iter()
        .collect();
    common::process::start_with_env(
        &db.display().to_string(),
        dir,
        "serve",
        "upstream",
        &["--upstream".as_ref(), config.as_os_str()],
        &env,
    )
}

fn summary(event: &CalendarItem) -> &str {
    event.master.as_ref().map_or("", |m| m.summary.as_str())
}

/// The events the device holds in `calendar` with `wanted` as summary.
fn held(session: &ClientSession, calendar: u64, wanted: &str) -> Vec<CalendarItem> {
    let Some(replica) = session.state().replica().collection(calendar) else {
        return Vec::new();
    };
    replica
        .items()
        .values()
        .filter_map(|i| match &i.item.kind {
            Some(item::Kind::Calendar(e)) if summary(e) == wanted => Some(e.clone()),
            _ => None,
        })
        .collect()
}

/// Submits `kind`, keeps the state holding it, and waits for the server
/// to have killed itself.
async fn submit_and_lose_the_server(
    phone: &mut Connection,
    server: &mut Running,
    kind: Kind,
) -> ([u8; 16], ClientState) {
    let op_id = phone.submit(kind).await.expect("submit");
    let state = phone.session().state().clone();
    let deadline = tokio::time::Instant::now() + LIMIT;
    while server.child.try_wait().expect("wait").is_none() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the server did not crash"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    (op_id, state)
}

/// The result the resumed device gets for `op_id`.
async fn result_of(phone: &mut Connection, op_id: [u8; 16]) -> Outcome {
    phone
        .wait_for(LIMIT, |e| match e {
            ClientEvent::OperationResult(r) if r.op_id == op_id => r.outcome.clone(),
            _ => None,
        })
        .await
        .expect("the resent operation's result")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_between_the_upstream_write_and_the_commit_a_retry_applies_once() {
    let cal = CalServer::start(CalKind::Radicale);
    let desk = CalDesk::new(cal.addr(), "mayor", &cal.password("mayor"));
    assert_eq!(desk.mkcalendar("/mayor/calendar/", "Mayor").status, 201);
    let put = desk.put(
        "/mayor/calendar/budget.ics",
        &event("budget-1", "Budget", 0),
        None,
    );
    assert_eq!(put.status / 100, 2);
    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("gateway.db");
    let config = write_config(dir.path(), &cal);
    let mut server = start(&db, dir.path(), &config, Some(CRASH));
    let calendar = support::desktop::eventually(LIMIT, || {
        let store = SqliteStore::open(&db, Durability::Process).ok()?;
        let mayor = store.principal_by_email(MAYOR).ok()??;
        let found = store.owned_collections(mayor.id).ok()?;
        found.into_iter().find(|c| c.name == "Mayor").map(|c| c.id)
    })
    .await;
    let activation = {
        let mut store = SqliteStore::open(&db, Durability::Process).expect("open");
        admin::enroll(&mut store, MAYOR, 60_000).expect("enroll")
    };
    let mut phone = Connection::enroll(&activation, "phone")
        .await
        .expect("device");
    common::until_within(&mut phone, LIMIT, |s| {
        !held(s, calendar, "Budget").is_empty()
    })
    .await;

    // A create: Radicale stores it, the server dies before its commit.
    let mut pier = held(phone.session(), calendar, "Budget").remove(0);
    let master = pier.master.as_mut().expect("master");
    master.uid = "pier-1".to_string();
    master.summary = "Pier repairs".to_string();
    let create = Kind::CreateEvent(CreateEvent {
        calendar_id: calendar,
        item: Some(pier),
    });
    let (op_id, state) = submit_and_lose_the_server(&mut phone, &mut server, create).await;
    assert_eq!(desk.get("/mayor/calendar/pier-1.ics").status, 200);
    drop(phone);
    drop(server);

    // Restarted (still set to die after an upstream write): the resent
    // create finds its own event upstream and is done, once.
    let mut server = start(&db, dir.path(), &config, Some(CRASH));
    let mut phone = Connection::resume(&server.tcp(), state)
        .await
        .expect("resume");
    let outcome = result_of(&mut phone, op_id).await;
    assert!(matches!(outcome, Outcome::Done(_)), "{outcome:?}");
    common::until_within(&mut phone, LIMIT, |s| {
        held(s, calendar, "Pier repairs").len() == 1
    })
    .await;

    // An edit: Radicale has it, the server dies before its commit.
    let budget = held(phone.session(), calendar, "Budget").remove(0);
    let mut draft = budget.clone();
    draft.master.as_mut().expect("master").summary = "Budget (draft)".to_string();
    let update = Kind::UpdateEvent(UpdateEvent {
        calendar_id: calendar,
        expected_version: budget.version,
        item: Some(draft),
    });
    let (op_id, state) = submit_and_lose_the_server(&mut phone, &mut server, update).await;
    let on_desk = desk.get("/mayor/calendar/budget.ics");
    assert_eq!(summary_of(&on_desk.body).as_deref(), Some("Budget (draft)"));
    drop(phone);
    drop(server);

    // Restarted: the resent edit is done (the device's retry came first)
    // or answered with the version the mirror fetched first, which is the
    // device's own edit. Either way it is applied once.
    let server = start(&db, dir.path(), &config, None);
    let mut phone = Connection::resume(&server.tcp(), state)
        .await
        .expect("resume");
    match result_of(&mut phone, op_id).await {
        Outcome::Done(_) => {}
        Outcome::Conflict(c) => {
            let item: Item =
                proto::decode(&unpack(&c.current, &InflateLimits::default()).expect("unpack"))
                    .expect("item");
            let Some(item::Kind::Calendar(current)) = item.kind else {
                panic!("not an event");
            };
            assert_eq!(summary(&current), "Budget (draft)");
        }
        other => panic!("expected Done or the device's own version, got {other:?}"),
    }
    common::until_within(&mut phone, LIMIT, |s| {
        held(s, calendar, "Budget (draft)").len() == 1
            && held(s, calendar, "Budget").is_empty()
            && held(s, calendar, "Pier repairs").len() == 1
    })
    .await;
    let on_desk = desk.get("/mayor/calendar/budget.ics");
    assert_eq!(summary_of(&on_desk.body).as_deref(), Some("Budget (draft)"));
    assert_eq!(desk.get("/mayor/calendar/pier-1.ics").status, 200);
    let store = SqliteStore::open(&db, Durability::Process).expect("open");
    let items = tidings::store::ItemStore::items(&store, calendar).expect("items");
    assert_eq!(items.len(), 2, "one Budget, one Pier: nothing twice");
}
