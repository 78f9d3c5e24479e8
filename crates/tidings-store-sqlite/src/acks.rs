//! Acknowledged cursors, written many devices at a time (group commit).
//!
//! A device acknowledges every page it applies, and its [`Batch`] would
//! otherwise take SQLite's write lock and commit one transaction for one
//! cursor row, once per device: after one new mail to 10,000 devices, 10,000
//! transactions in a row behind one lock. Instead, a batch that wrote
//! nothing else queues its cursors here at its end; whoever gets the writer
//! next writes every queued cursor, from every device, in one transaction.
//! The others find theirs already committed and take no transaction at all.
//!
//! Nothing is delayed past the batch that queued it: [`SqlitePool::save_acked`]
//! returns only once its cursors are committed (by itself or by another
//! batch), so a device is never sent anything after its ack before the ack
//! is durable, exactly as when each batch committed its own. A crash before
//! that commit loses the cursors, as it would have lost the batch; the device
//! resumes from the cursors it keeps itself (spec, sync §3 rule 8 and §6), so
//! nothing is applied twice.
//!
//! [`Batch`]: crate::Batch

use super::pool::{SqlitePool, begin_immediate, lock};
use super::{SqliteStore, storage, to_sql};
use rusqlite::params;
use std::sync::atomic::{AtomicU64, Ordering};
use tidings::Result;
use tidings::proto::Cursor;

/// Cursors waiting for a commit, and the tickets handed out for them.
#[derive(Debug, Default)]
pub(crate) struct AckQueue {
    queued: std::sync::Mutex<Queued>,
    /// Every ticket up to this one is committed.
    committed: AtomicU64,
    /// Transactions that wrote queued cursors (tests count them).
    pub(crate) groups: AtomicU64,
}

#[derive(Debug, Default)]
struct Queued {
    cursors: Vec<(u64, Cursor)>,
    /// The last ticket handed out.
    ticket: u64,
}

impl SqlitePool {
    /// Commits `cursors` (device, cursor), with whatever other batches
    /// queued meanwhile, in one transaction; returns once they are
    /// committed. Must not be called while this thread holds the writer.
    pub(crate) fn save_acked(&self, cursors: Vec<(u64, Cursor)>) -> Result<()> {
        if cursors.is_empty() {
            return Ok(());
        }
        let acks = self.acks();
        let ticket = {
            let mut queued = lock(&acks.queued);
            queued.cursors.extend(cursors);
            queued.ticket += 1;
            queued.ticket
        };
        let mut writer = self.writer();
        if acks.committed.load(Ordering::Acquire) >= ticket {
            // Another batch wrote ours while we waited for the writer.
            return Ok(());
        }
        let (taken, upto) = {
            let mut queued = lock(&acks.queued);
            (core::mem::take(&mut queued.cursors), queued.ticket)
        };
        let written = begin_immediate(&writer).and_then(|()| match writer.write_cursors(&taken) {
            Ok(()) => writer.conn.execute_batch("COMMIT").map_err(storage),
            Err(e) => Err(e),
        });
        match written {
            Ok(()) => {
                acks.committed.store(upto, Ordering::Release);
                acks.groups.fetch_add(1, Ordering::Relaxed);
                Ok(())
            }
            Err(e) => {
                let _ = writer.conn.execute_batch("ROLLBACK");
                // Back in front of the queue: a batch still waiting for its
                // own tries them again, and none is told they were written.
                let mut queued = lock(&acks.queued);
                let newer = core::mem::replace(&mut queued.cursors, taken);
                queued.cursors.extend(newer);
                Err(e)
            }
        }
    }
}

impl SqliteStore {
    /// Stores each (device, cursor) in order, inside the caller's
    /// transaction; a device that does not exist (any more) is skipped.
    pub(crate) fn write_cursors(&mut self, cursors: &[(u64, Cursor)]) -> Result<()> {
        let mut statement = self
            .conn
            .prepare_cached(
                "INSERT INTO cursors (device, collection, epoch, modseq, floor, partial)
                 SELECT ?1, ?2, ?3, ?4, ?5, ?6 WHERE EXISTS (SELECT 1 FROM devices WHERE id = ?1)
                 ON CONFLICT (device, collection) DO UPDATE SET
                   epoch = excluded.epoch, modseq = excluded.modseq,
                   floor = excluded.floor, partial = excluded.partial",
            )
            .map_err(storage)?;
        for (device, cursor) in cursors {
            statement
                .execute(params![
                    to_sql(*device),
                    to_sql(cursor.collection_id),
                    to_sql(cursor.epoch),
                    to_sql(cursor.modseq),
                    to_sql(cursor.floor),
                    cursor.partial
                ])
                .map_err(storage)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Durability;
    use tidings::proto::CollectionKind;
    use tidings::store::{ActivationCode, DeviceRegistry, ItemStore};
    use tidings::sync::{Delta, PageLimits};

    /// A pool on a file with `devices` devices and a collection of 3 items.
    fn pool(dir: &std::path::Path, devices: u8) -> (SqlitePool, Vec<u64>, u64) {
        let mut store = SqliteStore::open(&dir.join("a.db"), Durability::Process).expect("open");
        let p = store
            .add_principal("P", "p@town.example")
            .expect("principal");
        let inbox = store
            .add_collection(p, CollectionKind::Mail, "Inbox")
            .expect("collection");
        for n in 0..3u8 {
            store
                .upsert(inbox, None, bytes::Bytes::from(vec![n; 4]), 0)
                .expect("item");
        }
        let ids = (0..devices)
            .map(|n| {
                let code = ActivationCode::from_random([n; 10]);
                store.create_activation(p, &code, 1_000, 3).expect("code");
                let key = [n.wrapping_add(1); 32];
                store
                    .redeem_activation(&code.display(), key, "d", 0)
                    .expect("device")
                    .id
            })
            .collect();
        (SqlitePool::new(store), ids, inbox)
    }

    fn at(inbox: u64, modseq: u64) -> Cursor {
        Cursor {
            collection_id: inbox,
            epoch: 1,
            modseq,
            floor: 0,
            partial: false,
        }
    }

    #[test]
    fn acks_queued_while_the_writer_is_busy_commit_in_one_transaction() {
        let dir = tempfile::tempdir().expect("dir");
        let (pool, devices, inbox) = pool(dir.path(), 3);
        let busy = pool.writer();
        std::thread::scope(|s| {
            for (n, &device) in devices.iter().enumerate() {
                let pool = &pool;
                s.spawn(move || {
                    let mut batch = pool.batch().expect("batch");
                    batch
                        .save_cursor(device, at(inbox, n as u64 + 1))
                        .expect("ack");
                    // Read as written within the batch, before any commit.
                    assert_eq!(
                        batch.cursors(device).expect("read"),
                        [at(inbox, n as u64 + 1)]
                    );
                    batch.finish().expect("committed when finish returns");
                    // Durable once finish returns: another connection sees it.
                    let stored = pool.read(|r| r.cursors(device)).expect("read");
                    assert_eq!(stored, [at(inbox, n as u64 + 1)]);
                });
            }
            // Every batch has queued its ack and waits for the writer.
            while lock(&pool.acks().queued).ticket < devices.len() as u64 {
                std::thread::yield_now();
            }
            drop(busy);
        });
        assert_eq!(pool.acks().groups.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn an_ack_lost_before_its_commit_is_resent_and_nothing_is_applied_twice() {
        let dir = tempfile::tempdir().expect("dir");
        let (pool, devices, inbox) = pool(dir.path(), 1);
        let device = devices[0];
        pool.batch()
            .and_then(|mut b| {
                b.save_cursor(device, at(inbox, 1))?;
                b.finish()
            })
            .expect("first ack");
        // The process dies between the ack of modseq 3 and its commit.
        let mut batch = pool.batch().expect("batch");
        batch.save_cursor(device, at(inbox, 3)).expect("queued");
        core::mem::forget(batch);
        drop(pool);
        let pool = SqlitePool::new(
            SqliteStore::open(&dir.path().join("a.db"), Durability::Process).expect("reopen"),
        );
        // The server still has the older cursor; the device resumes from
        // its own (3), which it kept, and is sent nothing it has.
        let stored = pool.read(|r| r.cursors(device)).expect("read");
        assert_eq!(stored, [at(inbox, 1)]);
        let limits = PageLimits {
            max_items: 100,
            max_bytes: 48 * 1024,
            patches: false,
        };
        let Delta::Page(page) = pool
            .read(|r| r.delta(&at(inbox, 3), &limits))
            .expect("delta")
        else {
            panic!("a page");
        };
        assert!(page.upserts.is_empty() && page.to_modseq == 3);
        // Its ack, resent, is stored once.
        pool.batch()
            .and_then(|mut b| {
                b.save_cursor(device, at(inbox, 3))?;
                b.finish()
            })
            .expect("resent ack");
        assert_eq!(
            pool.read(|r| r.cursors(device)).expect("read"),
            [at(inbox, 3)]
        );
    }

    #[test]
    fn a_batch_that_writes_commits_its_acks_with_its_writes() {
        let dir = tempfile::tempdir().expect("dir");
        let (pool, devices, inbox) = pool(dir.path(), 1);
        let mut batch = pool.batch().expect("batch");
        batch.save_cursor(devices[0], at(inbox, 2)).expect("ack");
        batch
            .set_flags(inbox, pool_item(&pool, inbox), 1)
            .expect("flag");
        batch.finish().expect("commit");
        assert_eq!(pool.acks().groups.load(Ordering::Relaxed), 0);
        assert_eq!(
            pool.read(|r| r.cursors(devices[0])).expect("read"),
            [at(inbox, 2)]
        );
    }

    fn pool_item(pool: &SqlitePool, inbox: u64) -> u64 {
        pool.read(|r| r.items(inbox)).expect("items")[0].0
    }
}
