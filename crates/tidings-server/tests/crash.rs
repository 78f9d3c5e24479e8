//! `kill -9` of the server in the middle of a burst of pushes and of
//! operations, then a restart on the same database: every device ends equal
//! to the store, nothing lost, nothing applied twice.

mod common;

use common::{holds, mail, try_until};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use tidings::proto::{Address, OutgoingMail, SendMail, operation::Kind};
use tidings::session::ClientSession;
use tidings::store::{Directory, ItemStore};
use tidings_server::activation::Activation;
use tidings_server::client::Connection;
use tidings_server::store::{Durability, SqliteStore};
use tidings_server::{admin, seed};

const BURST: usize = 120;
const SENT_BEFORE_KILL: usize = 5;

struct Running {
    child: Child,
    ready: serde_json::Value,
}

impl Drop for Running {
    /// A failing test must not leave a server behind.
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(db: &Path, dir: &Path, command: &str) -> Running {
    let ready_file = dir.join(format!("{command}-ready.json"));
    let _ = std::fs::remove_file(&ready_file);
    let child = Command::new(env!("CARGO_BIN_EXE_tidings-server"))
        .args(["--db", &db.display().to_string(), command])
        .args(["--tcp", "127.0.0.1:0", "--http", "127.0.0.1:0"])
        .arg("--ready-file")
        .arg(&ready_file)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .expect("server starts");
    // Owned at once: dropping it (on a panic too) kills and reaps the server.
    let mut running = Running {
        child,
        ready: serde_json::Value::Null,
    };
    for _ in 0..300 {
        if let Ok(text) = std::fs::read_to_string(&ready_file) {
            running.ready = serde_json::from_str(&text).expect("ready file is JSON");
            return running;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("server not ready in 30 s");
}

impl Running {
    fn tcp(&self) -> String {
        self.ready["tcp"].as_str().expect("tcp").to_string()
    }

    fn activation(&self, email: &str) -> Activation {
        Activation::parse(self.ready["activations"][email].as_str().expect("payload"))
            .expect("payload parses")
    }
}

/// Every (collection, item id, flags) `email` may see, per the store.
fn store_view(db: &Path, email: &str) -> BTreeMap<u64, Vec<(u64, u32)>> {
    let store = SqliteStore::open(db, Durability::Process).expect("open");
    let p = admin::principal(&store, email).expect("principal");
    store
        .visible_collections(p.id)
        .expect("visible")
        .into_iter()
        .map(|(c, _)| {
            let items = store.items(c.id).expect("items");
            (c.id, items.into_iter().map(|(id, _, f)| (id, f)).collect())
        })
        .collect()
}

/// The same, as the device holds it.
fn device_view(session: &ClientSession) -> BTreeMap<u64, Vec<(u64, u32)>> {
    session
        .state()
        .replica()
        .collections()
        .map(|(info, replica)| {
            let items = replica
                .items()
                .iter()
                .map(|(id, i)| (*id, i.flags))
                .collect();
            (info.id, items)
        })
        .collect()
}

fn count_subject(db: &Path, email: &str, folder: &str, subject: &str) -> usize {
    let store = SqliteStore::open(db, Durability::Process).expect("open");
    let p = admin::principal(&store, email).expect("principal");
    let folder = tidings_server::compose::mail_folder(&store, p.id, folder)
        .expect("query")
        .expect("folder");
    store
        .items(folder)
        .expect("items")
        .into_iter()
        .filter(|(id, _, _)| {
            let raw = store.raw_message(*id).expect("raw").unwrap_or_default();
            String::from_utf8_lossy(&raw).contains(&format!("Subject: {subject}\r\n"))
        })
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_a_burst_loses_nothing_and_applies_nothing_twice() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("town.db");
    let mut server = start(&db, dir.path(), "demo");
    let councillor = seed::COUNCILLORS[1];
    let mut devices = Vec::new();
    for email in [seed::CHIEF, seed::MAYOR, councillor] {
        let device = Connection::enroll(&server.activation(email), email)
            .await
            .expect("enroll");
        devices.push((email, device));
    }
    for (email, device) in &mut devices {
        let expected: Vec<(u64, usize)> = store_view(&db, email)
            .into_iter()
            .map(|(c, items)| (c, items.len()))
            .collect();
        if !try_until(device, |s| holds(s) == expected).await {
            assert_eq!(holds(device.session()), expected, "{email}: initial sync");
        }
    }

    // A burst of new mail, written by another process while devices follow.
    let writer_db = db.clone();
    let burst = tokio::task::spawn_blocking(move || {
        let mut store = SqliteStore::open(&writer_db, Durability::Process).expect("open");
        for n in 0..BURST {
            let to = if n % 2 == 0 { seed::CHIEF } else { councillor };
            let raw = mail(to, &format!("burst-{n}"));
            store
                .transaction(|s| admin::deliver_mail(s, to, &raw))
                .expect("deliver");
            std::thread::sleep(Duration::from_millis(5));
        }
    });
    for _ in 0..BURST / 3 {
        for (_, device) in &mut devices {
            let _ = tokio::time::timeout(Duration::from_millis(2), device.next_event()).await;
        }
    }
    // Operations in flight: sent, perhaps applied, perhaps answered.
    let chief = &mut devices[0].1;
    for n in 0..SENT_BEFORE_KILL {
        let mail = OutgoingMail {
            to: vec![Address {
                name: String::new(),
                email: councillor.into(),
            }],
            subject: format!("op-{n}"),
            text: "Sent from the chief's phone.".into(),
            ..Default::default()
        };
        chief
            .submit(Kind::SendMail(SendMail { mail: Some(mail) }))
            .await
            .expect("submit");
    }
    server.child.kill().expect("SIGKILL");
    server.child.wait().expect("reaped");
    tokio::time::timeout(common::LIMIT, burst)
        .await
        .expect("burst ends")
        .expect("burst writer");

    // Restart on the same database; every device resumes from its state.
    let mut server = start(&db, dir.path(), "serve");
    let mut resumed = Vec::new();
    for (email, device) in devices {
        let state = device.session().state().clone();
        let device = Connection::resume(&server.tcp(), state)
            .await
            .expect("resume");
        resumed.push((email, device));
    }
    // The chief's phone resends what was in flight; answers come once.
    let chief = &mut resumed[0].1;
    assert!(
        try_until(chief, |s| s.state().outbox().is_empty()).await,
        "outbox emptied"
    );
    for (email, device) in &mut resumed {
        let expected = store_view(&db, email);
        if !try_until(device, |s| device_view(s) == expected).await {
            assert_eq!(device_view(device.session()), expected, "{email}");
        }
    }
    for n in 0..SENT_BEFORE_KILL {
        let subject = format!("op-{n}");
        assert_eq!(
            count_subject(&db, councillor, "Inbox", &subject),
            1,
            "{subject}"
        );
        assert_eq!(
            count_subject(&db, seed::CHIEF, "Sent", &subject),
            1,
            "{subject}"
        );
    }
    for n in 0..BURST {
        let to = if n % 2 == 0 { seed::CHIEF } else { councillor };
        assert_eq!(count_subject(&db, to, "Inbox", &format!("burst-{n}")), 1);
    }
    // SIGTERM: a graceful stop.
    let pid = server.child.id().to_string();
    let status = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(status.success());
    let mut exit = None;
    for _ in 0..300 {
        exit = server.child.try_wait().expect("wait");
        if exit.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let exit = exit.expect("stops within 30 s");
    assert!(exit.success(), "graceful shutdown exits 0: {exit:?}");
}
