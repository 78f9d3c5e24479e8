//! [`SqlitePool`]: one writer connection and a pool of read-only ones over
//! the same database file, so that reads never wait for the write lock.
//!
//! SQLite in WAL mode lets any number of readers work beside one writer, but
//! only across connections: a single shared connection (what the server had
//! before) turns every read into a wait for whoever writes. Here a device's
//! batch of bytes runs on a [`Batch`], which reads from a pooled read-only
//! connection and takes the writer (and SQLite's write lock) only at its
//! first write; a batch that only reads (a search, a fetch) never blocks an
//! admin command in another process.

use super::{SqliteStore, storage};
use crate::WriteBack;
use crate::acks::AckQueue;
use bytes::Bytes;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};
use tidings::proto::{Cursor, OperationResult, Policy};
use tidings::store::{
    ActivationCode, Appended, Collection, DeviceRecord, DeviceRegistry, Directory, ItemStore,
    Principal, UploadId, UploadState, WipeState,
};
use tidings::sync::{Delta, PageLimits, Rights};
use tidings::{Error, ErrorKind, Result};

/// How long one try of the writer waits for another process's write lock:
/// short, so that a long wait is a loop of tries that each can give up
/// ([`BEGIN_PATIENCE`]) rather than one opaque wait.
const BUSY_TRY: Duration = Duration::from_secs(1);

/// How long a batch keeps retrying `BEGIN IMMEDIATE` while another process
/// holds the write lock, before the session fails (and the device, which
/// has not been told anything, resumes later). Bytes are never dropped.
const BEGIN_PATIENCE: Duration = Duration::from_secs(60);

/// The writer and the idle readers of one database.
pub struct SqlitePool {
    writer: Mutex<SqliteStore>,
    readers: Mutex<Vec<SqliteStore>>,
    /// `None` for an in-memory database: reads then share the writer.
    path: Option<PathBuf>,
    /// Where batches' writes to mirrored collections go first.
    write_back: Option<Arc<dyn WriteBack>>,
    /// Acknowledged cursors waiting for a group commit.
    acks: AckQueue,
}

impl core::fmt::Debug for SqlitePool {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SqlitePool")
            .field("path", &self.path)
            .finish()
    }
}

/// Locks a mutex whose holder may have panicked: SQLite rolls back what a
/// panicking holder left open, so the connection is still consistent.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl SqlitePool {
    /// A pool around `writer` (already opened and migrated); readers are
    /// opened on demand on the same file.
    pub fn new(writer: SqliteStore) -> Self {
        if let Err(e) = writer.conn.busy_timeout(BUSY_TRY) {
            tracing::warn!(error = %e, "cannot shorten the writer's busy timeout");
        }
        let path = writer
            .conn
            .path()
            .filter(|p| !p.is_empty())
            .map(PathBuf::from);
        Self {
            writer: Mutex::new(writer),
            readers: Mutex::new(Vec::new()),
            path,
            write_back: None,
            acks: AckQueue::default(),
        }
    }

    /// Has every [`Batch`] hand its writes to the collections `write_back`
    /// claims to it (see [`WriteBack`]). Writes through
    /// [`write`](Self::write) and [`writer`](Self::writer) (admin helpers,
    /// delivery) are not affected.
    pub fn with_write_back(mut self, write_back: Arc<dyn WriteBack>) -> Self {
        self.write_back = Some(write_back);
        self
    }

    pub(crate) fn acks(&self) -> &AckQueue {
        &self.acks
    }

    /// The writer, for work that writes (under the caller's transaction).
    pub fn writer(&self) -> MutexGuard<'_, SqliteStore> {
        lock(&self.writer)
    }

    /// The writer if nobody holds it right now.
    pub fn try_writer(&self) -> Option<MutexGuard<'_, SqliteStore>> {
        match self.writer.try_lock() {
            Ok(guard) => Some(guard),
            Err(std::sync::TryLockError::Poisoned(p)) => Some(p.into_inner()),
            Err(std::sync::TryLockError::WouldBlock) => None,
        }
    }

    /// Runs `f` in one transaction on the writer (see
    /// [`SqliteStore::transaction`]), retrying a `BEGIN` refused because
    /// another process writes.
    pub fn write<T>(&self, f: impl FnOnce(&mut SqliteStore) -> Result<T>) -> Result<T> {
        let mut writer = self.writer();
        begin_immediate(&writer)?;
        match f(&mut writer) {
            Ok(value) => {
                writer.conn.execute_batch("COMMIT").map_err(storage)?;
                Ok(value)
            }
            Err(e) => {
                let _ = writer.conn.execute_batch("ROLLBACK");
                Err(e)
            }
        }
    }

    /// Runs `f` on a read-only connection inside one read transaction: a
    /// consistent snapshot that never waits for, nor blocks, a writer.
    pub fn read<T>(&self, f: impl FnOnce(&SqliteStore) -> Result<T>) -> Result<T> {
        let Some(reader) = self.checkout()? else {
            return f(&self.writer());
        };
        let result = (|| {
            reader.conn.execute_batch("BEGIN").map_err(storage)?;
            let result = f(&reader);
            let _ = reader.conn.execute_batch("COMMIT");
            result
        })();
        self.checkin(reader);
        result
    }

    /// A batch that reads from a pooled reader and writes on the writer.
    pub fn batch(&self) -> Result<Batch<'_>> {
        let reader = self.checkout()?;
        // In memory there are no readers: the batch holds the writer.
        let writer = reader.is_none().then(|| self.writer());
        Ok(Batch {
            pool: self,
            reader,
            writer,
            began: false,
            acked: Vec::new(),
            waited: Duration::ZERO,
        })
    }

    fn checkout(&self) -> Result<Option<SqliteStore>> {
        let Some(path) = &self.path else {
            return Ok(None);
        };
        if let Some(reader) = lock(&self.readers).pop() {
            return Ok(Some(reader));
        }
        SqliteStore::open_reader(path).map(Some)
    }

    fn checkin(&self, reader: SqliteStore) {
        lock(&self.readers).push(reader);
    }
}

/// `BEGIN IMMEDIATE`, retried while another process holds the write lock
/// (SQLite's busy timeout waits within each try), for at most
/// [`BEGIN_PATIENCE`].
pub(crate) fn begin_immediate(store: &SqliteStore) -> Result<()> {
    let deadline = Instant::now() + BEGIN_PATIENCE;
    loop {
        match store.conn.execute_batch("BEGIN IMMEDIATE") {
            Ok(()) => return Ok(()),
            Err(e) if is_busy(&e) && Instant::now() < deadline => {
                tracing::debug!("write lock busy; retrying BEGIN");
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => return Err(storage(e)),
        }
    }
}

fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

/// The store one batch of a device's bytes sees: reads from a read-only
/// connection until the first write, then everything on the writer inside
/// one `BEGIN IMMEDIATE` transaction, committed by [`Batch::finish`] (or,
/// if the batch is dropped unfinished, on drop).
///
/// Reads made before the first write are not part of that transaction;
/// each is a consistent, committed snapshot of its own.
pub struct Batch<'a> {
    pool: &'a SqlitePool,
    reader: Option<SqliteStore>,
    /// Held from the first write on (from the start for an in-memory
    /// database, which has no readers).
    writer: Option<MutexGuard<'a, SqliteStore>>,
    /// `BEGIN IMMEDIATE` succeeded on the writer.
    began: bool,
    /// Cursors acknowledged while the batch had not written: committed at
    /// its end, with other devices' (see the `acks` module).
    acked: Vec<(u64, Cursor)>,
    /// How long the batch waited for the write lock (see [`Batch::waited`]).
    waited: Duration,
}

impl Batch<'_> {
    /// Whether this batch has written (holds the write lock).
    pub fn wrote(&self) -> bool {
        self.began
    }

    /// The store this batch reads: from its reader, without the write
    /// lock, until the batch writes (then the writer, in its transaction).
    pub fn reads(&self) -> Result<&SqliteStore> {
        self.r()
    }

    /// The connection reads go to: the writer once held, else the reader.
    fn r(&self) -> Result<&SqliteStore> {
        match (&self.writer, &self.reader) {
            (Some(writer), _) => Ok(writer),
            (None, Some(reader)) => Ok(reader),
            // Not reachable: `SqlitePool::batch` gives one or the other.
            (None, None) => Err(Error::new(ErrorKind::InvalidState, "batch has ended")),
        }
    }

    /// The writer, in this batch's transaction (begun on first use).
    pub fn w(&mut self) -> Result<&mut SqliteStore> {
        let asked = Instant::now();
        let writer = match &mut self.writer {
            Some(writer) => writer,
            slot => slot.insert(self.pool.writer()),
        };
        if !self.began {
            let begun = begin_immediate(writer);
            self.waited += asked.elapsed();
            begun?;
            self.began = true;
            writer.defer_frees();
        }
        Ok(writer)
    }

    /// How long this batch waited for the write lock: for another batch
    /// of this process, or for another process's transaction. A server
    /// that charges devices for their store time leaves this out, so a
    /// device is not charged for another's write.
    pub fn waited(&self) -> Duration {
        self.waited
    }

    /// The pool's write-back, if it claims `collection`.
    fn claimed(&mut self, collection: u64) -> Result<Option<Arc<dyn WriteBack>>> {
        let Some(hook) = self.pool.write_back.clone() else {
            return Ok(None);
        };
        Ok(hook.claims(self.w()?, collection)?.then_some(hook))
    }

    /// Commits what the batch wrote so far and lets the write lock go,
    /// keeping the reader: what it writes next opens a new transaction.
    /// In memory (no readers) the batch keeps the writer, and this does
    /// nothing.
    fn commit_so_far(&mut self) -> Result<()> {
        if !self.began || self.reader.is_none() {
            return Ok(());
        }
        let Some(mut writer) = self.writer.take() else {
            return Ok(());
        };
        self.began = false;
        let committed = writer
            .free_deferred()
            .and_then(|()| writer.conn.execute_batch("COMMIT").map_err(storage));
        if committed.is_err() {
            let _ = writer.conn.execute_batch("ROLLBACK");
        }
        committed
    }

    /// Commits what the batch wrote, if anything, and returns the reader
    /// to the pool. A failed commit is the only error.
    pub fn finish(mut self) -> Result<()> {
        self.end()
    }

    /// [`finish`](Self::finish), and how long the batch waited in all for
    /// the write lock (see [`waited`](Self::waited)), including at its end:
    /// a batch that only read commits its acknowledged cursors with other
    /// devices' then, and waits for whoever holds the lock.
    pub fn finish_waited(mut self) -> (Result<()>, Duration) {
        let finished = self.end();
        (finished, self.waited)
    }

    fn end(&mut self) -> Result<()> {
        if let Some(reader) = self.reader.take() {
            self.pool.checkin(reader);
        }
        let mut acked = core::mem::take(&mut self.acked);
        // A batch that writes anyway (or holds the writer: in memory)
        // commits its cursors with the rest.
        let mut written = Ok(());
        if !acked.is_empty() && (self.began || self.writer.is_some()) {
            written = self.w().and_then(|w| w.write_cursors(&acked));
            acked.clear();
        }
        let began = core::mem::take(&mut self.began);
        if let Some(mut writer) = self.writer.take() {
            // Removed mails' bytes go last: an application composing after
            // the turn has read what its mails attach.
            let freed = writer.free_deferred();
            if began {
                let committed =
                    freed.and_then(|()| writer.conn.execute_batch("COMMIT").map_err(storage));
                if let Err(e) = committed {
                    let _ = writer.conn.execute_batch("ROLLBACK");
                    return Err(e);
                }
            }
        }
        written?;
        // Mostly the wait for the writer: the cursors are a few rows.
        let asked = Instant::now();
        let saved = self.pool.save_acked(acked);
        self.waited += asked.elapsed();
        saved
    }
}

impl Drop for Batch<'_> {
    fn drop(&mut self) {
        let _ = self.end();
    }
}

impl Directory for Batch<'_> {
    fn principal(&self, id: u64) -> Result<Principal> {
        self.r()?.principal(id)
    }
    fn collection(&self, id: u64) -> Result<Collection> {
        self.r()?.collection(id)
    }
    fn visible_collections(&self, principal: u64) -> Result<Vec<(Collection, Rights)>> {
        self.r()?.visible_collections(principal)
    }
    fn rights(&self, principal: u64, collection: u64) -> Result<Rights> {
        self.r()?.rights(principal, collection)
    }
    fn principal_by_email(&self, email: &str) -> Result<Option<Principal>> {
        self.r()?.principal_by_email(email)
    }
}

impl ItemStore for Batch<'_> {
    fn collection_state(&self, collection: u64) -> Result<(u64, u64)> {
        self.r()?.collection_state(collection)
    }
    fn delta(&self, cursor: &Cursor, limits: &PageLimits) -> Result<Delta> {
        self.r()?.delta(cursor, limits)
    }
    fn item(&self, collection: u64, id: u64) -> Result<Option<(Bytes, u32)>> {
        self.r()?.item(collection, id)
    }
    fn items(&self, collection: u64) -> Result<Vec<(u64, Bytes, u32)>> {
        self.r()?.items(collection)
    }
    fn items_after(
        &self,
        collection: u64,
        after: u64,
        limit: usize,
    ) -> Result<Vec<(u64, Bytes, u32)>> {
        self.r()?.items_after(collection, after, limit)
    }
    fn mail_part(&self, collection: u64, id: u64, part_id: u32) -> Result<Option<Bytes>> {
        self.r()?.mail_part(collection, id, part_id)
    }
    fn mail_part_range(
        &self,
        collection: u64,
        id: u64,
        part_id: u32,
        offset: u64,
        length: usize,
    ) -> Result<Option<(u64, Bytes)>> {
        self.r()?
            .mail_part_range(collection, id, part_id, offset, length)
    }
    fn prepare_write(&mut self) -> Result<()> {
        self.w().map(drop)
    }
    fn settle(&mut self) -> Result<()> {
        self.commit_so_far()
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
        if let Some(hook) = self.claimed(collection)? {
            return hook.upsert(self.w()?, collection, id, packed, flags);
        }
        self.w()?.upsert(collection, id, packed, flags)
    }
    fn answer_invitation(
        &mut self,
        collection: u64,
        id: u64,
        packed: Bytes,
        comment: &str,
    ) -> Result<(u64, u64)> {
        if let Some(hook) = self.claimed(collection)? {
            return hook.answer_invitation(self.w()?, collection, id, packed, comment);
        }
        self.w()?.upsert(collection, Some(id), packed, 0)
    }
    fn set_flags(&mut self, collection: u64, id: u64, flags: u32) -> Result<u64> {
        if let Some(hook) = self.claimed(collection)? {
            return hook.set_flags(self.w()?, collection, id, flags);
        }
        self.w()?.set_flags(collection, id, flags)
    }
    fn remove(&mut self, collection: u64, id: u64) -> Result<u64> {
        if let Some(hook) = self.claimed(collection)? {
            return hook.remove(self.w()?, collection, id);
        }
        self.w()?.remove(collection, id)
    }
}

impl DeviceRegistry for Batch<'_> {
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
        self.r()?.device_by_key(public_key)
    }
    fn device(&self, id: u64) -> Result<DeviceRecord> {
        self.r()?.device(id)
    }
    fn record_hello(&mut self, device: u64, timestamp: u64) -> Result<()> {
        self.w()?.record_hello(device, timestamp)
    }
    fn save_cursor(&mut self, device: u64, cursor: Cursor) -> Result<()> {
        if self.began {
            return self.w()?.save_cursor(device, cursor);
        }
        // Committed at the batch's end, with other devices' acks.
        let same = |(d, c): &(u64, Cursor)| *d == device && c.collection_id == cursor.collection_id;
        self.acked.retain(|e| !same(e));
        self.acked.push((device, cursor));
        Ok(())
    }
    fn cursors(&self, device: u64) -> Result<Vec<Cursor>> {
        let mut cursors = self.r()?.cursors(device)?;
        // This batch's own acks, not yet committed, read as written.
        for (_, acked) in self.acked.iter().filter(|(d, _)| *d == device) {
            match cursors.binary_search_by_key(&acked.collection_id, |c| c.collection_id) {
                Ok(at) => cursors[at] = *acked,
                Err(at) => cursors.insert(at, *acked),
            }
        }
        Ok(cursors)
    }
    fn applied_operation(&self, device: u64, op_id: &[u8]) -> Result<Option<OperationResult>> {
        self.r()?.applied_operation(device, op_id)
    }
    fn record_operation(&mut self, device: u64, result: OperationResult) -> Result<()> {
        self.w()?.record_operation(device, result)
    }
    fn policy(&self, device: u64) -> Result<Policy> {
        self.r()?.policy(device)
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
        self.r()?.uploads(device)
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
        self.r()?.upload_bytes(device, id)
    }
    fn remove_upload(&mut self, device: u64, id: &UploadId) -> Result<()> {
        self.w()?.remove_upload(device, id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Durability;
    use std::sync::mpsc;

    fn pool_with_principal(dir: &std::path::Path) -> (SqlitePool, u64) {
        let mut store = SqliteStore::open(&dir.join("t.db"), Durability::Process).expect("open");
        let p = store
            .add_principal("P", "p@town.example")
            .expect("principal");
        (SqlitePool::new(store), p)
    }

    /// Holds another connection's write lock for `hold`; returns once held.
    fn hold_write_lock(db: std::path::PathBuf, hold: Duration) -> std::thread::JoinHandle<()> {
        let (held, wait) = mpsc::channel();
        let holder = std::thread::spawn(move || {
            let conn = rusqlite::Connection::open(db).expect("open");
            conn.execute_batch("BEGIN IMMEDIATE").expect("lock");
            held.send(()).expect("tell");
            std::thread::sleep(hold);
            conn.execute_batch("COMMIT").expect("unlock");
        });
        wait.recv().expect("held");
        holder
    }

    #[test]
    fn a_batch_that_only_reads_never_waits_for_the_write_lock() {
        let dir = tempfile::tempdir().expect("dir");
        let (pool, p) = pool_with_principal(dir.path());
        let holder = hold_write_lock(dir.path().join("t.db"), Duration::from_secs(2));
        let started = Instant::now();
        let batch = pool.batch().expect("batch");
        assert_eq!(batch.principal(p).expect("read").email, "p@town.example");
        assert!(!batch.wrote());
        batch.finish().expect("finish");
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "the read waited"
        );
        holder.join().expect("holder");
    }

    #[test]
    fn a_write_outlasting_the_busy_timeout_is_retried_not_dropped() {
        let dir = tempfile::tempdir().expect("dir");
        let (pool, p) = pool_with_principal(dir.path());
        // Longer than one busy try: only the retry loop gets the write in.
        let hold = BUSY_TRY * 2 + Duration::from_millis(500);
        let holder = hold_write_lock(dir.path().join("t.db"), hold);
        let started = Instant::now();
        let mut batch = pool.batch().expect("batch");
        let c = batch
            .w()
            .and_then(|s| s.add_collection(p, tidings::proto::CollectionKind::Mail, "Inbox"))
            .expect("written after the lock is free");
        assert!(batch.wrote());
        // The wait is told apart, for a server not to charge it to the
        // device whose batch this is.
        let waited = batch.waited();
        assert!(waited >= hold - Duration::from_millis(100), "{waited:?}");
        assert!(waited <= started.elapsed());
        batch.finish().expect("commit");
        assert!(started.elapsed() >= hold - Duration::from_millis(100));
        holder.join().expect("holder");
        // Committed: another connection sees it.
        let other = SqliteStore::open(&dir.path().join("t.db"), Durability::Process).expect("open");
        assert_eq!(other.collection(c).expect("stored").name, "Inbox");
    }

    #[test]
    fn a_batch_dropped_unfinished_still_commits_and_frees_the_writer() {
        let dir = tempfile::tempdir().expect("dir");
        let (pool, p) = pool_with_principal(dir.path());
        {
            let mut batch = pool.batch().expect("batch");
            batch
                .w()
                .and_then(|s| s.add_collection(p, tidings::proto::CollectionKind::Mail, "Inbox"))
                .expect("write");
        }
        // The writer is free and not left inside a transaction.
        pool.write(|s| s.add_collection(p, tidings::proto::CollectionKind::Mail, "Sent"))
            .expect("next write");
        let names: Vec<_> = pool
            .read(|s| s.owned_collections(p))
            .expect("read")
            .into_iter()
            .map(|c| c.name)
            .collect();
        assert_eq!(names, ["Inbox", "Sent"]);
    }

    /// A batch that only read and acknowledged commits the cursors at its
    /// end, with others': the wait for the lock there is told, so a server
    /// does not charge it to the device (an outside attack saw a device
    /// paused 30 s for another's 8 s write).
    #[test]
    fn the_wait_to_commit_acknowledgements_is_told_apart() {
        let dir = tempfile::tempdir().expect("dir");
        let (pool, p) = pool_with_principal(dir.path());
        let hold = Duration::from_millis(600);
        let holder = hold_write_lock(dir.path().join("t.db"), hold);
        let mut batch = pool.batch().expect("batch");
        assert_eq!(batch.principal(p).expect("read").email, "p@town.example");
        let cursor = Cursor {
            collection_id: 1,
            epoch: 1,
            modseq: 1,
            ..Cursor::default()
        };
        batch.save_cursor(7, cursor).expect("acknowledged");
        assert!(!batch.wrote(), "held for the group commit");
        let (finished, waited) = batch.finish_waited();
        finished.expect("committed");
        assert!(waited >= hold - Duration::from_millis(200), "{waited:?}");
        holder.join().expect("holder");
    }

    #[test]
    fn a_settled_batch_has_committed_and_lets_other_writers_in() {
        use tidings::proto::CollectionKind::Mail;
        let dir = tempfile::tempdir().expect("dir");
        let (pool, p) = pool_with_principal(dir.path());
        let mut batch = pool.batch().expect("batch");
        let inbox = batch
            .w()
            .and_then(|s| s.add_collection(p, Mail, "Inbox"))
            .expect("write");
        assert!(
            pool.try_writer().is_none(),
            "a batch that wrote holds the writer"
        );
        batch.settle().expect("settle");
        assert!(!batch.wrote());
        // Another writer gets in while the batch still runs, and the
        // batch's reads see what it wrote before settling.
        drop(pool.try_writer().expect("the writer is free"));
        pool.write(|s| s.add_collection(p, Mail, "Sent"))
            .expect("another write");
        assert_eq!(batch.collection(inbox).expect("read").name, "Inbox");
        // What the batch writes next is a transaction of its own,
        // committed when the batch finishes.
        batch
            .w()
            .and_then(|s| s.add_collection(p, Mail, "Archive"))
            .expect("write again");
        batch.finish().expect("finish");
        let other = SqliteStore::open(&dir.path().join("t.db"), Durability::Process).expect("open");
        let names: Vec<_> = other
            .owned_collections(p)
            .expect("read")
            .into_iter()
            .map(|c| c.name)
            .collect();
        assert_eq!(names, ["Inbox", "Sent", "Archive"]);
    }
}
