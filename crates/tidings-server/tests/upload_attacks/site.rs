//! A town served by `tidings-server` processes on SQLite or PostgreSQL,
//! with nine more principals to receive a large mail, seen from outside
//! through its own store connections (as the admin commands see it).

use crate::common::LIMIT;
use crate::support::*;
use std::path::Path;
use tidings::compress::{InflateLimits, unpack};
use tidings::proto::{self, Item, item};
use tidings::store::DeviceRegistry;
use tidings_server::client::Connection;
use tidings_server::store::{Durability, SqliteStore};
use tidings_server::stores::ServerStore;
use tidings_server::{admin, seed};
use tidings_store_postgres::testing::TestDatabase;

/// The nine recipients of the large mail.
pub fn recipients() -> Vec<String> {
    (1..=9).map(|i| format!("r{i}@town.example")).collect()
}

/// Seeds the town hall, nine recipients with a mail each, and the key.
fn setup<S: ServerStore>(store: &mut S) {
    seed::town_hall(store).expect("seed");
    store
        .transaction(|s| {
            for (i, email) in recipients().iter().enumerate() {
                admin::add_principal(s, &format!("Recipient {i}"), email)?;
            }
            for email in recipients().iter().map(String::as_str).chain([seed::MAYOR]) {
                admin::deliver_mail(s, email, &crate::common::mail(email, "hello"))?;
            }
            Ok(())
        })
        .expect("recipients");
    tidings_server::server::server_keys(store).expect("key");
}

fn first_item<S: ServerStore>(store: &S, email: &str) -> (u64, u64) {
    let p = admin::principal(store, email).expect("principal");
    let inbox = admin::existing_folder(store, p.id, "Inbox").expect("inbox");
    (inbox, store.items(inbox).expect("items")[0].0)
}

fn subjects<S: ServerStore>(store: &S, email: &str, folder: &str, subject: &str) -> usize {
    let p = admin::principal(store, email).expect("principal");
    let folder = admin::existing_folder(store, p.id, folder).expect("folder");
    let items = store.items(folder).expect("items");
    items
        .iter()
        .filter(|(_, packed, _)| {
            let bytes = unpack(packed, &InflateLimits::default()).expect("unpack");
            matches!(proto::decode::<Item>(&bytes), Ok(Item { kind: Some(item::Kind::Mail(m)) })
                if m.headers.as_ref().is_some_and(|h| h.subject == subject))
        })
        .count()
}

/// Where the town's data lives.
pub enum Site {
    Sqlite(std::path::PathBuf),
    Postgres(TestDatabase),
}

impl Site {
    /// A fresh SQLite town in `dir`.
    pub fn sqlite(dir: &Path) -> Self {
        let db = dir.join("town.db");
        tidings_server::dbfile::create_private(&db).expect("private file");
        let mut store = SqliteStore::open(&db, Durability::Process).expect("open");
        setup(&mut store);
        Self::Sqlite(db)
    }

    /// A fresh PostgreSQL town (a throwaway cluster).
    pub fn postgres() -> Self {
        let db = TestDatabase::create().expect("PostgreSQL");
        setup(&mut db.store().expect("store"));
        Self::Postgres(db)
    }

    /// What `--db` names.
    pub fn db(&self) -> String {
        match self {
            Self::Sqlite(path) => path.display().to_string(),
            Self::Postgres(db) => db.url(),
        }
    }

    /// Runs `f` on a store connection of its own, off the async threads.
    fn with<T>(&self, f: impl FnOnce(&mut dyn Probe) -> T) -> T {
        tokio::task::block_in_place(|| match self {
            Self::Sqlite(path) => {
                f(&mut SqliteStore::open(path, Durability::Process).expect("open"))
            }
            Self::Postgres(db) => f(&mut db.store().expect("store")),
        })
    }

    /// What the database takes on disk: (main file or whole database,
    /// SQLite's write-ahead log).
    pub fn disk(&self) -> (u64, u64) {
        match self {
            Self::Sqlite(path) => {
                let len = |p: &Path| std::fs::metadata(p).map_or(0, |m| m.len());
                (len(path), len(&path.with_extension("db-wal")))
            }
            Self::Postgres(db) => tokio::task::block_in_place(|| {
                let mut client = db.client().expect("client");
                let row = client
                    .query_one("SELECT pg_database_size(current_database())", &[])
                    .expect("size");
                (u64::try_from(row.get::<_, i64>(0)).unwrap_or(0), 0)
            }),
        }
    }

    /// A device of `email` enrolled through the server at `tcp`.
    pub async fn device(&self, tcp: &str, email: &str) -> Connection {
        let mut activation = self.with(|s| s.enroll(email));
        activation.tcp = Some(tcp.to_string());
        let mut dev = tokio::time::timeout(LIMIT, Connection::enroll(&activation, email))
            .await
            .expect("enroll in time")
            .expect("enroll");
        // Welcomed: operations submitted before the Welcome are sent again
        // with it (answered from memory, but twice).
        dev.wait_for(LIMIT, |e| {
            matches!(e, tidings::session::ClientEvent::Connected { .. }).then_some(())
        })
        .await
        .expect("welcomed");
        dev
    }

    /// `email`'s Inbox and its first item.
    pub fn first_item(&self, email: &str) -> (u64, u64) {
        self.with(|s| s.first_item(email))
    }

    /// Mails with `subject` in `email`'s `folder`.
    pub fn count(&self, email: &str, folder: &str, subject: &str) -> usize {
        self.with(|s| s.count(email, folder, subject))
    }

    /// Uploads the store holds for `device`.
    pub fn uploads(&self, device: u64) -> usize {
        self.with(|s| s.uploads(device))
    }

    /// The bytes held for `device`'s upload `id`.
    pub fn upload_bytes(&self, device: u64, id: &[u8]) -> Option<Vec<u8>> {
        let id: [u8; 16] = id.try_into().expect("16 bytes");
        self.with(|s| s.upload_bytes(device, &id))
    }
}

/// What the tests ask of either store.
trait Probe {
    fn enroll(&mut self, email: &str) -> tidings_server::activation::Activation;
    fn first_item(&mut self, email: &str) -> (u64, u64);
    fn count(&mut self, email: &str, folder: &str, subject: &str) -> usize;
    fn uploads(&mut self, device: u64) -> usize;
    fn upload_bytes(&mut self, device: u64, id: &[u8; 16]) -> Option<Vec<u8>>;
}

impl<S: ServerStore> Probe for S {
    fn enroll(&mut self, email: &str) -> tidings_server::activation::Activation {
        self.transaction(|s| admin::enroll(s, email, 60_000))
            .expect("enroll")
    }
    fn first_item(&mut self, email: &str) -> (u64, u64) {
        first_item(self, email)
    }
    fn count(&mut self, email: &str, folder: &str, subject: &str) -> usize {
        subjects(self, email, folder, subject)
    }
    fn uploads(&mut self, device: u64) -> usize {
        DeviceRegistry::uploads(self, device)
            .expect("uploads")
            .len()
    }
    fn upload_bytes(&mut self, device: u64, id: &[u8; 16]) -> Option<Vec<u8>> {
        DeviceRegistry::upload_bytes(self, device, id).expect("upload bytes")
    }
}

/// Serves `site` in a process named `name`, each device allowed `mib`
/// MiB of sending an hour.
pub fn serve(site: &Site, dir: &Path, name: &str, mib: u64) -> Proc {
    let mib = mib.to_string();
    Proc::serve(&site.db(), dir, name, &["--send-mib-per-hour", &mib])
}
