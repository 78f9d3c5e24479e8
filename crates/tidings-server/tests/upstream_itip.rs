//! An invitation answered on a device, mailed to its organizer elsewhere:
//! `serve --upstream` with `[imap]`, `[smtp]` and `[caldav]` against a real
//! Dovecot, a real Postfix delivering into it, and a real Radicale. Alice
//! accepts on her phone an invitation Bob (who is not a principal of this
//! server) sent her; the answer is written to her CalDAV calendar, and Bob's
//! upstream INBOX gets one iTIP REPLY (RFC 6047) saying so, through Alice's
//! outbox. Declining afterwards sends a second REPLY saying that.

#[path = "../../tidings-upstream/tests/support/caldav_servers.rs"]
mod caldav_servers;
#[path = "../../tidings-upstream/tests/support/caldesk.rs"]
mod caldesk;
mod common;
#[path = "../../tidings-upstream/tests/support/mod.rs"]
mod support;

use caldav_servers::{CalServer, Kind as CalKind};
use caldesk::CalDesk;
use common::process::Running;
use std::path::{Path, PathBuf};
use std::time::Duration;
use support::desktop::{Desktop, eventually};
use support::dovecot::Dovecot;
use support::postfix::Postfix;
use tidings::proto::{
    CalendarItem, ParticipationStatus, RespondToInvitation, item, operation::Kind,
    operation_result::Outcome,
};
use tidings::session::ClientSession;
use tidings::store::Directory;
use tidings_server::admin;
use tidings_server::client::Connection;
use tidings_server::store::{Durability, SqliteStore};

const ALICE: &str = "alice@example.org";
/// Every wait of this test is bounded by this.
const LIMIT: Duration = Duration::from_secs(90);

/// Only Alice is configured: Bob has an upstream mailbox but is not a
/// principal here, so her answers to him go by mail.
fn write_config(dir: &Path, dovecot: &Dovecot, postfix: &Postfix, cal: &CalServer) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let secrets = dir.join("upstream-secrets.toml");
    std::fs::write(&secrets, "[passwords]\nalice = \"alice-pw\"\n").expect("secrets");
    std::fs::set_permissions(&secrets, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let config = dir.join("upstream.toml");
    let text = format!(
        "secrets = \"upstream-secrets.toml\"\npoll_seconds = 300\n\n\
         [imap]\nhost = \"127.0.0.1\"\nport = {}\nsecurity = \"plain\"\n\n\
         [smtp]\nhost = \"127.0.0.1\"\nport = {}\nsecurity = \"plain\"\nlogin = \"none\"\n\n\
         [[account]]\nprincipal = \"{ALICE}\"\nlogin = \"alice\"\n\n\
         [caldav]\nurl = \"{}\"\ninterval_seconds = 1\n\n\
         [[caldav.account]]\nprincipal = \"{ALICE}\"\nlogin = \"alice\"\n",
        dovecot.addr().port(),
        postfix.addr().port(),
        cal.url(),
    );
    std::fs::write(&config, text).expect("config");
    config
}

/// Bob invites Alice to the ferry meeting.
fn invitation() -> String {
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Desktop//Test//EN\r\nBEGIN:VEVENT\r\n\
         UID:ferry-1\r\nDTSTAMP:20261201T090000Z\r\nDTSTART:20261211T090000Z\r\n\
         DTEND:20261211T100000Z\r\nSEQUENCE:0\r\nSUMMARY:Ferry timetable\r\n\
         ORGANIZER;CN=Bob:mailto:bob@example.org\r\n\
         ATTENDEE;CN=Alice;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:{ALICE}\r\n\
         END:VEVENT\r\nEND:VCALENDAR\r\n"
    )
}

fn open(db: &Path) -> SqliteStore {
    SqliteStore::open(db, Durability::Process).expect("open")
}

fn held(session: &ClientSession, collection: u64) -> Option<CalendarItem> {
    let replica = session.state().replica().collection(collection)?;
    replica.items().values().find_map(|i| match &i.item.kind {
        Some(item::Kind::Calendar(e)) => Some(e.clone()),
        _ => None,
    })
}

/// The raw mails in Bob's upstream INBOX whose subject has `subject`.
fn bob_mails(bob: &Desktop, subject: &str) -> Vec<String> {
    let out = bob.run(&format!(
        "ok(m.select('INBOX'))\n\
         for n in ok(m.search(None, 'SUBJECT', '\"{subject}\"'))[0].split():\n\
         \x20   raw = ok(m.fetch(n, '(RFC822)'))[0][1]\n\
         \x20   sys.stdout.write(raw.decode('utf-8', 'replace') + '\\n=====\\n')"
    ));
    out.split("\n=====\n")
        .filter(|m| !m.trim().is_empty())
        .map(|m| m.replace("\r\n ", "").replace("\r\n\t", ""))
        .collect()
}

fn respond(calendar: u64, event: &CalendarItem, status: ParticipationStatus, note: &str) -> Kind {
    Kind::Respond(RespondToInvitation {
        calendar_id: calendar,
        item_id: event.id,
        status: status as i32,
        comment: note.into(),
        ..Default::default()
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_to_an_organizer_elsewhere_reaches_them_as_an_itip_reply() {
    let dovecot = Dovecot::start();
    let postfix = Postfix::start(dovecot.lmtp_addr(), &[]);
    Desktop::new(dovecot.addr(), "alice", "alice-pw").create("Sent");
    let bob = Desktop::new(dovecot.addr(), "bob", "bob-pw");
    let cal = CalServer::start(CalKind::Radicale);
    let desk = CalDesk::new(cal.addr(), "alice", &cal.password("alice"));
    assert_eq!(desk.mkcalendar("/alice/calendar/", "Alice").status, 201);
    let put = desk.put("/alice/calendar/ferry.ics", &invitation(), None);
    assert!((200..300).contains(&put.status), "PUT: {}", put.status);

    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("gateway.db");
    let config = write_config(dir.path(), &dovecot, &postfix, &cal);
    let db_arg = db.display().to_string();
    let _server: Running = common::process::start_with(
        &db_arg,
        dir.path(),
        "serve",
        "upstream",
        &["--upstream".as_ref(), config.as_os_str()],
    );
    let calendar = eventually(LIMIT, || {
        let store = open(&db);
        let alice = store.principal_by_email(ALICE).ok()??;
        let found = store.owned_collections(alice.id).ok()?;
        found.into_iter().find(|c| c.name == "Alice").map(|c| c.id)
    })
    .await;
    let activation = admin::enroll(&mut open(&db), ALICE, 60_000).expect("enroll");
    let mut phone = Connection::enroll(&activation, "phone")
        .await
        .expect("device");
    common::until_within(&mut phone, LIMIT, |s| held(s, calendar).is_some()).await;
    let ferry = held(phone.session(), calendar).expect("held");

    // With a note for Bob: it reaches him in the REPLY, not the calendar.
    let note = "Running late; keep me a seat, please";
    let accept = respond(calendar, &ferry, ParticipationStatus::Accepted, note);
    let outcome = common::operate_within(&mut phone, LIMIT, accept).await;
    assert!(matches!(outcome, Outcome::Done(_)), "{outcome:?}");
    let on_desk = desk
        .get("/alice/calendar/ferry.ics")
        .body
        .replace("\r\n ", "");
    assert!(on_desk.contains("PARTSTAT=ACCEPTED"), "{on_desk}");
    assert!(!on_desk.contains("COMMENT"), "{on_desk}");

    // Bob's mail program gets the REPLY: from Alice, one body, the answer.
    let mails = eventually(LIMIT, || {
        Some(bob_mails(&bob, "Accepted: Ferry timetable")).filter(|m| !m.is_empty())
    })
    .await;
    assert_eq!(mails.len(), 1, "{}", postfix.log());
    let reply = &mails[0];
    let lower = reply.to_ascii_lowercase();
    assert!(lower.contains("from: <alice@example.org>"), "{reply}");
    assert!(lower.contains("to: <bob@example.org>"), "{reply}");
    assert!(lower.contains("content-type: text/calendar"), "{reply}");
    assert!(
        lower.contains("method=\"reply\"") || lower.contains("method=reply"),
        "{reply}"
    );
    assert!(reply.contains("METHOD:REPLY"), "{reply}");
    assert!(reply.contains("UID:ferry-1"), "{reply}");
    assert!(reply.contains("PARTSTAT=ACCEPTED"), "{reply}");
    assert!(reply.contains("mailto:bob@example.org"), "{reply}");
    assert!(
        reply.contains("COMMENT:Running late\\; keep me a seat\\, please\r\n"),
        "{reply}"
    );

    // A second answer is a second REPLY; the first is not sent again.
    common::until_within(&mut phone, LIMIT, |s| {
        held(s, calendar).is_some_and(|e| e.version > ferry.version)
    })
    .await;
    let accepted = held(phone.session(), calendar).expect("held");
    let decline = respond(calendar, &accepted, ParticipationStatus::Declined, "");
    let outcome = common::operate_within(&mut phone, LIMIT, decline).await;
    assert!(matches!(outcome, Outcome::Done(_)), "{outcome:?}");
    let declined = eventually(LIMIT, || {
        Some(bob_mails(&bob, "Declined: Ferry timetable")).filter(|m| !m.is_empty())
    })
    .await;
    assert_eq!(declined.len(), 1);
    assert!(declined[0].contains("PARTSTAT=DECLINED"), "{}", declined[0]);
    assert!(!declined[0].contains("COMMENT"), "{}", declined[0]);
    eventually(LIMIT, || postfix.idle().then_some(())).await;
    assert_eq!(bob_mails(&bob, "Accepted: Ferry timetable").len(), 1);
}
