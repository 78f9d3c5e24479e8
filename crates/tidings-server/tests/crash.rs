//! `kill -9` of the server in the middle of a burst of pushes and of
//! operations, then a restart on the same database: every device ends equal
//! to the store, nothing lost, nothing applied twice. On SQLite and on
//! PostgreSQL.

mod common;

use common::process::{Running, start};
use common::{holds, mail, try_until};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tidings::proto::{Address, OutgoingMail, SendMail, operation::Kind};
use tidings::session::ClientSession;
use tidings_server::activation::Activation;
use tidings_server::client::Connection;
use tidings_server::store::{Durability, SqliteStore};
use tidings_server::stores::{PostgresStore, ServerStore};
use tidings_server::{admin, seed};
use tidings_store_postgres::testing::TestDatabase;

const BURST: usize = 120;
const SENT_BEFORE_KILL: usize = 5;

/// The database under test.
enum Target {
    Sqlite(PathBuf),
    Postgres(TestDatabase),
}

impl Target {
    /// What `--db` says.
    fn arg(&self) -> String {
        match self {
            Target::Sqlite(path) => path.display().to_string(),
            Target::Postgres(db) => db.url(),
        }
    }

    /// Runs `f` on a store of its own, as an admin command would open.
    fn with<T>(&self, f: impl FnOnce(&mut dyn Admin) -> T) -> T {
        with(&self.arg(), f)
    }

    /// The first server: the demo seeds SQLite; PostgreSQL is seeded here
    /// and served.
    fn first_start(&self, dir: &Path) -> Running {
        match self {
            Target::Sqlite(_) => start(&self.arg(), dir, "demo", "first"),
            Target::Postgres(_) => {
                self.with(|s| s.seed());
                start(&self.arg(), dir, "serve", "first")
            }
        }
    }

    fn activation(&self, server: &Running, email: &str) -> Activation {
        match self {
            Target::Sqlite(_) => server.activation(email),
            Target::Postgres(_) => {
                let mut activation = self.with(|s| s.enroll(email));
                activation.tcp = Some(server.tcp());
                activation
            }
        }
    }
}

/// Runs `f` on a store of its own on `db` (a `--db` argument). Off the
/// async machinery: the synchronous PostgreSQL client may not block a
/// thread that drives async tasks.
fn with<T>(db: &str, f: impl FnOnce(&mut dyn Admin) -> T) -> T {
    let open_and_run = || match tidings_server::stores::is_postgres(db) {
        true => f(&mut PostgresStore::connect(db).expect("connect")),
        false => f(&mut SqliteStore::open(db.as_ref(), Durability::Process).expect("open")),
    };
    match tokio::runtime::Handle::try_current() {
        Ok(_) => tokio::task::block_in_place(open_and_run),
        Err(_) => open_and_run(),
    }
}

/// What the test asks of either store (the admin helpers are generic; a
/// trait object keeps the test's plumbing to one path).
trait Admin {
    fn seed(&mut self);
    fn enroll(&mut self, email: &str) -> Activation;
    fn deliver(&mut self, to: &str, raw: &[u8]);
    fn view(&self, email: &str) -> BTreeMap<u64, Vec<(u64, u32)>>;
    fn count_subject(&self, email: &str, folder: &str, subject: &str) -> usize;
}

impl<S: ServerStore> Admin for S {
    fn seed(&mut self) {
        seed::town_hall(self).expect("seed");
    }

    fn enroll(&mut self, email: &str) -> Activation {
        self.transaction(|s| admin::enroll(s, email, 60_000))
            .expect("enroll")
    }

    fn deliver(&mut self, to: &str, raw: &[u8]) {
        self.transaction(|s| admin::deliver_mail(s, to, raw))
            .expect("deliver");
    }

    /// Every (collection, item id, flags) `email` may see, per the store.
    fn view(&self, email: &str) -> BTreeMap<u64, Vec<(u64, u32)>> {
        let p = admin::principal(self, email).expect("principal");
        self.visible_collections(p.id)
            .expect("visible")
            .into_iter()
            .map(|(c, _)| {
                let items = self.items(c.id).expect("items");
                (c.id, items.into_iter().map(|(id, _, f)| (id, f)).collect())
            })
            .collect()
    }

    fn count_subject(&self, email: &str, folder: &str, subject: &str) -> usize {
        let p = admin::principal(self, email).expect("principal");
        let folder = tidings_server::compose::mail_folder(self, p.id, folder)
            .expect("query")
            .expect("folder");
        self.items(folder)
            .expect("items")
            .into_iter()
            .filter(|(id, _, _)| {
                let raw = self.raw_message(*id).expect("raw").unwrap_or_default();
                String::from_utf8_lossy(&raw).contains(&format!("Subject: {subject}\r\n"))
            })
            .count()
    }
}

fn store_view(target: &Target, email: &str) -> BTreeMap<u64, Vec<(u64, u32)>> {
    target.with(|s| s.view(email))
}

fn count_subject(target: &Target, email: &str, folder: &str, subject: &str) -> usize {
    target.with(|s| s.count_subject(email, folder, subject))
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_a_burst_loses_nothing_and_applies_nothing_twice() {
    let dir = tempfile::tempdir().expect("tempdir");
    let target = Target::Sqlite(dir.path().join("town.db"));
    kill_9_during_a_burst(&target, dir.path()).await;
}

#[test]
fn kill_9_on_postgres_loses_nothing_and_applies_nothing_twice() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Outside the runtime: the harness's client may not block inside it.
    let target = Target::Postgres(TestDatabase::create().expect("PostgreSQL"));
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(kill_9_during_a_burst(&target, dir.path()));
}

async fn kill_9_during_a_burst(target: &Target, dir: &Path) {
    let mut server = target.first_start(dir);
    let councillor = seed::COUNCILLORS[1];
    let mut devices = Vec::new();
    for email in [seed::CHIEF, seed::MAYOR, councillor] {
        let device = Connection::enroll(&target.activation(&server, email), email)
            .await
            .expect("enroll");
        devices.push((email, device));
    }
    for (email, device) in &mut devices {
        let expected: Vec<(u64, usize)> = store_view(target, email)
            .into_iter()
            .map(|(c, items)| (c, items.len()))
            .collect();
        if !try_until(device, |s| holds(s) == expected).await {
            assert_eq!(holds(device.session()), expected, "{email}: initial sync");
        }
    }

    // A burst of new mail, written by another process while devices follow.
    let writer_db = target.arg();
    let burst = tokio::task::spawn_blocking(move || {
        with(&writer_db, |store| {
            for n in 0..BURST {
                let to = if n % 2 == 0 { seed::CHIEF } else { councillor };
                store.deliver(to, &mail(to, &format!("burst-{n}")));
                std::thread::sleep(Duration::from_millis(5));
            }
        });
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
    let mut server = start(&target.arg(), dir, "serve", "second");
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
        let expected = store_view(target, email);
        if !try_until(device, |s| device_view(s) == expected).await {
            assert_eq!(device_view(device.session()), expected, "{email}");
        }
    }
    for n in 0..SENT_BEFORE_KILL {
        let subject = format!("op-{n}");
        assert_eq!(
            count_subject(target, councillor, "Inbox", &subject),
            1,
            "{subject}"
        );
        assert_eq!(
            count_subject(target, seed::CHIEF, "Sent", &subject),
            1,
            "{subject}"
        );
    }
    for n in 0..BURST {
        let to = if n % 2 == 0 { seed::CHIEF } else { councillor };
        assert_eq!(count_subject(target, to, "Inbox", &format!("burst-{n}")), 1);
    }
    // SIGTERM: a graceful stop.
    assert!(server.terminate().await, "graceful shutdown exits 0");
}
