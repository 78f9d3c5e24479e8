//! A seeded town hall served on loopback, and helpers to watch devices.
#![allow(dead_code, unreachable_pub)]

pub mod hostile;
pub mod process;

use std::path::PathBuf;
use std::time::Duration;
use tidings::proto::{Item, item, operation::Kind, operation_result::Outcome};
use tidings::session::{ClientEvent, ClientSession};
use tidings_server::activation::Activation;
use tidings_server::client::Connection;
use tidings_server::server::{Server, ServerOptions};
use tidings_server::store::{Durability, SqliteStore};
use tidings_server::{admin, seed};

/// Long enough for a loaded CI machine; every wait is bounded by it.
pub const LIMIT: Duration = Duration::from_secs(30);

pub struct Town {
    pub server: Server,
    pub db: PathBuf,
    _dir: tempfile::TempDir,
}

impl Town {
    pub async fn new() -> Self {
        Self::with(|_| {}).await
    }

    /// A town whose server options `tune` adjusts first.
    pub async fn with(tune: impl FnOnce(&mut ServerOptions)) -> Self {
        // Server logs go to the test's output, shown when a test fails.
        let _ = tracing_subscriber::fmt()
            .with_test_writer()
            .with_env_filter(
                std::env::var("RUST_LOG").unwrap_or_else(|_| "tidings_server=info".into()),
            )
            .try_init();
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("town.db");
        let mut options = ServerOptions {
            tcp: Some(([127, 0, 0, 1], 0).into()),
            http: Some(([127, 0, 0, 1], 0).into()),
            poll_interval: Duration::from_millis(10),
            ..ServerOptions::default()
        };
        tune(&mut options);
        let server = seed::serve_town_hall(&db, options).await.expect("serve");
        Self {
            server,
            db,
            _dir: dir,
        }
    }

    pub fn activation(&self, email: &str) -> Activation {
        self.server
            .with_store(|s| admin::enroll(s, email, 60_000))
            .expect("enroll")
    }

    /// A device of `email`, enrolled and fully synced.
    pub async fn device(&self, email: &str, name: &str) -> Connection {
        let mut device = Connection::enroll(&self.activation(email), name)
            .await
            .expect("connect");
        let expected = self.visible_items(email);
        until(&mut device, |s| holds(s) == expected).await;
        device
    }

    /// Another connection to the database, as an admin command would open.
    pub fn admin(&self) -> SqliteStore {
        SqliteStore::open(&self.db, Durability::Process).expect("open")
    }

    /// (collection, item count) of everything `email` may see, per the store.
    pub fn visible_items(&self, email: &str) -> Vec<(u64, usize)> {
        use tidings::store::{Directory, ItemStore};
        let store = self.admin();
        let p = admin::principal(&store, email).expect("principal");
        store
            .visible_collections(p.id)
            .expect("visible")
            .into_iter()
            .map(|(c, _)| (c.id, store.items(c.id).expect("items").len()))
            .collect()
    }
}

/// (collection, item count) the device holds.
pub fn holds(session: &ClientSession) -> Vec<(u64, usize)> {
    session
        .state()
        .replica()
        .collections()
        .map(|(info, replica)| (info.id, replica.items().len()))
        .collect()
}

/// Drives `device` until `done` holds of its session (bounded by [`LIMIT`]).
pub async fn until(device: &mut Connection, done: impl FnMut(&ClientSession) -> bool) {
    assert!(
        try_until(device, done).await,
        "condition did not hold within {LIMIT:?}"
    );
}

/// Like [`until`], bounded by `limit`: tests against real upstream servers
/// wait for them longer.
pub async fn until_within(
    device: &mut Connection,
    limit: Duration,
    done: impl FnMut(&ClientSession) -> bool,
) {
    assert!(
        try_until_within(device, limit, done).await,
        "the device did not get there within {limit:?}"
    );
}

/// Like [`until`], but says whether the condition held instead of failing,
/// so a caller can show what differs.
pub async fn try_until(device: &mut Connection, done: impl FnMut(&ClientSession) -> bool) -> bool {
    try_until_within(device, LIMIT, done).await
}

/// [`try_until`] bounded by `limit`.
pub async fn try_until_within(
    device: &mut Connection,
    limit: Duration,
    mut done: impl FnMut(&ClientSession) -> bool,
) -> bool {
    if done(device.session()) {
        return true;
    }
    let wait = async {
        while let Ok(Some(_event)) = device.next_event().await {
            if done(device.session()) {
                return true;
            }
        }
        false
    };
    tokio::time::timeout(limit, wait).await.unwrap_or(false)
}

/// Submits `kind` and waits, within `limit`, for its outcome.
pub async fn operate_within(device: &mut Connection, limit: Duration, kind: Kind) -> Outcome {
    let op_id = device.submit(kind).await.expect("submit");
    device
        .wait_for(limit, |e| match e {
            ClientEvent::OperationResult(r) if r.op_id == op_id => r.outcome.clone(),
            _ => None,
        })
        .await
        .expect("operation result")
}

/// The subjects of the mail a device holds in `collection`.
pub fn subjects(session: &ClientSession, collection: u64) -> Vec<String> {
    let Some(replica) = session.state().replica().collection(collection) else {
        return Vec::new();
    };
    replica
        .items()
        .values()
        .filter_map(|i| match &i.item {
            Item {
                kind: Some(item::Kind::Mail(m)),
            } => m.headers.as_ref().map(|h| h.subject.clone()),
            _ => None,
        })
        .collect()
}

/// The collection of `email` called `name`.
pub fn collection(town: &Town, email: &str, name: &str) -> u64 {
    let store = town.admin();
    let p = admin::principal(&store, email).expect("principal");
    store
        .owned_collections(p.id)
        .expect("owned")
        .into_iter()
        .find(|c| c.name == name)
        .map(|c| c.id)
        .expect("collection")
}

pub fn mail(to: &str, subject: &str) -> Vec<u8> {
    format!(
        "From: Operations Centre <ops@town.example>\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: <{subject}@town.example>\r\n\r\nBody of {subject}.\r\n"
    )
    .into_bytes()
}

pub fn seed_constants() -> (&'static str, &'static str) {
    (seed::MAYOR, seed::CHIEF)
}
