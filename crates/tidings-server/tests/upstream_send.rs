//! Sending from a mirrored principal (`serve --upstream` with `[smtp]`)
//! against a real Dovecot and a real Postfix delivering into it over LMTP,
//! through the real server binary and a real device: a send reaches the
//! recipient's upstream INBOX once, the sender's upstream Sent once (with a
//! `Bcc` header only there) and the device's Sent collection once; a reply flags its original `\Answered`
//! upstream; a refusal (5xx) reaches the device as a notice; `kill -9`
//! between the first submission of a burst of sends (with a flag change in
//! flight) and its APPEND, then a restart, sends every mail once; attachment
//! names arrive in RFC 2231 form.

mod common;
#[path = "../../tidings-upstream/tests/support/mod.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use support::desktop::{Desktop, eventually};
use support::dovecot::Dovecot;
use support::postfix::Postfix;
use tidings::proto::{
    Address, Item, MailFlag, OutgoingAttachment, OutgoingMail, ReplyMail, SendMail, item,
    operation::Kind, operation_result::Outcome,
};
use tidings::session::ClientSession;
use tidings::store::{Directory, ItemStore};
use tidings::sync::mail::{MailItemOptions, mail_item_from_message};
use tidings_server::admin;
use tidings_server::client::Connection;
use tidings_server::store::{Durability, SqliteStore};

const ALICE: &str = "alice@example.org";
const BOB: &str = "bob@example.org";
/// Refused by the test Postfix at RCPT (554 5.7.1).
const NOBODY: &str = "nobody@elsewhere.example";
/// Every wait of these tests is bounded by this.
const LIMIT: Duration = Duration::from_secs(60);

struct Running {
    child: Child,
    tcp: String,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Both accounts mirrored, mail submitted to `postfix` without AUTH (it
/// relays for loopback).
fn write_config(dir: &Path, dovecot: &Dovecot, postfix: &Postfix) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let secrets = dir.join("upstream-secrets.toml");
    std::fs::write(
        &secrets,
        "[passwords]\nalice = \"alice-pw\"\nbob = \"bob-pw\"\n",
    )
    .expect("secrets");
    std::fs::set_permissions(&secrets, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let config = dir.join("upstream.toml");
    let text = format!(
        "secrets = \"upstream-secrets.toml\"\npoll_seconds = 300\n\n\
         [imap]\nhost = \"127.0.0.1\"\nport = {}\nsecurity = \"plain\"\n\n\
         [smtp]\nhost = \"127.0.0.1\"\nport = {}\nsecurity = \"plain\"\nlogin = \"none\"\n\n\
         [[account]]\nprincipal = \"{ALICE}\"\nlogin = \"alice\"\n\n\
         [[account]]\nprincipal = \"{BOB}\"\nlogin = \"bob\"\n",
        dovecot.addr().port(),
        postfix.addr().port(),
    );
    std::fs::write(&config, text).expect("config");
    config
}

/// Starts the server; `crash` names the outbox sender's crash point, if any
/// (the `test-hooks` feature).
fn start(db: &Path, dir: &Path, config: &Path, crash: Option<&str>) -> Running {
    let ready_file = dir.join("ready.json");
    let _ = std::fs::remove_file(&ready_file);
    let mut command = Command::new(env!("CARGO_BIN_EXE_tidings-server"));
    command
        .args(["--db", &db.display().to_string(), "serve"])
        .args(["--tcp", "127.0.0.1:0", "--http", "127.0.0.1:0"])
        .arg("--upstream")
        .arg(config)
        .arg("--ready-file")
        .arg(&ready_file)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null());
    if let Some(point) = crash {
        command.env("TIDINGS_TEST_CRASH", point);
    }
    let child = command.spawn().expect("server starts");
    let mut running = Running {
        child,
        tcp: String::new(),
    };
    for _ in 0..300 {
        if let Ok(text) = std::fs::read_to_string(&ready_file) {
            let ready: serde_json::Value = serde_json::from_str(&text).expect("ready file is JSON");
            running.tcp = ready["tcp"].as_str().expect("tcp").to_owned();
            return running;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("server not ready in 30 s");
}

fn open(db: &Path) -> SqliteStore {
    SqliteStore::open(db, Durability::Process).expect("open")
}

/// The collection of `who` named `name`, once it exists.
async fn collection(db: &Path, who: &str, name: &str) -> u64 {
    eventually(LIMIT, || {
        let store = open(db);
        let principal = store.principal_by_email(who).ok()??;
        let found = store.owned_collections(principal.id).ok()?;
        found.into_iter().find(|c| c.name == name).map(|c| c.id)
    })
    .await
}

/// Waits until both accounts' INBOX and Sent are mirrored (Sent adopts the
/// local collection of that name in a new epoch: devices enroll after).
async fn mirrored(db: &Path) {
    eventually(LIMIT, || {
        let conn = rusqlite::Connection::open(db).ok()?;
        let count: i64 = conn
            .query_row(
                "SELECT COUNT(*) FROM upstream_imap_folders WHERE name IN ('INBOX', 'Sent')",
                [],
                |r| r.get(0),
            )
            .ok()?;
        (count == 4).then_some(())
    })
    .await;
}

/// Mails waiting in the gateway's outbox.
fn outbox_rows(db: &Path) -> i64 {
    let conn = rusqlite::Connection::open(db).expect("db");
    conn.query_row("SELECT COUNT(*) FROM upstream_outbox", [], |r| r.get(0))
        .expect("outbox")
}

/// How many items of the store's `collection` have `subject`.
fn stored(db: &Path, collection: u64, subject: &str) -> usize {
    let store = open(db);
    let items = store.items(collection).expect("items");
    items
        .iter()
        .filter(|(_, packed, _)| {
            let packed = tidings::compress::unpack(packed, &Default::default()).expect("unpack");
            let item: Item = tidings::proto::decode(&packed).expect("item");
            matches!(&item.kind, Some(item::Kind::Mail(m))
                if m.headers.as_ref().is_some_and(|h| h.subject == subject))
        })
        .count()
}

async fn device(db: &Path, who: &str) -> Connection {
    let activation = admin::enroll(&mut open(db), who, 60_000).expect("enroll");
    Connection::enroll(&activation, "phone")
        .await
        .expect("device")
}

fn mail(subject: &str) -> Vec<u8> {
    format!(
        "From: Bob <{BOB}>\r\nTo: Alice <{ALICE}>\r\nSubject: {subject}\r\n\
         Message-ID: <{subject}@example.org>\r\nDate: Tue, 1 Dec 2026 09:00:00 +0000\r\n\r\n\
         About {subject}.\r\n"
    )
    .into_bytes()
}

/// The mails with `subject` the device holds in `collection`: (id, flags).
fn held(session: &ClientSession, collection: u64, subject: &str) -> Vec<(u64, u32)> {
    let Some(replica) = session.state().replica().collection(collection) else {
        return Vec::new();
    };
    replica
        .items()
        .iter()
        .filter_map(|(id, i)| match &i.item {
            Item {
                kind: Some(item::Kind::Mail(m)),
            } if m.headers.as_ref().is_some_and(|h| h.subject == subject) => Some((*id, i.flags)),
            _ => None,
        })
        .collect()
}

/// The Bcc addresses of the mail with `subject` the device holds.
fn bcc(session: &ClientSession, collection: u64, subject: &str) -> Vec<String> {
    let Some(replica) = session.state().replica().collection(collection) else {
        return Vec::new();
    };
    replica
        .items()
        .values()
        .filter_map(|i| match &i.item.kind {
            Some(item::Kind::Mail(m)) => m.headers.as_ref(),
            _ => None,
        })
        .filter(|h| h.subject == subject)
        .flat_map(|h| h.bcc.iter().map(|a| a.email.clone()))
        .collect()
}

/// Drives the device until `done` holds (within this file's [`LIMIT`]).
async fn until(device: &mut Connection, done: impl FnMut(&ClientSession) -> bool) {
    common::until_within(device, LIMIT, done).await;
}

/// Submits `kind` and waits for its result.
async fn operate(device: &mut Connection, kind: Kind) -> Outcome {
    common::operate_within(device, LIMIT, kind).await
}

fn outgoing(to: &str, subject: &str) -> OutgoingMail {
    OutgoingMail {
        to: vec![Address {
            name: String::new(),
            email: to.to_owned(),
        }],
        subject: subject.to_owned(),
        text: format!("About {subject}."),
        ..OutgoingMail::default()
    }
}

fn send(to: &str, subject: &str) -> Kind {
    Kind::SendMail(SendMail {
        mail: Some(outgoing(to, subject)),
    })
}

/// Dovecot with Sent folders, Postfix in front of it, a mail for Alice.
fn upstream() -> (Dovecot, Postfix, Desktop, Desktop) {
    let dovecot = Dovecot::start();
    let postfix = Postfix::start(dovecot.lmtp_addr(), &[NOBODY]);
    let alice = Desktop::new(dovecot.addr(), "alice", "alice-pw");
    let bob = Desktop::new(dovecot.addr(), "bob", "bob-pw");
    alice.create("Sent");
    bob.create("Sent");
    dovecot.deliver("alice", &mail("Budget"));
    (dovecot, postfix, alice, bob)
}

const ANSWERED: u32 = MailFlag::Answered as u32;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_send_goes_out_once_a_reply_answers_and_a_refusal_comes_back() {
    let (dovecot, postfix, alice, bob) = upstream();
    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("gateway.db");
    let config = write_config(dir.path(), &dovecot, &postfix);
    let _server = start(&db, dir.path(), &config, None);
    mirrored(&db).await;
    let inbox = collection(&db, ALICE, "INBOX").await;
    let sent = collection(&db, ALICE, "Sent").await;
    let bob_inbox = collection(&db, BOB, "INBOX").await;
    let bob_local = collection(&db, BOB, "Inbox").await;
    let mut phone = device(&db, ALICE).await;
    until(&mut phone, |s| !held(s, inbox, "Budget").is_empty()).await;

    // A send to Bob, a principal here mirrored too, over SMTP only; blind
    // copy to Alice herself.
    let mut minutes = outgoing(BOB, "Minutes");
    minutes.bcc = vec![Address {
        name: String::new(),
        email: ALICE.to_owned(),
    }];
    let minutes = Kind::SendMail(SendMail {
        mail: Some(minutes),
    });
    let done = operate(&mut phone, minutes).await;
    assert!(matches!(done, Outcome::Done(_)), "{done:?}");
    until(&mut phone, |s| held(s, sent, "Minutes").len() == 1).await;
    // Only the sender's own copy names the blind recipient.
    assert_eq!(bcc(phone.session(), sent, "Minutes"), [ALICE]);
    let blind_header = |desk: &Desktop, folder: &str| {
        desk.run(&format!(
            "ok(m.select('{folder}'))\n\
             print(len(ok(m.search(None, 'HEADER', 'Bcc', '{ALICE}'))[0].split()))"
        ))
    };
    eventually(LIMIT, || (bob.count("INBOX", "Minutes") == 1).then_some(())).await;
    assert_eq!(blind_header(&alice, "Sent").trim(), "1");
    assert_eq!(blind_header(&bob, "INBOX").trim(), "0", "no Bcc for Bob");
    eventually(LIMIT, || (outbox_rows(&db) == 0).then_some(())).await;
    assert_eq!(alice.count("Sent", "Minutes"), 1, "{}", postfix.log());
    assert_eq!(bob.count("INBOX", "Minutes"), 1);
    eventually(LIMIT, || {
        (stored(&db, bob_inbox, "Minutes") == 1).then_some(())
    })
    .await;
    assert_eq!(stored(&db, bob_local, "Minutes"), 0, "no local delivery");
    assert_eq!(stored(&db, sent, "Minutes"), 1, "one Sent copy");

    // A reply: sent, and its original answered upstream and on the device.
    let (budget, _) = held(phone.session(), inbox, "Budget")[0];
    let reply = Kind::ReplyMail(ReplyMail {
        collection_id: inbox,
        item_id: budget,
        reply_all: false,
        mail: Some(outgoing(BOB, "Re: Budget")),
    });
    assert!(matches!(operate(&mut phone, reply).await, Outcome::Done(_)));
    until(&mut phone, |s| {
        held(s, inbox, "Budget")
            .first()
            .is_some_and(|(_, f)| f & ANSWERED != 0)
    })
    .await;
    assert!(alice.flags("INBOX", "Budget").contains("\\Answered"));
    eventually(LIMIT, || {
        (bob.count("INBOX", "Re: Budget") == 1).then_some(())
    })
    .await;
    until(&mut phone, |s| held(s, sent, "Re: Budget").len() == 1).await;

    // Refused by the SMTP server (5xx): not retried, the device gets a notice.
    let lost = operate(&mut phone, send(NOBODY, "Lost")).await;
    assert!(matches!(lost, Outcome::Done(_)), "{lost:?}");
    until(&mut phone, |s| held(s, inbox, "Not sent: Lost").len() == 1).await;
    let typed = alice.run(
        "ok(m.select('INBOX'))\n\
         print(len(ok(m.search(None, 'HEADER', 'X-Tidings-Error', '711'))[0].split()))",
    );
    assert_eq!(typed.trim(), "1", "one notice, with the error code");
    eventually(LIMIT, || (outbox_rows(&db) == 0).then_some(())).await;
    assert_eq!(alice.count("Sent", "Lost"), 0);
    assert!(held(phone.session(), sent, "Lost").is_empty());
}

/// Attachment names as a person typed them reach the recipient's mail
/// server through Postfix as RFC 2231 parameters (never RFC 2047 encoded
/// words), and read back as typed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attachment_names_arrive_in_rfc_2231_and_read_back_as_typed() {
    let (dovecot, postfix, _alice, bob) = upstream();
    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("gateway.db");
    let config = write_config(dir.path(), &dovecot, &postfix);
    let _server = start(&db, dir.path(), &config, None);
    mirrored(&db).await;
    let mut phone = device(&db, ALICE).await;
    let long = "Протокол заседания городского совета от 3 марта 2026 года.pdf";
    let names = ["minutes.txt", "Grüße aus Köln.pdf", long, "写真.jpg"];
    let mut files = outgoing(BOB, "Files");
    files.attachments = names
        .iter()
        .map(|name| OutgoingAttachment {
            filename: (*name).to_owned(),
            content_type: "application/octet-stream".to_owned(),
            data: b"0123".to_vec(),
            ..OutgoingAttachment::default()
        })
        .collect();
    let send = Kind::SendMail(SendMail { mail: Some(files) });
    assert!(matches!(operate(&mut phone, send).await, Outcome::Done(_)));
    eventually(LIMIT, || (bob.count("INBOX", "Files") == 1).then_some(())).await;
    let raw = bob.run(
        "ok(m.select('INBOX'))\n\
         n = ok(m.search(None, 'SUBJECT', 'Files'))[0].split()[0]\n\
         print(ok(m.fetch(n, '(BODY.PEEK[])'))[0][1].decode('ascii'), end='')",
    );
    assert!(!raw.contains("=?"), "no encoded words: {raw}");
    assert!(raw.contains("filename=\"minutes.txt\""), "{raw}");
    assert!(
        raw.contains("filename*=UTF-8''Gr%C3%BC%C3%9Fe%20aus%20K%C3%B6ln.pdf"),
        "{raw}"
    );
    assert!(raw.contains("filename*1*="), "in sections: {raw}");
    let item = mail_item_from_message(raw.as_bytes(), &MailItemOptions::default()).expect("mail");
    let read: Vec<&str> = item
        .attachments
        .iter()
        .map(|a| a.filename.as_str())
        .collect();
    assert_eq!(read, names);
}

/// The sender is stopped dead right after the SMTP server accepted the
/// first of a burst of sends (and with flag changes in flight) and before
/// its APPEND to Sent (`abort`, no cleanup, as `kill -9`). After a restart
/// every mail of the burst reaches Bob once and Sent once, and the flags
/// the device set are upstream.
#[cfg(feature = "test-hooks")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_in_a_burst_of_sends_every_mail_goes_once() {
    const BURST: usize = 4;
    let (dovecot, postfix, alice, bob) = upstream();
    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("gateway.db");
    let config = write_config(dir.path(), &dovecot, &postfix);
    let mut server = start(&db, dir.path(), &config, Some("after-submit"));
    mirrored(&db).await;
    let inbox = collection(&db, ALICE, "INBOX").await;
    let sent = collection(&db, ALICE, "Sent").await;
    let mut phone = device(&db, ALICE).await;
    until(&mut phone, |s| !held(s, inbox, "Budget").is_empty()).await;
    let (budget, _) = held(phone.session(), inbox, "Budget")[0];
    // The burst: every send and a flag change submitted at once; the
    // server dies at the first submission.
    for n in 1..=BURST {
        phone
            .submit(send(BOB, &format!("Burst {n}")))
            .await
            .expect("submit");
    }
    phone
        .submit(Kind::SetFlags(tidings::proto::SetFlags {
            collection_id: inbox,
            item_ids: vec![budget],
            set: MailFlag::Flagged as u32,
            clear: 0,
        }))
        .await
        .expect("submit");
    eventually(LIMIT, || server.child.try_wait().ok().flatten()).await;
    let state = phone.session().state().clone();
    drop(phone);
    eventually(LIMIT, || (bob.count("INBOX", "Burst 1") == 1).then_some(())).await;

    // Restarted: whatever the device's outbox still holds is resent, the
    // gateway's outbox finishes what it had; nothing twice.
    drop(server);
    let server = start(&db, dir.path(), &config, None);
    let mut phone = Connection::resume(&server.tcp, state)
        .await
        .expect("resume");
    until(&mut phone, |s| {
        s.state().outbox().is_empty()
            && (1..=BURST).all(|n| held(s, sent, &format!("Burst {n}")).len() == 1)
    })
    .await;
    eventually(LIMIT, || (outbox_rows(&db) == 0).then_some(())).await;
    eventually(LIMIT, || postfix.idle().then_some(())).await;
    for n in 1..=BURST {
        let subject = format!("Burst {n}");
        assert_eq!(
            bob.count("INBOX", &subject),
            1,
            "{subject}: {}",
            postfix.log()
        );
        assert_eq!(alice.count("Sent", &subject), 1, "{subject} in Sent");
    }
    assert!(alice.flags("INBOX", "Budget").contains("\\Flagged"));
}
