//! `tidings-server serve --upstream` against a real Dovecot, through the
//! real server binary and a real device: mail delivered upstream reaches the
//! device; the device's flag, move and delete reach the user's desktop IMAP
//! client (and the desktop's reach the device), a folder renamed on the
//! desktop is renamed on the device live; `kill -9` in the middle of a
//! burst of flag changes, then a restart: the device, the store and the
//! upstream agree, nothing lost.

mod common;

use common::process::Running;
#[path = "../../tidings-upstream/tests/support/mod.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;
use support::desktop::{Desktop, eventually};
use support::dovecot::Dovecot;
use tidings::proto::{
    DeleteItems, Item, MailFlag, MoveItems, SetFlags, item, operation::Kind,
    operation_result::Outcome,
};
use tidings::session::{ClientEvent, ClientSession};
use tidings::store::{Directory, ItemStore};
use tidings_server::admin;
use tidings_server::client::Connection;
use tidings_server::store::{Durability, SqliteStore};

const ALICE: &str = "alice@example.org";
/// Every wait of these tests is bounded by this.
const LIMIT: Duration = Duration::from_secs(60);

/// The upstream configuration for Alice, with its 0600 secrets file.
fn write_config(dir: &Path, dovecot: &Dovecot) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let secrets = dir.join("upstream-secrets.toml");
    std::fs::write(&secrets, "[passwords]\nalice = \"alice-pw\"\n").expect("secrets");
    std::fs::set_permissions(&secrets, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let config = dir.join("upstream.toml");
    let text = format!(
        "secrets = \"upstream-secrets.toml\"\npoll_seconds = 300\n\n\
         [imap]\nhost = \"127.0.0.1\"\nport = {}\nsecurity = \"plain\"\n\n\
         [[account]]\nprincipal = \"{ALICE}\"\nlogin = \"alice\"\n",
        dovecot.addr().port()
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

/// Alice's collection mirrored from folder `name`, once the mirror made it.
async fn mirrored(db: &Path, name: &str) -> u64 {
    eventually(LIMIT, || {
        let store = open(db);
        let alice = store.principal_by_email(ALICE).ok()??;
        let found = store.owned_collections(alice.id).ok()?;
        found.into_iter().find(|c| c.name == name).map(|c| c.id)
    })
    .await
}

/// A device of Alice, enrolled as an admin command would (another process
/// writing the server's database while it runs).
async fn device(db: &Path) -> Connection {
    let activation = admin::enroll(&mut open(db), ALICE, 60_000).expect("enroll");
    Connection::enroll(&activation, "phone")
        .await
        .expect("device")
}

fn mail(subject: &str) -> Vec<u8> {
    format!(
        "From: Clerk <clerk@example.org>\r\nTo: Alice <{ALICE}>\r\nSubject: {subject}\r\n\
         Message-ID: <{subject}@example.org>\r\nDate: Tue, 1 Dec 2026 09:00:00 +0000\r\n\r\n\
         About {subject}.\r\n"
    )
    .into_bytes()
}

/// The (item id, flags) of the mail with `subject` the device holds in `collection`.
fn held(session: &ClientSession, collection: u64, subject: &str) -> Option<(u64, u32)> {
    let replica = session.state().replica().collection(collection)?;
    replica.items().iter().find_map(|(id, i)| match &i.item {
        Item {
            kind: Some(item::Kind::Mail(m)),
        } if m.headers.as_ref().is_some_and(|h| h.subject == subject) => Some((*id, i.flags)),
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

fn is_done(outcome: &Outcome) -> bool {
    matches!(outcome, Outcome::Done(_))
}

const SEEN: u32 = MailFlag::Seen as u32;
const FLAGGED: u32 = MailFlag::Flagged as u32;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_and_the_desktop_see_each_others_changes_through_the_server() {
    let dovecot = Dovecot::start();
    let desktop = Desktop::new(dovecot.addr(), "alice", "alice-pw");
    dovecot.deliver("alice", &mail("Budget"));
    desktop.create("Archive");
    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("gateway.db");
    let config = write_config(dir.path(), &dovecot);
    let _server = start(&db, dir.path(), &config);
    let inbox = mirrored(&db, "INBOX").await;
    let archive = mirrored(&db, "Archive").await;
    let mut phone = device(&db).await;

    // Mail already upstream, and mail delivered while the device is online.
    until(&mut phone, |s| held(s, inbox, "Budget").is_some()).await;
    dovecot.deliver("alice", &mail("Roadworks"));
    until(&mut phone, |s| held(s, inbox, "Roadworks").is_some()).await;

    // The device's flag reaches the desktop, the desktop's the device.
    let (budget, _) = held(phone.session(), inbox, "Budget").expect("held");
    let set = Kind::SetFlags(SetFlags {
        collection_id: inbox,
        item_ids: vec![budget],
        set: SEEN,
        clear: 0,
    });
    assert!(is_done(&operate(&mut phone, set).await));
    assert!(desktop.flags("INBOX", "Budget").contains("\\Seen"));
    desktop.add_flags("INBOX", "Roadworks", "\\Flagged");
    until(&mut phone, |s| {
        held(s, inbox, "Roadworks").is_some_and(|(_, f)| f & FLAGGED != 0)
    })
    .await;

    // A move and a delete on the device happen on the desktop.
    let moved = Kind::MoveItems(MoveItems {
        collection_id: inbox,
        item_ids: vec![budget],
        to_collection_id: archive,
    });
    assert!(is_done(&operate(&mut phone, moved).await));
    assert_eq!(desktop.count("Archive", "Budget"), 1);
    assert_eq!(desktop.count("INBOX", "Budget"), 0);
    until(&mut phone, |s| {
        held(s, archive, "Budget").is_some_and(|(_, f)| f & SEEN != 0)
            && held(s, inbox, "Budget").is_none()
    })
    .await;
    let (roadworks, _) = held(phone.session(), inbox, "Roadworks").expect("held");
    let delete = Kind::DeleteItems(DeleteItems {
        collection_id: inbox,
        item_ids: vec![roadworks],
    });
    assert!(is_done(&operate(&mut phone, delete).await));
    assert_eq!(desktop.count("INBOX", "Roadworks"), 0);

    // The desktop deleted it meanwhile: the device's flag change is refused
    // by name (502) and the device converges.
    let (in_archive, _) = held(phone.session(), archive, "Budget").expect("held");
    desktop.expunge("Archive", "Budget");
    let late = Kind::SetFlags(SetFlags {
        collection_id: archive,
        item_ids: vec![in_archive],
        set: FLAGGED,
        clear: 0,
    });
    match operate(&mut phone, late).await {
        Outcome::Error(e) => assert_eq!(e.code, 502),
        other => panic!("expected not found, got {other:?}"),
    }
    until(&mut phone, |s| held(s, archive, "Budget").is_none()).await;

    // A folder renamed on the desktop is renamed on the device, live (the
    // poll is 300 s away): the same collection under its new name.
    desktop.rename("Archive", "Archive 2026");
    let renamed = phone
        .wait_for(LIMIT, |e| match e {
            ClientEvent::CollectionsChanged { collections } => collections
                .iter()
                .find(|c| c.name == "Archive 2026")
                .map(|c| c.id),
            _ => None,
        })
        .await
        .expect("the renamed folder in a live collection list");
    assert_eq!(renamed, archive);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_in_a_burst_of_flag_changes_loses_nothing() {
    const MAILS: usize = 12;
    let dovecot = Dovecot::start();
    let desktop = Desktop::new(dovecot.addr(), "alice", "alice-pw");
    for n in 0..MAILS {
        dovecot.deliver("alice", &mail(&format!("Item-{n:02}")));
    }
    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("gateway.db");
    let config = write_config(dir.path(), &dovecot);
    let server = start(&db, dir.path(), &config);
    let inbox = mirrored(&db, "INBOX").await;
    let mut phone = device(&db).await;
    until(&mut phone, |s| {
        s.state()
            .replica()
            .collection(inbox)
            .is_some_and(|r| r.items().len() == MAILS)
    })
    .await;
    let ids: Vec<u64> = (0..MAILS)
        .map(|n| {
            held(phone.session(), inbox, &format!("Item-{n:02}"))
                .expect("held")
                .0
        })
        .collect();
    // Every flag change sent at once; the server is killed while it works
    // through them.
    for id in &ids {
        let set = Kind::SetFlags(SetFlags {
            collection_id: inbox,
            item_ids: vec![*id],
            set: FLAGGED,
            clear: 0,
        });
        phone.submit(set).await.expect("submit");
    }
    // Killed as soon as the first result is back: the rest are in flight.
    phone
        .wait_for(LIMIT, |e| {
            matches!(e, ClientEvent::OperationResult(_)).then_some(())
        })
        .await
        .expect("a first result");
    // SIGKILL (dropping the handle kills and reaps the process).
    drop(server);
    let state = phone.session().state().clone();

    // Restarted: the device resends what was not answered; each applies once.
    let server = start(&db, dir.path(), &config);
    let mut phone = Connection::resume(&server.tcp(), state)
        .await
        .expect("resume");
    until(&mut phone, |s| {
        s.state().outbox().is_empty()
            && ids.iter().all(|id| {
                s.state()
                    .replica()
                    .collection(inbox)
                    .and_then(|r| r.items().get(id))
                    .is_some_and(|i| i.flags & FLAGGED != 0)
            })
    })
    .await;
    for n in 0..MAILS {
        let flags = desktop.flags("INBOX", &format!("Item-{n:02}"));
        assert!(flags.contains("\\Flagged"), "Item-{n:02} upstream: {flags}");
    }
    let store = open(&db);
    let items = store.items(inbox).expect("items");
    assert_eq!(items.len(), MAILS, "nothing stored twice");
    assert!(items.iter().all(|(_, _, f)| f & FLAGGED != 0));
    drop(server);
}
