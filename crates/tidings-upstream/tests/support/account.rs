//! A mirrored account as the gateway's tests use it: Alice's account on a
//! test Dovecot, her store, and what a device syncing a collection holds.

use super::dovecot::Dovecot;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tidings::compress::InflateLimits;
use tidings::proto::item;
use tidings::store::{Directory, ItemStore};
use tidings::sync::{CollectionReplica, Delta, PageLimits};
use tidings_store_sqlite::{Durability, SqliteStore};
use tidings_upstream::config::{Credentials, Endpoint, Secret, Security};
use tidings_upstream::{Account, SharedStore};

pub const ALICE: &str = "alice@example.org";
/// No test may take longer than this, whatever the upstream does.
pub const TEST_LIMIT: Duration = Duration::from_secs(60);

pub fn endpoint(dovecot: &Dovecot) -> Endpoint {
    Endpoint {
        host: "127.0.0.1".to_string(),
        port: dovecot.addr().port(),
        security: Security::Plain,
        ca_file: None,
    }
}

pub fn alice() -> Credentials {
    Credentials {
        username: "alice".to_string(),
        password: Secret::new("alice-pw"),
    }
}

pub fn store_at(path: &Path) -> SharedStore {
    let mut store = SqliteStore::open(path, Durability::Process).expect("store");
    if store.principal_by_email(ALICE).expect("lookup").is_none() {
        store.add_principal("Alice", ALICE).expect("principal");
    }
    Arc::new(Mutex::new(store))
}

pub async fn open(dovecot: &Dovecot, store: &SharedStore) -> Account {
    Account::open(&endpoint(dovecot), &alice(), ALICE, store.clone(), 2048)
        .await
        .expect("open account")
}

pub fn mail(subject: &str) -> Vec<u8> {
    format!(
        "From: Clerk <clerk@example.org>\r\nTo: Alice <alice@example.org>\r\n\
         Subject: {subject}\r\nMessage-ID: <{}@example.org>\r\n\
         Date: Tue, 1 Dec 2026 09:00:00 +0000\r\n\r\nAbout {subject}.\r\n",
        subject.replace(' ', ".")
    )
    .into_bytes()
}

/// The collection named `name` of Alice, if any.
pub fn collection(store: &SharedStore, name: &str) -> Option<u64> {
    let store = store.lock().expect("store");
    let alice = store
        .principal_by_email(ALICE)
        .expect("lookup")
        .expect("alice")
        .id;
    store
        .owned_collections(alice)
        .expect("collections")
        .into_iter()
        .find(|c| c.name == name)
        .map(|c| c.id)
}

/// What a device that syncs `collection` from scratch holds: subject → flags.
pub fn device_view(store: &SharedStore, collection: u64) -> BTreeMap<String, u32> {
    let store = store.lock().expect("store");
    let mut replica = CollectionReplica::new(collection);
    loop {
        match store
            .delta(&replica.cursor(), &PageLimits::default())
            .expect("delta")
        {
            Delta::Page(page) => {
                replica
                    .apply(&page, &InflateLimits::default())
                    .expect("apply");
                if !page.more {
                    break;
                }
            }
            Delta::Resync(r) => panic!("unexpected resync {r:?}"),
        }
    }
    replica
        .items()
        .values()
        .map(|held| match &held.item.kind {
            Some(item::Kind::Mail(m)) => (
                m.headers
                    .as_ref()
                    .map(|h| h.subject.clone())
                    .unwrap_or_default(),
                held.flags,
            ),
            other => panic!("not a mail: {other:?}"),
        })
        .collect()
}

pub fn item_id(store: &SharedStore, collection: u64, subject: &str) -> u64 {
    let store = store.lock().expect("store");
    let limits = InflateLimits::default();
    for (id, packed, _) in store.items(collection).expect("items") {
        let bytes = tidings::compress::unpack(&packed, &limits).expect("unpack");
        let item: tidings::proto::Item = tidings::proto::decode(&bytes).expect("decode");
        if let Some(item::Kind::Mail(m)) = item.kind
            && m.headers.is_some_and(|h| h.subject == subject)
        {
            return id;
        }
    }
    panic!("no item with subject {subject}");
}

pub async fn bounded(test: impl std::future::Future<Output = ()>) {
    tokio::time::timeout(TEST_LIMIT, test)
        .await
        .expect("test exceeded its time limit");
}
