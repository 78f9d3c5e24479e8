//! [`Batch`]: the store one batch of a device's bytes sees on a server.
//!
//! As with the reference server's SQLite batch, reads run on their own
//! (each a committed snapshot) until the first write; from then on
//! everything runs in one transaction, committed by [`Batch::finish`] or,
//! if the batch is dropped unfinished, on drop. What a failing session
//! wrote on the way (a wrong activation guess counted) is committed too;
//! a statement that failed makes PostgreSQL keep nothing, and finishing
//! then says so.

use crate::{PooledStore, PostgresStore};
use bytes::Bytes;
use tidings::Result;
use tidings::proto::{CollectionInfo, Cursor, OperationResult, Policy};
use tidings::store::{
    ActivationCode, Collection, DeviceRecord, DeviceRegistry, Directory, ItemStore, Principal,
    WipeState,
};
use tidings::sync::{Delta, PageLimits, Rights};

/// A pooled store whose writes share one transaction, opened at the first.
pub struct Batch {
    store: PooledStore,
    /// The transaction is open.
    began: bool,
}

impl core::fmt::Debug for Batch {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Batch")
            .field("began", &self.began)
            .finish_non_exhaustive()
    }
}

impl Batch {
    pub(crate) fn new(store: PooledStore) -> Self {
        Self {
            store,
            began: false,
        }
    }

    /// Whether this batch has written.
    pub fn wrote(&self) -> bool {
        self.began
    }

    /// The store, inside this batch's transaction (begun on first use): for
    /// writes beyond the core's traits (mail delivery) that must commit
    /// with the rest of the batch.
    pub fn w(&mut self) -> Result<&mut PostgresStore> {
        if !self.began {
            self.store.conn().begin()?;
            self.began = true;
        }
        Ok(&mut self.store)
    }

    fn r(&self) -> &PostgresStore {
        &self.store
    }

    /// Commits what the batch wrote, if anything; returns the connection
    /// to the pool.
    pub fn finish(mut self) -> Result<()> {
        self.end()
    }

    fn end(&mut self) -> Result<()> {
        match core::mem::take(&mut self.began) {
            true => self.store.conn().end(true),
            false => Ok(()),
        }
    }
}

impl Drop for Batch {
    fn drop(&mut self) {
        let _ = self.end();
    }
}

impl Directory for Batch {
    fn principal(&self, id: u64) -> Result<Principal> {
        self.r().principal(id)
    }
    fn collection(&self, id: u64) -> Result<Collection> {
        self.r().collection(id)
    }
    fn visible_collections(&self, principal: u64) -> Result<Vec<(Collection, Rights)>> {
        self.r().visible_collections(principal)
    }
    fn rights(&self, principal: u64, collection: u64) -> Result<Rights> {
        self.r().rights(principal, collection)
    }
    fn principal_by_email(&self, email: &str) -> Result<Option<Principal>> {
        self.r().principal_by_email(email)
    }
    fn collection_infos_at_once(&self, principal: u64) -> Result<Option<Vec<CollectionInfo>>> {
        self.r().collection_infos_at_once(principal)
    }
}

impl ItemStore for Batch {
    fn collection_state(&self, collection: u64) -> Result<(u64, u64)> {
        self.r().collection_state(collection)
    }
    fn delta(&self, cursor: &Cursor, limits: &PageLimits) -> Result<Delta> {
        self.r().delta(cursor, limits)
    }
    fn deltas(&self, cursors: &[Cursor], limits: &PageLimits) -> Result<Vec<Delta>> {
        self.r().deltas(cursors, limits)
    }
    fn item(&self, collection: u64, id: u64) -> Result<Option<(Bytes, u32)>> {
        self.r().item(collection, id)
    }
    fn items(&self, collection: u64) -> Result<Vec<(u64, Bytes, u32)>> {
        self.r().items(collection)
    }
    fn mail_part(&self, collection: u64, id: u64, part_id: u32) -> Result<Option<Bytes>> {
        self.r().mail_part(collection, id, part_id)
    }
    fn mail_part_range(
        &self,
        collection: u64,
        id: u64,
        part_id: u32,
        offset: u64,
        length: usize,
    ) -> Result<Option<(u64, Bytes)>> {
        self.r()
            .mail_part_range(collection, id, part_id, offset, length)
    }
    fn prepare_write(&mut self) -> Result<()> {
        self.w().map(drop)
    }
    fn allocate_id(&mut self) -> Result<u64> {
        self.w()?.allocate_id()
    }
    fn upsert(
        &mut self,
        collection: u64,
        id: Option<u64>,
        packed: Bytes,
        flags: u32,
    ) -> Result<(u64, u64)> {
        self.w()?.upsert(collection, id, packed, flags)
    }
    fn set_flags(&mut self, collection: u64, id: u64, flags: u32) -> Result<u64> {
        self.w()?.set_flags(collection, id, flags)
    }
    fn remove(&mut self, collection: u64, id: u64) -> Result<u64> {
        self.w()?.remove(collection, id)
    }
}

impl DeviceRegistry for Batch {
    fn create_activation(
        &mut self,
        principal: u64,
        code: &ActivationCode,
        expires_at_ms: u64,
        max_attempts: u32,
    ) -> Result<()> {
        self.w()?
            .create_activation(principal, code, expires_at_ms, max_attempts)
    }
    fn redeem_activation(
        &mut self,
        code: &str,
        public_key: [u8; 32],
        name: &str,
        now_ms: u64,
    ) -> Result<DeviceRecord> {
        self.w()?.redeem_activation(code, public_key, name, now_ms)
    }
    fn device_by_key(&self, public_key: &[u8; 32]) -> Result<Option<DeviceRecord>> {
        self.r().device_by_key(public_key)
    }
    fn device(&self, id: u64) -> Result<DeviceRecord> {
        self.r().device(id)
    }
    fn record_hello(&mut self, device: u64, timestamp: u64) -> Result<()> {
        self.w()?.record_hello(device, timestamp)
    }
    fn save_cursor(&mut self, device: u64, cursor: Cursor) -> Result<()> {
        self.w()?.save_cursor(device, cursor)
    }
    fn cursors(&self, device: u64) -> Result<Vec<Cursor>> {
        self.r().cursors(device)
    }
    fn applied_operation(&self, device: u64, op_id: &[u8]) -> Result<Option<OperationResult>> {
        self.r().applied_operation(device, op_id)
    }
    fn record_operation(&mut self, device: u64, result: OperationResult) -> Result<()> {
        self.w()?.record_operation(device, result)
    }
    fn policy(&self, device: u64) -> Result<Policy> {
        self.r().policy(device)
    }
    fn set_policy(&mut self, device: u64, policy: Policy) -> Result<()> {
        self.w()?.set_policy(device, policy)
    }
    fn set_wipe(&mut self, device: u64, wipe: WipeState) -> Result<()> {
        self.w()?.set_wipe(device, wipe)
    }
    fn revoke(&mut self, device: u64) -> Result<()> {
        self.w()?.revoke(device)
    }
}
