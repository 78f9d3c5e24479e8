//! What a reconnect asks of the store. Each call is a round trip on a
//! database server (PostgreSQL), so a storm of reconnects is paid in them:
//! the collection list is read once, each collection's rights with it, and
//! the deltas of all collections in one read.

mod town;

use bytes::Bytes;
use std::cell::RefCell;
use std::collections::BTreeMap;
use tidings::Result;
use tidings::proto::{Cursor, OperationResult, Policy};
use tidings::session::{ClientConfig, ClientSession};
use tidings::store::{
    ActivationCode, Collection, DeviceRecord, DeviceRegistry, Directory, ItemStore, MemoryStore,
    Principal, WipeState,
};
use tidings::sync::{Delta, PageLimits, Rights};
use town::*;

/// A memory store that counts the calls made to it, by method.
struct Counting {
    inner: MemoryStore,
    calls: RefCell<BTreeMap<&'static str, usize>>,
    /// Every call, in order.
    order: RefCell<Vec<&'static str>>,
    /// A collection deleted after the list was read: its deltas and rights
    /// are not found.
    gone: Option<u64>,
}

impl Counting {
    fn check(&self, collection: u64) -> Result<()> {
        match self.gone == Some(collection) {
            true => Err(tidings::Error::new(
                tidings::ErrorKind::NotFound,
                "no such collection",
            )),
            false => Ok(()),
        }
    }

    fn count(&self, method: &'static str) {
        *self.calls.borrow_mut().entry(method).or_default() += 1;
        self.order.borrow_mut().push(method);
    }

    /// Where `method` was first called, among all calls.
    fn first(&self, method: &str) -> Option<usize> {
        self.order.borrow().iter().position(|m| *m == method)
    }

    fn calls(&self, method: &str) -> usize {
        self.calls.borrow().get(method).copied().unwrap_or(0)
    }
}

impl Directory for Counting {
    fn principal(&self, id: u64) -> Result<Principal> {
        self.count("principal");
        self.inner.principal(id)
    }
    fn collection(&self, id: u64) -> Result<Collection> {
        self.count("collection");
        self.inner.collection(id)
    }
    fn visible_collections(&self, principal: u64) -> Result<Vec<(Collection, Rights)>> {
        self.count("visible_collections");
        self.inner.visible_collections(principal)
    }
    fn rights(&self, principal: u64, collection: u64) -> Result<Rights> {
        self.count("rights");
        self.check(collection)?;
        self.inner.rights(principal, collection)
    }
    fn principal_by_email(&self, email: &str) -> Result<Option<Principal>> {
        self.count("principal_by_email");
        self.inner.principal_by_email(email)
    }
}

impl ItemStore for Counting {
    fn collection_state(&self, collection: u64) -> Result<(u64, u64)> {
        self.count("collection_state");
        self.inner.collection_state(collection)
    }
    fn delta(&self, cursor: &Cursor, limits: &PageLimits) -> Result<Delta> {
        self.count("delta");
        self.check(cursor.collection_id)?;
        self.inner.delta(cursor, limits)
    }
    fn settle(&mut self) -> Result<()> {
        self.count("settle");
        self.inner.settle()
    }
    fn deltas(&self, cursors: &[Cursor], limits: &PageLimits) -> Result<Vec<Delta>> {
        // One call, as a database answers it: not counted as `delta`s.
        self.count("deltas");
        for cursor in cursors {
            self.check(cursor.collection_id)?;
        }
        self.inner.deltas(cursors, limits)
    }
    fn item(&self, collection: u64, id: u64) -> Result<Option<(Bytes, u32)>> {
        self.count("item");
        self.inner.item(collection, id)
    }
    fn items(&self, collection: u64) -> Result<Vec<(u64, Bytes, u32)>> {
        self.count("items");
        self.inner.items(collection)
    }
    fn mail_part(&self, collection: u64, id: u64, part_id: u32) -> Result<Option<Bytes>> {
        self.count("mail_part");
        self.inner.mail_part(collection, id, part_id)
    }
    fn allocate_id(&mut self) -> Result<u64> {
        self.count("allocate_id");
        self.inner.allocate_id()
    }
    fn upsert(
        &mut self,
        collection: u64,
        id: Option<u64>,
        packed: Bytes,
        flags: u32,
    ) -> Result<(u64, u64)> {
        self.count("upsert");
        self.inner.upsert(collection, id, packed, flags)
    }
    fn set_flags(&mut self, collection: u64, id: u64, flags: u32) -> Result<u64> {
        self.count("set_flags");
        self.inner.set_flags(collection, id, flags)
    }
    fn remove(&mut self, collection: u64, id: u64) -> Result<u64> {
        self.count("remove");
        self.inner.remove(collection, id)
    }
}

impl DeviceRegistry for Counting {
    fn create_activation(
        &mut self,
        principal: u64,
        code: &ActivationCode,
        expires_at_ms: u64,
        max_attempts: u32,
    ) -> Result<()> {
        self.count("create_activation");
        self.inner
            .create_activation(principal, code, expires_at_ms, max_attempts)
    }
    fn redeem_activation(
        &mut self,
        code: &str,
        public_key: [u8; 32],
        name: &str,
        now_ms: u64,
    ) -> Result<DeviceRecord> {
        self.count("redeem_activation");
        self.inner.redeem_activation(code, public_key, name, now_ms)
    }
    fn device_by_key(&self, public_key: &[u8; 32]) -> Result<Option<DeviceRecord>> {
        self.count("device_by_key");
        self.inner.device_by_key(public_key)
    }
    fn device(&self, id: u64) -> Result<DeviceRecord> {
        self.count("device");
        self.inner.device(id)
    }
    fn record_hello(&mut self, device: u64, timestamp: u64) -> Result<()> {
        self.count("record_hello");
        self.inner.record_hello(device, timestamp)
    }
    fn save_cursor(&mut self, device: u64, cursor: Cursor) -> Result<()> {
        self.count("save_cursor");
        self.inner.save_cursor(device, cursor)
    }
    fn cursors(&self, device: u64) -> Result<Vec<Cursor>> {
        self.count("cursors");
        self.inner.cursors(device)
    }
    fn applied_operation(&self, device: u64, op_id: &[u8]) -> Result<Option<OperationResult>> {
        self.count("applied_operation");
        self.inner.applied_operation(device, op_id)
    }
    fn record_operation(&mut self, device: u64, result: OperationResult) -> Result<()> {
        self.count("record_operation");
        self.inner.record_operation(device, result)
    }
    fn policy(&self, device: u64) -> Result<Policy> {
        self.count("policy");
        self.inner.policy(device)
    }
    fn set_policy(&mut self, device: u64, policy: Policy) -> Result<()> {
        self.count("set_policy");
        self.inner.set_policy(device, policy)
    }
    fn set_wipe(&mut self, device: u64, wipe: WipeState) -> Result<()> {
        self.count("set_wipe");
        self.inner.set_wipe(device, wipe)
    }
    fn revoke(&mut self, device: u64) -> Result<()> {
        self.count("revoke");
        self.inner.revoke(device)
    }
}

#[test]
fn a_caught_up_reconnect_reads_the_list_once_and_each_collection_once() {
    // The chief of staff sees three collections: her inbox and calendar,
    // and the mayor's calendar by delegation; two owners.
    let mut town = Town::new();
    let (client, _) = enroll(&mut town, CHIEF, 7, 1_000);
    let state = client.state().clone();
    let visible = town
        .store
        .visible_collections(town.chief)
        .expect("list")
        .len();
    assert_eq!(visible, 3, "the town's chief sees three collections");

    let mut store = Counting {
        inner: town.store.clone(),
        calls: RefCell::default(),
        order: RefCell::default(),
        gone: None,
    };
    let mut client =
        ClientSession::resume(ClientConfig::default(), state, [9; 32], 5_000).expect("resume");
    client.confirm_state_saved();
    let mut server = town.server_session(10, 5_000);
    tidings::session::pump(&mut client, &mut server, &mut store, 5_000).expect("quiet");
    assert!(client.is_caught_up(), "back and caught up");

    assert_eq!(store.calls("device_by_key"), 1);
    assert_eq!(store.calls("record_hello"), 1);
    assert_eq!(store.calls("policy"), 1);
    assert_eq!(store.calls("visible_collections"), 1, "the list, once");
    assert_eq!(store.calls("rights"), 0, "the list carries the rights");
    assert_eq!(store.calls("collection_state"), visible, "each epoch, once");
    assert_eq!(store.calls("principal"), 2, "each owner, once");
    assert_eq!(
        store.calls("deltas"),
        1,
        "every collection's delta in one read"
    );
    assert_eq!(
        store.calls("delta"),
        0,
        "caught up: nothing read one by one"
    );
    assert_eq!(
        server.followed_collections().map(|ids| ids.len()),
        Some(visible),
        "the session follows the Welcome's list"
    );
    // The replay guard is settled before the first pages are read, so a
    // costly page does not hold the write lock it took.
    let (hello, settle, deltas) = (
        store.first("record_hello"),
        store.first("settle"),
        store.first("deltas"),
    );
    assert!(
        hello < settle && settle < deltas,
        "{:?}",
        store.order.borrow()
    );
}

#[test]
fn a_collection_deleted_during_a_reconnect_is_skipped_not_fatal() {
    let mut town = Town::new();
    let (client, _) = enroll(&mut town, CHIEF, 7, 1_000);
    let state = client.state().clone();
    // Listed in the Welcome, gone by the time the pages are read.
    let mut store = Counting {
        inner: town.store.clone(),
        calls: RefCell::default(),
        order: RefCell::default(),
        gone: Some(town.mayor_calendar),
    };
    let mut client =
        ClientSession::resume(ClientConfig::default(), state, [9; 32], 5_000).expect("resume");
    client.confirm_state_saved();
    let mut server = town.server_session(10, 5_000);
    tidings::session::pump(&mut client, &mut server, &mut store, 5_000).expect("quiet");
    assert!(client.is_established(), "the reconnect went through");
    assert!(!server.is_closed());
    assert_eq!(store.calls("deltas"), 1);
    assert_eq!(store.calls("delta"), 2, "the others, one by one");
}
