//! [`Batch`]: the store one batch of a device's bytes sees on a server.
//!
//! As with the reference server's SQLite batch, reads run on their own
//! (each a committed snapshot) until the first write; from then on
//! everything runs in one transaction, committed by [`Batch::finish`] or,
//! if the batch is dropped unfinished, on drop. What a failing session
//! wrote on the way (a wrong activation guess counted) is committed too;
//! a statement that failed makes PostgreSQL keep nothing, and finishing
//! then says so.
//!
//! A reconnect's one write is its hello's replay guard: held back, it is
//! written at the end as a statement of its own, so a reconnect opens no
//! transaction (`BEGIN` and `COMMIT` were two of its round trips). Any
//! other write opens the transaction and writes the held hello first;
//! reads of the device see the held timestamp, as they would the write.
//!
//! A reconnect's first read, the device by its key, also reads the
//! collections its principal may see, which the Welcome asks for next:
//! one round trip for both, kept until that question or the first write.

use crate::{PooledStore, PostgresStore};
use bytes::Bytes;
use core::cell::RefCell;
use tidings::Result;
use tidings::proto::{CollectionInfo, Cursor, OperationResult, Policy};
use tidings::store::{
    ActivationCode, Appended, Collection, DeviceRecord, DeviceRegistry, Directory, ItemStore,
    Principal, UploadId, UploadState, WipeState,
};
use tidings::sync::{Delta, PageLimits, Rights};

/// A pooled store whose writes share one transaction, opened at the first.
pub struct Batch {
    store: PooledStore,
    /// The transaction is open.
    began: bool,
    /// A hello (device, timestamp) to record, held back while it is the
    /// batch's only write.
    hello: Option<(u64, u64)>,
    /// The collections a principal may see, read with its device.
    infos: RefCell<Option<(u64, Vec<CollectionInfo>)>>,
    /// Mails removed in this batch, whose raw messages are deleted just
    /// before it commits, in one pass: an application that composes the
    /// mails a turn sent after applying all its operations reads a forward's
    /// or reply's original then, even when an operation after it removed it.
    removed: Vec<u64>,
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
            hello: None,
            infos: RefCell::new(None),
            removed: Vec::new(),
        }
    }

    /// Whether this batch has written (or holds a hello to write).
    pub fn wrote(&self) -> bool {
        self.began || self.hello.is_some()
    }

    /// The store, inside this batch's transaction (begun on first use): for
    /// writes beyond the core's traits (mail delivery) that must commit
    /// with the rest of the batch.
    pub fn w(&mut self) -> Result<&mut PostgresStore> {
        // What the batch writes may change what was read ahead.
        self.infos.get_mut().take();
        if !self.began {
            self.store.conn().begin()?;
            self.began = true;
            if let Some((device, timestamp)) = self.hello.take() {
                self.store.record_hello(device, timestamp)?;
            }
        }
        Ok(&mut self.store)
    }

    /// `record` as this batch would read it had the held hello been
    /// written.
    fn as_written(&self, mut record: DeviceRecord) -> DeviceRecord {
        if let Some((device, timestamp)) = self.hello {
            if record.id == device {
                record.last_hello = Some(timestamp);
            }
        }
        record
    }

    /// The store this batch reads: each read a committed snapshot until
    /// the batch writes, then inside its transaction.
    pub fn reads(&self) -> &PostgresStore {
        self.r()
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
        if let Some((device, timestamp)) = self.hello.take() {
            // The batch's only write: one statement, committed on its own
            // (it refuses a replay as it would inside a transaction).
            return self.store.record_hello(device, timestamp);
        }
        let removed = core::mem::take(&mut self.removed);
        match core::mem::take(&mut self.began) {
            true => {
                let mut conn = self.store.conn();
                let freed = crate::items::free_messages(&mut conn, &removed);
                let committed = conn.end(freed.is_ok());
                freed.and(committed)
            }
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
        match self.infos.borrow_mut().take() {
            Some((of, infos)) if of == principal => Ok(Some(infos)),
            _ => self.r().collection_infos_at_once(principal),
        }
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
    fn items_after(
        &self,
        collection: u64,
        after: u64,
        limit: usize,
    ) -> Result<Vec<(u64, Bytes, u32)>> {
        self.r().items_after(collection, after, limit)
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
    fn settle(&mut self) -> Result<()> {
        // Row locks taken by the batch's writes so far are let go; a held
        // hello stays held (it locks nothing).
        match self.began {
            true => self.end(),
            false => Ok(()),
        }
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
        let modseq = crate::items::remove(&mut self.w()?.conn(), collection, id, false)?;
        self.removed.push(id);
        Ok(modseq)
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
        let found = self.r().device_by_key(public_key)?;
        Ok(found.map(|device| self.as_written(device)))
    }
    fn device_and_policy_by_key(
        &self,
        public_key: &[u8; 32],
    ) -> Result<Option<(DeviceRecord, Policy)>> {
        let Some((device, policy, infos)) = self.r().device_with_infos_by_key(public_key)? else {
            return Ok(None);
        };
        *self.infos.borrow_mut() = Some((device.principal, infos));
        Ok(Some((self.as_written(device), policy)))
    }
    fn device(&self, id: u64) -> Result<DeviceRecord> {
        self.r().device(id).map(|device| self.as_written(device))
    }
    fn record_hello(&mut self, device: u64, timestamp: u64) -> Result<()> {
        if self.began || self.hello.is_some() {
            return self.w()?.record_hello(device, timestamp);
        }
        self.hello = Some((device, timestamp));
        Ok(())
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
    fn uploads(&self, device: u64) -> Result<Vec<(UploadId, UploadState)>> {
        self.r().uploads(device)
    }
    fn start_upload(
        &mut self,
        device: u64,
        id: &UploadId,
        total_size: u64,
        now_ms: u64,
    ) -> Result<()> {
        self.w()?.start_upload(device, id, total_size, now_ms)
    }
    fn append_upload(
        &mut self,
        device: u64,
        id: &UploadId,
        at: u64,
        data: &[u8],
        now_ms: u64,
    ) -> Result<Appended> {
        self.w()?.append_upload(device, id, at, data, now_ms)
    }
    fn discard_stale_uploads(&mut self, device: Option<u64>, before_ms: u64) -> Result<u64> {
        self.w()?.discard_stale_uploads(device, before_ms)
    }
    fn upload_bytes(&self, device: u64, id: &UploadId) -> Result<Option<Vec<u8>>> {
        self.r().upload_bytes(device, id)
    }
    fn remove_upload(&mut self, device: u64, id: &UploadId) -> Result<()> {
        self.w()?.remove_upload(device, id)
    }
}
